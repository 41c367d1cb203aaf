"""Sign-in: lockout after failed sign-ins, failures logged, idle sessions expired.

A failed sign-in is logged with the username tried, the client's address and the request
id, never the password; the lockout after repeated failures is django-axes' (settings).
An idle session is logged out after KUBEMON_SESSION_IDLE_SECONDS without a request. The
time of the last request is kept in the session and rewritten only when it is older than
a tenth of that time (a minute at most), so that a burst of reads writes the session once,
not on every request as SESSION_SAVE_EVERY_REQUEST would.
"""

import logging
import time

from axes.backends import AxesStandaloneBackend
from django.conf import settings
from django.contrib.auth import SESSION_KEY, logout

from web import request_id

log = logging.getLogger(__name__)
LAST_SEEN = "kubemon_last_seen"


class LockoutBackend(AxesStandaloneBackend):
    """django-axes' lockout, for sign-ins that come with a request.

    Every sign-in from a client does: the login page, the admin's, OpenID Connect. A call
    without a request (the test client's login, a shell) has no client to count failures
    of, so it is passed on to the next backend instead of refused outright.
    """

    def authenticate(self, request, username=None, password=None, **kwargs):
        if request is None:
            return None
        return super().authenticate(request, username, password, **kwargs)


def client_address(request) -> str | None:
    """The client's address: REMOTE_ADDR, unless that is a proxy FORWARDED_ALLOW_IPS trusts
    (the proxies gunicorn trusts), then the nearest address in X-Forwarded-For that is not.
    None when unknown (no request, or one made in code, such as the test client's logins).

    Behind the Ingress every request comes from the controller: counting failures by
    REMOTE_ADDR would lock everyone out after a few bad passwords from anyone. A client that
    is not a trusted proxy cannot choose its address by sending the header itself.
    """
    remote = request.META.get("REMOTE_ADDR") if request is not None else None
    if not remote:
        return None
    trusted = settings.KUBEMON_TRUSTED_PROXIES
    if "*" not in trusted and remote not in trusted:
        return remote
    hops = [h.strip() for h in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
    hops = [h for h in hops if h]
    for hop in reversed(hops):
        if hop not in trusted:
            return hop
    return hops[-1] if hops else remote


def log_failure(sender, credentials, request=None, **kwargs):
    """Receiver of user_login_failed: credentials come cleansed; only the username is read."""
    log.warning(
        "sign-in failed: username=%r address=%s request=%s",
        credentials.get("username", ""),
        client_address(request) or "-",
        getattr(request, "request_id", None) or request_id.current.get(),
    )


def note_login(sender, request, user, **kwargs):
    """Receiver of user_logged_in: the session starts as seen now."""
    if request is not None and hasattr(request, "session"):
        request.session[LAST_SEEN] = time.time()


class IdleSessions:
    """Middleware, after AuthenticationMiddleware: log out a session idle for too long."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if SESSION_KEY in request.session:
            idle = settings.KUBEMON_SESSION_IDLE_SECONDS
            now = time.time()
            seen = request.session.get(LAST_SEEN)
            if seen is not None and now - seen > idle:
                logout(request)
            elif seen is None or now - seen > min(60, idle / 10):
                request.session[LAST_SEEN] = now
        return self.get_response(request)
