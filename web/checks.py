"""Checks of the production settings, run by `manage.py check --deploy` and at WSGI start.

With DEBUG off the app must not sign sessions, CSRF tokens and password-reset links with the
demo key the source code publishes, nor with an empty one (Django then fails every request).
"""

from django.conf import settings
from django.core.checks import Error, Tags, register


@register(Tags.security, deploy=True)
def secret_key_is_set(app_configs, **kwargs) -> list[Error]:
    if settings.DEBUG or settings.SECRET_KEY != settings.DEMO_SECRET_KEY:
        return []
    return [
        Error(
            "DJANGO_SECRET_KEY is not set (or empty) while DJANGO_DEBUG is False: the demo key "
            "is public. Set DJANGO_SECRET_KEY (or DJANGO_SECRET_KEY_FILE) to a long random value.",
            id="kubemon.E001",
        )
    ]
