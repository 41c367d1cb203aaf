"""Making, finding and recording the use of personal API tokens (web.models.ApiToken).

The secret is 32 random bytes; the database keeps only its SHA-256, so a leaked database
gives no usable token. A plain hash suffices, not a slow password hash: the secret is
random and long, not something a person chose. Last use is written at most once per
LAST_USE_EVERY per token, so that a script polling a read API does not write on every call.
"""

import hashlib
import hmac
import secrets
from datetime import timedelta

from django.db.models import Q
from django.utils import timezone

from web.models import ApiToken

SCHEME = "kmt_"
# A recorded last use is at most this stale; this bounds the writes to one per token.
LAST_USE_EVERY = timedelta(minutes=1)


def digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def issue(user, name: str, days: int) -> tuple[ApiToken, str]:
    """Make a token for user; return it and its key, which is never stored nor shown again."""
    prefix = secrets.token_hex(4)
    while ApiToken.objects.filter(prefix=prefix).exists():
        prefix = secrets.token_hex(4)
    key = f"{SCHEME}{prefix}_{secrets.token_urlsafe(32)}"
    token = ApiToken.objects.create(
        user=user,
        name=name,
        prefix=prefix,
        key_hash=digest(key),
        expires=timezone.now() + timedelta(days=days),
    )
    return token, key


def is_ours(key: str) -> bool:
    return key.startswith(SCHEME)


def find(key: str) -> ApiToken | None:
    """The token whose key this is, revoked or expired included; None if there is none."""
    prefix = key[len(SCHEME) :].split("_", 1)[0]
    token = ApiToken.objects.select_related("user").filter(prefix=prefix).first()
    if token is None or not hmac.compare_digest(token.key_hash, digest(key)):
        return None
    return token


def usable(token: ApiToken) -> bool:
    return token.revoked is None and token.expires > timezone.now()


def record_use(token: ApiToken) -> None:
    """Note the token's use, unless it was noted less than LAST_USE_EVERY ago."""
    now = timezone.now()
    if token.last_used is not None and now - token.last_used < LAST_USE_EVERY:
        return
    # Conditional, so that concurrent requests write once between them.
    stale = now - LAST_USE_EVERY
    ApiToken.objects.filter(Q(last_used__isnull=True) | Q(last_used__lt=stale), pk=token.pk).update(
        last_used=now
    )
    token.last_used = now
