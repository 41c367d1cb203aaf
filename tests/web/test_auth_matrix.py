"""Who may open what, tried on every URL of the URLconf, so that a new URL is covered at once.

Every URL is asked for anonymously (a login redirect for pages, a 401 with
`WWW-Authenticate` for the API), with a bad token (401), as a lab member on another lab's
objects (404, or 403 for a page its role may not open), and as ops on finance's pages and
endpoints (refused). Personal API tokens act as their owners on every API URL and open no
page; a revoked or expired one is a 401 everywhere. Only the login, the language switch,
the API schema and the health and metrics endpoints are public. Passwords and tokens never
reach the log.
"""

import logging

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone
from rest_framework.authtoken.models import Token

from billing.models import Account, ExportFile, Statement
from tests.fixtures.api_site import site_fixture  # noqa: F401
from tests.fixtures.site_data import PASSWORD
from web import tokens
from web.models import ApiToken
from web.oidc import Backend

# Open to anyone, by name; health and metrics endpoints (another module) by path.
PUBLIC = {"login", "logout", "set_language", "api-schema", "api-docs"}
PUBLIC |= {"admin:login", "admin:logout"}
# The provider's sign-in and callback (web/oidc.py), a 404 while none is configured.
PUBLIC |= {"oidc_authentication_init", "oidc_authentication_callback"}
PUBLIC_PATHS = {"/healthz", "/readyz", "/metrics"}
# Pages of finance only: ops get a 403 (or a 404 for one object), never the page.
FINANCE_ONLY = {"statements", "statement", "exports", "export-file", "api-statement"}
FINANCE_ONLY |= {"api-exports"}
FINANCE_ONLY |= {"statements-workbook", "api-statements-workbook"}
FINANCE_ONLY |= {"statement-pdf", "api-statement-pdf"}
# Whole pages a lab member's role may not open: a 403, whatever the object.
NOT_FOR_MEMBERS = {"export-file", "metric-values", "metric-list", "live", "exports"}
NOT_FOR_MEMBERS |= {"idle-gpus"}
NOT_FOR_MEMBERS |= {"api-exports"}
NOT_FOR_MEMBERS |= {"statements-workbook", "api-statements-workbook"}
# The query a route needs to answer at all.
QUERIES = {"api-statements": "?period=2026-10", "api-statements-workbook": "?period=2026-10"}


def patterns(resolver=None, namespace: str = ""):
    """(name, URL parameters) of every named route; admin's unnamed catch-all is skipped."""
    resolver = resolver or get_resolver()
    for entry in resolver.url_patterns:
        if isinstance(entry, URLResolver):
            inner = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
            yield from patterns(entry, inner)
        elif isinstance(entry, URLPattern) and entry.name:
            yield namespace + entry.name, set(entry.pattern.regex.groupindex)


def other_labs_objects(site) -> dict[str, int]:
    """Per route with a `pk`, an object of lab-b (alice is lab-a's member)."""
    statement = Statement.objects.get(account__name="lab-b", period__month="2026-10-01").pk
    bobs_token = ApiToken.objects.filter(user__username="bob").first()
    if bobs_token is None:
        bobs_token, _key = tokens.issue(User.objects.get(username="bob"), "bob's script", 7)
    return {
        "account": site.accounts["lab-b"].pk,
        "account-jobs-csv": site.accounts["lab-b"].pk,
        "job": site.jobs["sim-00"].pk,
        "api-job": site.jobs["sim-00"].pk,
        "statement": statement,
        "api-statement": statement,
        "statement-pdf": statement,
        "api-statement-pdf": statement,
        "export-file": ExportFile.objects.order_by("pk").first().pk,
        "token-revoke": bobs_token.pk,
    }


def urls(site) -> dict[str, str]:
    """Every route's URL, filled with lab-b's objects; a new route with a pk must be added."""
    objects = other_labs_objects(site)
    admin_values = {"app_label": "billing", "object_id": "1", "content_type_id": "1", "id": "1"}
    found = {}
    for name, params in patterns():
        values = {"name": "cpu/usage_rate", "month": "2026-10", **admin_values}
        if "pk" in params:
            assert name in objects, f"{name} takes a pk: add one of lab-b's to other_labs_objects"
            values["pk"] = objects[name]
        found[name] = reverse(name, kwargs={p: values[p] for p in params}) + QUERIES.get(name, "")
    return found


def guarded(site) -> dict[str, str]:
    return {
        name: url
        for name, url in urls(site).items()
        if name not in PUBLIC and url.rstrip("/") not in PUBLIC_PATHS
    }


def logged_in(username: str) -> Client:
    client = Client()
    client.force_login(User.objects.get(username=username))
    return client


def test_the_matrix_covers_every_page_and_the_whole_api(db, site):
    names = set(guarded(site))
    assert {"overview", "account", "account-jobs-csv", "live", "api-usage", "api-job"} <= names
    assert {"metric-values", "admin:index", "admin:billing_account_changelist"} <= names


def test_every_url_refuses_an_anonymous_client(db, site):
    wrong = {}
    for name, url in guarded(site).items():
        answer = Client().get(url)
        if url.startswith("/api/"):
            ok = answer.status_code == 401 and answer.has_header("WWW-Authenticate")
        else:
            ok = answer.status_code == 302 and "login/?next=" in answer["Location"]
        if not ok:
            wrong[name] = answer.status_code
    assert wrong == {}


def test_every_api_url_answers_a_bad_token_with_a_401_and_how_to_authenticate(db, site):
    wrong = {}
    for name, url in urls(site).items():
        if url.startswith("/api/"):
            answer = Client(HTTP_AUTHORIZATION="Token not-a-token").get(url)
            if answer.status_code != 401 or answer.get("WWW-Authenticate") != "Token":
                wrong[name] = answer.status_code
    assert wrong == {}


def test_a_lab_member_gets_no_other_labs_object_on_any_url(db, site):
    alice = logged_in("alice")
    wrong = {}
    for name, url in guarded(site).items():
        if name.startswith("admin:"):
            expected = 302  # not staff: the admin's own login
        elif name in NOT_FOR_MEMBERS:
            expected = 403
        else:
            expected = 404 if name in other_labs_objects(site) else 200
        answer = alice.get(url)
        body = b"" if answer.streaming else answer.content
        if answer.status_code != expected or b"physics" in body or b"lab-b" in body:
            wrong[name] = answer.status_code
    assert wrong == {}


def test_ops_reach_no_finance_page_and_no_bill(db, site):
    oscar = logged_in("oscar")
    wrong = {}
    for name, url in guarded(site).items():
        if name in FINANCE_ONLY or name.startswith("admin:"):
            refused = (302,) if name.startswith("admin:") else (403, 404)
            answer = oscar.get(url)
            if answer.status_code not in refused:
                wrong[name] = answer.status_code
    assert wrong == {}
    listed = oscar.get("/api/v1/statements", {"period": "2026-10"}).json()
    assert listed["results"] == []


def test_passwords_and_tokens_never_reach_the_log(db, site, caplog):
    token = Token.objects.create(user=User.objects.get(username="alice")).key
    _personal, personal = tokens.issue(User.objects.get(username="alice"), "logged?", 7)
    with caplog.at_level(logging.DEBUG):
        Client(HTTP_AUTHORIZATION=f"Token {personal}").get("/api/v1/usage")
        Client(HTTP_AUTHORIZATION=f"Token {personal}x").get("/api/v1/usage")
        Client().post("/login/", {"username": "alice", "password": PASSWORD})
        Client().post("/login/", {"username": "alice", "password": PASSWORD + "-wrong"})
        Client(HTTP_AUTHORIZATION=f"Token {token}").get("/api/v1/exports")
        Client(HTTP_AUTHORIZATION=f"Token {token}x").get("/api/v1/usage")
    logged = "\n".join(f"{r.getMessage()} {r.args} {r.__dict__}" for r in caplog.records)
    assert caplog.records, "nothing was logged: the test would prove nothing"
    assert PASSWORD not in logged
    assert token not in logged
    assert personal[13:] not in logged


def token_client(username: str, **state) -> Client:
    token, key = tokens.issue(User.objects.get(username=username), "matrix", 7)
    ApiToken.objects.filter(pk=token.pk).update(**state)
    return Client(HTTP_AUTHORIZATION=f"Token {key}")


def test_a_lab_members_token_gets_what_its_session_gets_on_every_api_url(db, site):
    session, token = logged_in("alice"), token_client("alice")
    wrong = {}
    for name, url in guarded(site).items():
        if url.startswith("/api/"):
            by_session, by_token = session.get(url), token.get(url)
            if by_token.status_code != by_session.status_code or b"lab-b" in by_token.content:
                wrong[name] = (by_session.status_code, by_token.status_code)
    assert wrong == {}
    assert token.get("/api/v1/usage").status_code == 200


def test_an_ops_token_reaches_no_finance_endpoint(db, site):
    token = token_client("oscar")
    wrong = {
        name: answer.status_code
        for name, url in guarded(site).items()
        if name in FINANCE_ONLY and url.startswith("/api/")
        if (answer := token.get(url)).status_code not in (403, 404)
    }
    assert wrong == {}


def test_a_token_opens_no_page(db, site):
    token = token_client("fiona")
    wrong = {}
    for name, url in guarded(site).items():
        if not url.startswith("/api/") and token.get(url).status_code not in (302, 405):
            wrong[name] = token.get(url).status_code
    assert wrong == {}


@pytest.mark.parametrize("state", ["revoked", "expired"])
def test_every_api_url_refuses_a_revoked_or_expired_token_with_a_401(db, site, state):
    token = token_client("fiona", **{state if state == "revoked" else "expires": timezone.now()})
    wrong = {}
    for name, url in urls(site).items():
        if url.startswith("/api/") and name not in PUBLIC:
            answer = token.get(url)
            if answer.status_code != 401 or answer.get("WWW-Authenticate") != "Token":
                wrong[name] = answer.status_code
    assert wrong == {}


@pytest.mark.parametrize("name", ["login", "set_language", "logout", "tokens"])
def test_every_form_refuses_a_post_without_its_csrf_token(db, site, name):
    client = Client(enforce_csrf_checks=True)
    client.force_login(User.objects.get(username="alice"))
    answer = client.post(reverse(name), {"username": "alice", "password": PASSWORD})
    assert answer.status_code == 403


# Users the OpenID Connect backend creates from the provider's claims, each with the groups
# that make them what one of the local users is.
SSO_TWINS = {"fiona": ["finance-office"], "oscar": ["cluster-admins"], "alice": ["lab-a-members"]}


@pytest.mark.parametrize("local, groups", SSO_TWINS.items())
def test_a_user_signed_in_by_the_provider_gets_the_answers_of_the_local_user_of_that_role(
    db, site, settings, local, groups
):
    settings.OIDC_RP_CLIENT_ID = "kubemon"
    settings.OIDC_OP_JWKS_ENDPOINT = "https://idp.example.org/jwks"
    settings.KUBEMON_OIDC_FINANCE_GROUPS = ["finance-office"]
    settings.KUBEMON_OIDC_OPS_GROUPS = ["cluster-admins"]
    Account.objects.filter(name="lab-a").update(idp_groups="lab-a-members")
    Account.objects.filter(name="lab-b").update(idp_groups="lab-b-members")
    twin = Backend().create_user(
        {"sub": "x", "preferred_username": f"sso-{local}", "groups": groups}
    )
    mine, theirs = logged_in(local), logged_in(twin.username)
    different = {}
    for name, url in guarded(site).items():
        expected, got = mine.get(url).status_code, theirs.get(url).status_code
        if expected != got:
            different[name] = (expected, got)
    assert different == {}
