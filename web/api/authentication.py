"""The API's token authentication: personal tokens (web.models.ApiToken) and legacy ones.

Both come as `Authorization: Token <key>`, so scripts keep their header. A key starting
`kmt_` is a personal token: refused (401) when unknown, revoked or expired, else it acts as
its owner, whose roles are read afresh at each request. Any other key is looked up as a
DRF authtoken token, made by an admin before personal tokens existed; those keep working
until an admin deletes them (README, "The API").
"""

from django.utils.translation import gettext_lazy as _
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework.authentication import TokenAuthentication
from rest_framework.exceptions import AuthenticationFailed

from web import tokens


class ApiTokenAuthentication(TokenAuthentication):
    def authenticate_credentials(self, key):
        if not tokens.is_ours(key):
            return super().authenticate_credentials(key)
        token = tokens.find(key)
        if token is None:
            raise AuthenticationFailed(_("Invalid token."))
        if not tokens.usable(token):
            raise AuthenticationFailed(_("Token revoked or expired."))
        if not token.user.is_active:
            raise AuthenticationFailed(_("User inactive or deleted."))
        tokens.record_use(token)
        return token.user, token


class ApiTokenScheme(OpenApiAuthenticationExtension):
    """The schema's description of the token scheme."""

    target_class = ApiTokenAuthentication
    name = "tokenAuth"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": (
                "`Token <key>`. A personal token (`kmt_…`) is made, named and revoked on the "
                "/tokens/ page, shown once, and expires; it acts with its owner's current "
                "roles. A revoked, expired or unknown token is a 401."
            ),
        }
