"""ID tokens the sign-in must refuse, driven through the real callback (/oidc/callback/).

A small provider on 127.0.0.1 (tests/fixtures/local_http.py) answers the token, user-info and
JWKS endpoints with tokens signed here by a test key: the library fetches that JWKS and checks
the signature and nonce; web/oidc.py adds the audience and the expiry. A wrong state is
refused before any token is asked for. Users are matched by the username claim, never by
e-mail.
"""

import json
import time
from urllib.parse import parse_qs, urlsplit

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from django.contrib.auth.models import User
from django.test import Client

from tests.fixtures.local_http import LocalHTTPServer, QuietHandler

CLIENT_ID = "kubemon"
KID = "test-key"
KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
OTHER_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)


class TokenProvider(QuietHandler):
    """Answers the token endpoint with `id_token`, the user info with `userinfo`."""

    id_token = ""
    userinfo: dict = {}
    token_requests = 0

    def do_GET(self):
        if self.path == "/jwks":
            jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(KEY.public_key()))
            body = {"keys": [{**jwk, "kid": KID, "alg": "RS256", "use": "sig"}]}
        else:
            body = type(self).userinfo
        self.answer(200, json.dumps(body).encode())

    def do_POST(self):
        self.request_body()
        type(self).token_requests += 1
        body = {"id_token": type(self).id_token, "access_token": "at", "token_type": "Bearer"}
        self.answer(200, json.dumps(body).encode())


@pytest.fixture
def provider(settings, db):
    with LocalHTTPServer(TokenProvider) as server:
        settings.OIDC_RP_CLIENT_ID = CLIENT_ID
        settings.OIDC_RP_CLIENT_SECRET = "secret"
        settings.OIDC_OP_AUTHORIZATION_ENDPOINT = server.url + "/auth"
        settings.OIDC_OP_TOKEN_ENDPOINT = server.url + "/token"
        settings.OIDC_OP_USER_ENDPOINT = server.url + "/me"
        settings.OIDC_OP_JWKS_ENDPOINT = server.url + "/jwks"
        settings.KUBEMON_OIDC_USERNAME_CLAIM = "gaspar"
        settings.AUTHENTICATION_BACKENDS = ["web.oidc.Backend"]
        TokenProvider.token_requests = 0
        yield server


def start(client: Client) -> tuple[str, str]:
    """Ask the app to sign in; answer the state and nonce it sent to the provider."""
    answer = client.get("/oidc/authenticate/")
    query = parse_qs(urlsplit(answer["Location"]).query)
    return query["state"][0], query["nonce"][0]


def id_token(nonce: str, key=KEY, **claims) -> str:
    now = int(time.time())
    payload = {"iss": "test", "sub": "s-123", "aud": CLIENT_ID, "iat": now, "exp": now + 300}
    payload |= {"nonce": nonce, **claims}
    payload = {k: v for k, v in payload.items() if v is not None}
    return jwt.encode(payload, key, algorithm="RS256", headers={"kid": KID})


def callback(client: Client, state: str, token: str):
    TokenProvider.id_token = token
    TokenProvider.userinfo = {"sub": "s-123", "gaspar": "lara", "email": "lara@example.org"}
    return client.get("/oidc/callback/", {"code": "c", "state": state})


def signed_in(client: Client) -> bool:
    return "_auth_user_id" in client.session


def test_a_good_token_signs_in_as_the_username_claim(provider):
    client = Client()
    state, nonce = start(client)
    answer = callback(client, state, id_token(nonce))
    assert answer.status_code == 302 and answer["Location"] == "/"
    assert signed_in(client)
    assert User.objects.get(pk=client.session["_auth_user_id"]).username == "lara"


@pytest.mark.parametrize(
    "why, token",
    [
        ("signed by another key", lambda nonce: id_token(nonce, key=OTHER_KEY)),
        ("for another audience", lambda nonce: id_token(nonce, aud="another-app")),
        ("expired", lambda nonce: id_token(nonce, exp=int(time.time()) - 60)),
        ("without an expiry", lambda nonce: id_token(nonce, exp=None)),
        ("without a nonce", lambda nonce: id_token(None)),
    ],
)
def test_a_bad_id_token_is_refused(provider, why, token):
    client = Client()
    state, nonce = start(client)
    answer = callback(client, state, token(nonce))
    assert answer.status_code == 400, why  # refused, not a 500
    assert not signed_in(client), why
    assert not User.objects.filter(username="lara").exists(), why


def test_a_replayed_nonce_is_refused(provider):
    client = Client()
    _, old_nonce = start(client)
    state, _ = start(client)
    answer = callback(client, state, id_token(old_nonce))
    assert answer.status_code == 400
    assert not signed_in(client)


def test_a_callback_with_a_wrong_state_is_refused_before_asking_for_a_token(provider):
    client = Client()
    _, nonce = start(client)
    answer = callback(client, "not-the-state", id_token(nonce))
    assert answer.status_code == 400
    assert not signed_in(client)
    assert TokenProvider.token_requests == 0


def test_a_callback_replayed_with_a_used_state_is_refused(provider):
    client = Client()
    state, nonce = start(client)
    assert callback(client, state, id_token(nonce)).status_code == 302
    client.logout()
    assert callback(client, state, id_token(nonce)).status_code in (400, 302)
    assert not signed_in(client)


def test_users_are_matched_by_the_username_claim_never_by_email(provider):
    owner = User.objects.create_user("fiona", email="lara@example.org", is_staff=True)
    client = Client()
    state, nonce = start(client)
    callback(client, state, id_token(nonce))
    assert signed_in(client)
    assert int(client.session["_auth_user_id"]) != owner.pk


def test_user_info_about_another_subject_is_refused(provider):
    client = Client()
    state, nonce = start(client)
    answer = callback(client, state, id_token(nonce, sub="someone-else"))
    assert answer.status_code == 302 and answer["Location"] == "/login/"
    assert not signed_in(client)


def test_without_a_provider_its_pages_are_not_found(db):
    assert Client().get("/oidc/authenticate/").status_code == 404
    assert Client().get("/oidc/callback/", {"code": "c", "state": "s"}).status_code == 404
