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


# The provider's endpoints that sign-in needs (web/oidc.py); the logout one is optional.
OIDC_ENDPOINTS = (
    "OIDC_OP_AUTHORIZATION_ENDPOINT",
    "OIDC_OP_TOKEN_ENDPOINT",
    "OIDC_OP_USER_ENDPOINT",
    "OIDC_OP_JWKS_ENDPOINT",
)
# The algorithms the library verifies: RSA and EC with the provider's keys (JWKS), HMAC with
# the client secret.
SIGN_ALGORITHMS = {
    f"{family}{bits}" for family in ("RS", "PS", "ES", "HS") for bits in (256, 384, 512)
}


@register(Tags.security)
def oidc_settings(app_configs, **kwargs) -> list[Error]:
    """Sign-in settings that would fail at the first sign-in, named at start instead."""
    errors = []
    endpoints = [*OIDC_ENDPOINTS, "OIDC_OP_LOGOUT_ENDPOINT"]
    given = [name for name in endpoints if getattr(settings, name)]
    if not settings.OIDC_RP_CLIENT_ID:
        if given or settings.OIDC_RP_CLIENT_SECRET:
            errors.append(
                error(
                    f"{', '.join(given) or 'OIDC_RP_CLIENT_SECRET'} is set but "
                    "OIDC_RP_CLIENT_ID is not: set it too, or unset them",
                    10,
                )
            )
        if not settings.KUBEMON_LOCAL_LOGIN:
            errors.append(
                error(
                    "KUBEMON_LOCAL_LOGIN is off and no identity provider is set "
                    "(OIDC_RP_CLIENT_ID): nobody could sign in",
                    11,
                )
            )
        return errors
    if missing := [name for name in OIDC_ENDPOINTS if not getattr(settings, name)]:
        errors.append(error(f"OIDC_RP_CLIENT_ID is set but {', '.join(missing)} is not", 12))
    if not settings.OIDC_RP_CLIENT_SECRET:
        errors.append(error("OIDC_RP_CLIENT_SECRET (or OIDC_RP_CLIENT_SECRET_FILE) is not set", 13))
    if settings.OIDC_RP_SIGN_ALGO not in SIGN_ALGORITHMS:
        errors.append(
            error(
                f"OIDC_RP_SIGN_ALGO {settings.OIDC_RP_SIGN_ALGO!r} is not one of "
                f"{', '.join(sorted(SIGN_ALGORITHMS))}",
                14,
            )
        )
    if not settings.DEBUG:
        for name in given:
            if not getattr(settings, name).startswith("https://"):
                errors.append(
                    error(
                        f"{name} must be an https:// URL while DJANGO_DEBUG is "
                        f"off, not {getattr(settings, name)!r}",
                        15,
                    )
                )
    return errors


def error(message: str, number: int) -> Error:
    return Error(message, id=f"kubemon.E{number:03d}")
