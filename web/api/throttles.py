"""Rates of the API: anonymous clients per address, token clients per user.

Session users (the pages' own calls, people in a browser) are not throttled: they sign in
through the login's lockout. The rates are read from the settings at each request, so that
they can change without restarting (DRF's own classes read them once, at import). Counts
live in Django's cache, per process unless a shared cache is configured.
"""

from django.conf import settings
from rest_framework.throttling import AnonRateThrottle, UserRateThrottle


class AnonymousRate(AnonRateThrottle):
    def get_rate(self):
        return settings.KUBEMON_API_ANON_RATE


class TokenRate(UserRateThrottle):
    scope = "token"

    def get_rate(self):
        return settings.KUBEMON_API_TOKEN_RATE

    def get_cache_key(self, request, view):
        if request.auth is None:
            return None  # a session, or anonymous: not this throttle's
        return super().get_cache_key(request, view)
