from django.apps import AppConfig


class WebConfig(AppConfig):
    name = "web"

    def ready(self):
        from django.contrib.auth.signals import user_logged_in, user_login_failed

        # Registers the production settings checks (web/checks.py).
        from web import (
            checks,  # noqa: F401
            sign_in_guards,
        )

        user_login_failed.connect(sign_in_guards.log_failure, dispatch_uid="kubemon-log-failure")
        user_logged_in.connect(sign_in_guards.note_login, dispatch_uid="kubemon-note-login")
