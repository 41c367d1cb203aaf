"""Personal API tokens: made and revoked on /tokens/, shown once, stored hashed, expiring.

A token acts as its owner with the owner's roles at each request; a revoked, expired or
unknown one is a 401; another user's token is a 404 to revoke; its last use is recorded, at
most once a minute; the schema describes it; legacy admin-made tokens still work.
"""

import hashlib
import re
from datetime import timedelta

import pytest
from django.contrib.auth.models import Group, User
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.authtoken.models import Token

from tests.fixtures.api_site import site_fixture  # noqa: F401
from web import tokens
from web.models import ApiToken

KEY = re.compile(r"kmt_[0-9a-f]{8}_[A-Za-z0-9_-]{43}")


def browser(username: str) -> Client:
    client = Client()
    client.force_login(User.objects.get(username=username))
    return client


def create(username: str, name: str = "nightly report", days: int = 30):
    return browser(username).post("/tokens/", {"name": name, "days": days})


def api(key: str, url: str, **params):
    return Client(HTTP_AUTHORIZATION=f"Token {key}").get(url, params)


def test_creating_a_token_shows_its_key_once_and_stores_only_its_hash(db, site):
    answer = create("alice")
    assert answer.status_code == 201
    assert "no-store" in answer["Cache-Control"]
    (key,) = KEY.findall(answer.content.decode())
    token = ApiToken.objects.get(user__username="alice")
    assert token.name == "nightly report"
    assert token.key_hash == hashlib.sha256(key.encode()).hexdigest()
    stored = [str(v) for v in ApiToken.objects.values_list().get()]
    assert not any(key in value or key[13:] in value for value in stored)
    assert timedelta(days=29) < token.expires - timezone.now() <= timedelta(days=30)
    listed = browser("alice").get("/tokens/").content.decode()
    assert "nightly report" in listed and key not in listed and token.prefix in listed


def test_a_token_for_longer_than_the_maximum_or_without_a_name_is_refused(db, site, settings):
    settings.KUBEMON_API_TOKEN_MAX_DAYS = 30
    assert create("alice", days=31).status_code == 400
    assert create("alice", name="  ").status_code == 400
    assert create("alice", days=0).status_code == 400
    assert not ApiToken.objects.exists()


def test_a_token_acts_as_its_owner_with_the_owners_roles_of_the_moment(db, site):
    _token, key = tokens.issue(User.objects.get(username="oscar"), "ops script", 7)
    assert api(key, "/api/v1/usage", group_by="account").status_code == 200
    assert api(key, "/api/v1/exports").status_code == 403
    fiona_role = Group.objects.get(name="finance")
    User.objects.get(username="oscar").groups.add(fiona_role)
    assert api(key, "/api/v1/exports").status_code == 200
    User.objects.get(username="oscar").groups.remove(fiona_role)
    assert api(key, "/api/v1/exports").status_code == 403


def test_a_lab_members_token_sees_only_its_labs_usage(db, site):
    _token, key = tokens.issue(User.objects.get(username="alice"), "lab", 7)
    window = {"start": "2026-10-01T00:00:00Z", "end": "2026-12-01T00:00:00Z"}
    rows = api(key, "/api/v1/usage", group_by="account", **window).json()["rows"]
    assert {row["account"] for row in rows} == {"lab-a"}


@pytest.mark.parametrize("state", ["revoked", "expired", "unknown", "tampered"])
def test_a_revoked_expired_or_unknown_token_is_a_401(db, site, state):
    token, key = tokens.issue(User.objects.get(username="fiona"), "old", 7)
    assert api(key, "/api/v1/exports").status_code == 200
    if state == "revoked":
        ApiToken.objects.filter(pk=token.pk).update(revoked=timezone.now())
    elif state == "expired":
        ApiToken.objects.filter(pk=token.pk).update(expires=timezone.now())
    elif state == "unknown":
        token.delete()
    else:
        key = key[:-1] + ("A" if key[-1] != "A" else "B")
    answer = api(key, "/api/v1/exports")
    assert answer.status_code == 401
    assert answer["WWW-Authenticate"] == "Token"


def test_revoking_on_the_page_stops_the_token_at_once(db, site):
    token, key = tokens.issue(User.objects.get(username="alice"), "laptop", 7)
    answer = browser("alice").post(f"/tokens/{token.pk}/revoke")
    assert answer.status_code == 302
    token.refresh_from_db()
    assert token.revoked is not None
    assert api(key, "/api/v1/usage").status_code == 401
    assert "revoked" in browser("alice").get("/tokens/").content.decode()


def test_another_users_token_cannot_be_revoked_nor_seen(db, site):
    token, key = tokens.issue(User.objects.get(username="bob"), "bobs", 7)
    alice = browser("alice")
    assert alice.post(f"/tokens/{token.pk}/revoke").status_code == 404
    assert alice.get(f"/tokens/{token.pk}/revoke").status_code == 404
    assert "bobs" not in alice.get("/tokens/").content.decode()
    token.refresh_from_db()
    assert token.revoked is None
    assert api(key, "/api/v1/usage").status_code == 200


def test_revoking_needs_a_post_with_its_csrf_token(db, site):
    token, _key = tokens.issue(User.objects.get(username="alice"), "laptop", 7)
    client = Client(enforce_csrf_checks=True)
    client.force_login(User.objects.get(username="alice"))
    assert client.post(f"/tokens/{token.pk}/revoke").status_code == 403
    assert client.get(f"/tokens/{token.pk}/revoke").status_code == 405
    token.refresh_from_db()
    assert token.revoked is None


def test_the_last_use_is_recorded_at_most_once_a_minute(db, site):
    token, key = tokens.issue(User.objects.get(username="alice"), "poller", 7)
    assert token.last_used is None
    api(key, "/api/v1/usage")
    token.refresh_from_db()
    first = token.last_used
    assert first is not None and timezone.now() - first < timedelta(seconds=30)
    with CaptureQueriesContext(connection) as queries:
        api(key, "/api/v1/usage")
    assert [q["sql"] for q in queries if q["sql"].lstrip().upper().startswith("UPDATE")] == []
    ApiToken.objects.filter(pk=token.pk).update(last_used=first - timedelta(minutes=2))
    api(key, "/api/v1/usage")
    token.refresh_from_db()
    assert token.last_used > first - timedelta(seconds=1)


def test_a_legacy_admin_made_token_still_authenticates(db, site):
    key = Token.objects.create(user=User.objects.get(username="alice")).key
    assert api(key, "/api/v1/usage").status_code == 200


def test_the_tokens_page_needs_a_login(db, site):
    answer = Client().get("/tokens/")
    assert answer.status_code == 302 and "/login/?next=" in answer["Location"]
    token, key = tokens.issue(User.objects.get(username="alice"), "script", 7)
    # A token opens the API, never the pages (nor the tokens page: no token makes tokens).
    assert api(key, "/tokens/").status_code == 302


def test_the_schema_documents_the_token_scheme(db, site):
    schema = Client().get("/api/v1/schema", {"format": "json"}).json()
    scheme = schema["components"]["securitySchemes"]["tokenAuth"]
    assert scheme["type"] == "apiKey" and scheme["name"] == "Authorization"
    assert "/tokens/" in scheme["description"] and "401" in scheme["description"]
    assert {"tokenAuth": []} in schema["paths"]["/api/v1/usage"]["get"]["security"]
    throttled = schema["paths"]["/api/v1/usage"]["get"]["responses"]["429"]
    assert "Retry-After" in throttled["headers"]


def test_the_tokens_page_is_in_french_too(db, site):
    client = browser("alice")
    client.cookies["django_language"] = "fr"
    page = client.get("/tokens/").content.decode()
    assert "Jetons d’API" in page or "Jetons d'API" in page


def test_an_admin_revokes_a_leaked_token_but_cannot_make_one_nor_see_its_hash(db, site):
    token, key = tokens.issue(User.objects.get(username="alice"), "leaked", 7)
    admin = Client()
    admin.force_login(User.objects.create_superuser("root", "root@example.org", "unused"))
    page = admin.get(f"/admin/web/apitoken/{token.pk}/change/").content.decode()
    assert "leaked" in page and token.key_hash not in page
    assert admin.get("/admin/web/apitoken/add/").status_code == 403
    changelist = "/admin/web/apitoken/"
    admin.post(changelist, {"action": "revoke", "_selected_action": [token.pk]})
    token.refresh_from_db()
    assert token.revoked is not None
    assert api(key, "/api/v1/usage").status_code == 401
