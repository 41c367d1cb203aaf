"""WSGI entry point for gunicorn and the like: refuses to start on unsafe production settings."""

import os

from django.core.exceptions import ImproperlyConfigured
from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kubemon.settings")
application = get_wsgi_application()

from web.checks import secret_key_is_set  # noqa: E402  (needs the apps loaded above)

if errors := secret_key_is_set(None):
    raise ImproperlyConfigured(errors[0].msg)
