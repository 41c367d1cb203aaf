"""The billing app; its system checks register when it is ready."""

from django.apps import AppConfig


class BillingConfig(AppConfig):
    name = "billing"

    def ready(self):
        from billing import checks  # noqa: F401 (registers the system checks)
