"""Personal API tokens: a user's named, expiring credentials for scripts, stored hashed.

A token is `kmt_<prefix>_<secret>`. Only the prefix (public, to find the row) and the
SHA-256 of the whole token are stored; the token itself is shown once, when it is made
(web/tokens.py). A token has no roles of its own: it acts as its owner, with the owner's
roles as they are at each request.
"""

from django.conf import settings
from django.db import models


class ApiToken(models.Model):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens"
    )
    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=16, unique=True)
    key_hash = models.CharField(max_length=64)
    created = models.DateTimeField(auto_now_add=True)
    expires = models.DateTimeField()
    last_used = models.DateTimeField(null=True, blank=True)
    revoked = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created"]

    def __str__(self):
        return f"{self.name} ({self.prefix})"
