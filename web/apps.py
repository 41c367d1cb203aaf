from django.apps import AppConfig


class WebConfig(AppConfig):
    name = "web"

    def ready(self):
        # Registers the production settings checks (web/checks.py).
        from web import checks  # noqa: F401
