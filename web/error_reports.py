"""What Django's error pages and error mails show: no password, whatever holds it.

Django's SafeExceptionReporterFilter hides the settings whose name looks secret (KEY, TOKEN,
PASS...), and with DEBUG on it shows every variable of every frame as it is. A URL that
carries its credentials has an innocent name (PROMETHEUS_URL; DATABASE_URL in request.META,
where runserver copies the environment), and the frames that set up a connection hold the
password under names like `url` or `auth`. Here, on the settings, the request's metadata and
the frames' variables: the password of every `scheme://user:password@host` is replaced by
stars (the host stays, to tell which server the page is about), and so is any value of a
secret setting or URL password found in a frame's string, or in the items of its tuples,
lists and dictionaries.
"""

import re
from urllib.parse import unquote

from django.conf import settings
from django.views.debug import SafeExceptionReporterFilter

# scheme://user:password@ — the password runs from the first colon after `//` to the `@`.
URL_CREDENTIALS = re.compile(r"(?P<user>[A-Za-z][A-Za-z0-9+.-]*://[^/\s:@]*:)(?P<pw>[^@\s/]*)@")
# Settings (and their dictionaries' keys) whose string values are secrets themselves.
SECRET_NAMES = re.compile(r"SECRET|TOKEN|PASSWORD$", re.I)
# Shorter values would mask innocent text; such a secret is no secret anyway.
SHORTEST_SECRET = 4
# The containers of a frame looked into (a page shows a few hundred characters of each):
# up to this many items, this deep (a call's keyword arguments holding an `auth` pair).
CONTAINER_ITEMS = 100
CONTAINER_DEPTH = 3


def without_password(text: str, substitute: str) -> str:
    """text with the password of every URL in it replaced by substitute."""
    # str(): a lazy string (django-axes' settings) passes isinstance(str) without being one.
    return URL_CREDENTIALS.sub(lambda m: f"{m['user']}{substitute}@", str(text))


def secret_values(name: str, value, found: set[str]) -> set[str]:
    """Add to found the secrets a setting holds: its value if its name says so, and the
    passwords of the URLs in it; dictionaries and lists are looked into."""
    if isinstance(value, dict):
        for key, item in value.items():
            secret_values(str(key), item, found)
    elif isinstance(value, list | tuple):
        for item in value:
            secret_values(name, item, found)
    elif isinstance(value, str):
        value = str(value)  # a lazy string passes isinstance(str) (without_password)
        if SECRET_NAMES.search(name):
            found.add(value)
        for match in URL_CREDENTIALS.finditer(value):
            found.update((match["pw"], unquote(match["pw"])))
    return found


def settings_secrets() -> set[str]:
    found: set[str] = set()
    for name in dir(settings):
        if name.isupper():
            secret_values(name, getattr(settings, name), found)
    return {s for s in found if len(s) >= SHORTEST_SECRET}


def masked(value, secrets: set[str], substitute: str, depth: int = CONTAINER_DEPTH):
    """value with every URL password and secret in its strings (or its items') replaced."""
    if isinstance(value, str):
        value = without_password(value, substitute)
        for secret in secrets:
            value = value.replace(secret, substitute)
        return value
    # Exactly these types: a subclass (a QueryDict, a named tuple) is shown as it is.
    if depth == 0 or type(value) not in (list, tuple, dict) or len(value) > CONTAINER_ITEMS:
        return value
    if type(value) is dict:
        return {k: masked(v, secrets, substitute, depth - 1) for k, v in value.items()}
    items = [masked(v, secrets, substitute, depth - 1) for v in value]
    return items if type(value) is list else tuple(items)


class CredentialsFilter(SafeExceptionReporterFilter):
    """DEFAULT_EXCEPTION_REPORTER_FILTER: Django's filter, and passwords masked by value."""

    def cleanse_setting(self, key, value):
        # Dictionaries, lists and tuples come back here for each of their items.
        cleansed = super().cleanse_setting(key, value)
        if isinstance(cleansed, str):
            return without_password(cleansed, self.cleansed_substitute)
        return cleansed

    def get_traceback_frame_variables(self, request, tb_frame):
        secrets = settings_secrets()
        return [
            (name, masked(value, secrets, self.cleansed_substitute))
            for name, value in super().get_traceback_frame_variables(request, tb_frame)
        ]
