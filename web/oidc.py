"""Sign-in with the school's OpenID Connect provider, on mozilla-django-oidc.

The library runs the authorization-code flow (state, nonce, the ID token's signature against
OIDC_OP_JWKS_ENDPOINT); this module adds what it leaves to its users:
- the ID token must be for this client (audience) and carry an expiry;
- users are matched by one stable claim (KUBEMON_OIDC_USERNAME_CLAIM, else `sub`), never by
  e-mail, and the username is that claim;
- at every sign-in the groups claim decides, both ways, the roles (the Django groups `finance`
  and `ops` of web/access.py) and the membership of every account that lists IdP groups
  (Account.idp_groups); accounts listing none keep the members the admin gave them;
- logout also ends the provider's session when OIDC_OP_LOGOUT_ENDPOINT is set.
Without OIDC_RP_CLIENT_ID the provider's views answer 404 and only the password form remains.
"""

import logging
from urllib.parse import urlencode

import jwt
from django.conf import settings
from django.contrib.auth.models import Group
from django.core.exceptions import SuspiciousOperation
from django.db import transaction
from django.http import Http404
from django.urls import reverse
from mozilla_django_oidc import auth, views

from billing.models import Account
from web.access import FINANCE, OPS

log = logging.getLogger(__name__)


def enabled() -> bool:
    return bool(settings.OIDC_RP_CLIENT_ID)


def username_claim() -> str:
    return settings.KUBEMON_OIDC_USERNAME_CLAIM or "sub"


def claimed_groups(claims: dict) -> set[str]:
    """The groups claim as a set of names (a list, or one string)."""
    value = claims.get(settings.KUBEMON_OIDC_GROUPS_CLAIM) or []
    return {value} if isinstance(value, str) else {str(g) for g in value}


class Backend(auth.OIDCAuthenticationBackend):
    """The library's backend, matching users by a stable claim and syncing their rights."""

    def _verify_jws(self, payload, key):
        try:
            claims = super()._verify_jws(payload, key)
            jwt.decode(
                payload,
                key,
                algorithms=[self.OIDC_RP_SIGN_ALGO],
                audience=self.OIDC_RP_CLIENT_ID,
                options={"require": ["exp", "aud"]},
            )
        except jwt.InvalidTokenError as e:
            raise SuspiciousOperation(f"ID token refused: {e}") from None
        return claims

    def get_userinfo(self, access_token, id_token, payload):
        """The ID token's claims (Entra puts groups there), completed by the user-info
        endpoint's, which must be about the same subject."""
        info = super().get_userinfo(access_token, id_token, payload)
        if info.get("sub") != payload.get("sub"):
            raise SuspiciousOperation("the user info is about another subject than the ID token")
        return {**payload, **info}

    def verify_claims(self, claims):
        return bool(str(claims.get(username_claim(), "")).strip())

    def filter_users_by_claims(self, claims):
        username = str(claims[username_claim()]).strip()
        return self.UserModel.objects.filter(username=username)

    def describe_user_by_claims(self, claims):
        return f"{username_claim()} {claims.get(username_claim())}"

    def create_user(self, claims):
        user = self.UserModel.objects.create_user(
            str(claims[username_claim()]).strip(), email=claims.get("email", "")
        )
        return self.update_user(user, claims)

    def update_user(self, user, claims):
        sync_rights(user, claimed_groups(claims))
        return user


@transaction.atomic
def sync_rights(user, groups: set[str]):
    """Give and take the roles and account memberships that `groups` decide."""
    for role, granting in ((FINANCE, settings.KUBEMON_OIDC_FINANCE_GROUPS),
                           (OPS, settings.KUBEMON_OIDC_OPS_GROUPS)):  # fmt: skip
        group, _ = Group.objects.get_or_create(name=role)
        if groups & set(granting):
            user.groups.add(group)
        else:
            user.groups.remove(group)
    for account in Account.objects.exclude(idp_groups=""):
        if groups & set(account.group_list()):
            account.members.add(user)
        else:
            account.members.remove(user)


class Authenticate(views.OIDCAuthenticationRequestView):
    """The redirect to the provider; a 404 while no provider is configured."""

    def get(self, request):
        if not enabled():
            raise Http404("no identity provider configured")
        return super().get(request)


class Callback(views.OIDCAuthenticationCallbackView):
    """The provider's answer; a 404 while no provider is configured."""

    def get(self, request):
        if not enabled():
            raise Http404("no identity provider configured")
        return super().get(request)


def provider_logout_url(request) -> str:
    """Where logout leads: the provider's end-session endpoint when the user came from it
    (RP-initiated logout, back to the login page), else the login page."""
    back = request.build_absolute_uri(reverse(settings.LOGOUT_REDIRECT_URL))
    id_token = request.session.get("oidc_id_token")
    if not (settings.OIDC_OP_LOGOUT_ENDPOINT and id_token):
        return back
    query = urlencode(
        {
            "id_token_hint": id_token,
            "client_id": settings.OIDC_RP_CLIENT_ID,
            "post_logout_redirect_uri": back,
        }
    )
    return f"{settings.OIDC_OP_LOGOUT_ENDPOINT}?{query}"
