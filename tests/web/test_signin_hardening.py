"""Local sign-in hardened: lockout, failures logged, password rules, API rates, idle sessions.

Repeated failed sign-ins lock the username out, and an address trying many usernames is
locked out too (django-axes), the right password included while locked. Each failure is
logged with the username, the address and the request id, never the password. The admin
refuses a weak password. Anonymous and token API clients are throttled (429, Retry-After).
A session idle for KUBEMON_SESSION_IDLE_SECONDS is logged out.
"""

import logging
import time

import pytest
from django.contrib.auth.models import User
from django.test import Client

from tests.fixtures.api_site import site_fixture  # noqa: F401
from tests.fixtures.site_data import PASSWORD
from web import tokens
from web.sign_in_guards import LAST_SEEN


def sign_in(username: str, password: str, address: str = "127.0.0.1", forwarded: str = ""):
    headers = {"HTTP_X_FORWARDED_FOR": forwarded} if forwarded else {}
    client = Client(REMOTE_ADDR=address, **headers)
    answer = client.post("/login/", {"username": username, "password": password})
    return client, answer


def signed_in(client: Client) -> bool:
    return client.get("/").status_code == 200


def test_thirty_wrong_passwords_lock_the_user_out_even_with_the_right_one(db, site, caplog):
    statuses = []
    with caplog.at_level(logging.INFO):
        for _ in range(30):
            statuses.append(sign_in("fiona", "guess-" + PASSWORD[:5])[1].status_code)
    assert statuses[0] == 200  # the form again, with its error
    assert 429 in statuses
    client, answer = sign_in("fiona", PASSWORD)
    assert answer.status_code == 429
    assert not signed_in(client)
    # Another address too: the lockout is the username's, not only the address'.
    client, answer = sign_in("fiona", PASSWORD, address="10.9.8.7")
    assert answer.status_code == 429 and not signed_in(client)


def test_a_failed_sign_in_is_logged_with_user_address_and_request_id_without_password(
    db, site, caplog
):
    with caplog.at_level(logging.INFO):
        _client, answer = sign_in("fiona", "wrong-" + PASSWORD, address="10.1.2.3")
    lines = [r.getMessage() for r in caplog.records if r.name == "web.sign_in_guards"]
    assert len(lines) == 1
    assert "'fiona'" in lines[0] and "10.1.2.3" in lines[0]
    assert answer["X-Request-ID"] in lines[0]
    everything = "\n".join(f"{r.getMessage()} {r.args} {r.__dict__}" for r in caplog.records)
    assert PASSWORD not in everything


def test_an_address_trying_many_users_is_locked_out(db, site, settings):
    settings.AXES_FAILURE_LIMIT = 5
    for i in range(5):
        sign_in(f"nobody-{i}", "whatever", address="10.6.6.6")
    client, answer = sign_in("alice", PASSWORD, address="10.6.6.6")
    assert answer.status_code == 429 and not signed_in(client)
    # alice herself is not locked: from her own address she signs in.
    client, answer = sign_in("alice", PASSWORD, address="10.0.0.1")
    assert answer.status_code == 302 and signed_in(client)


def test_behind_a_trusted_proxy_one_client_s_failures_do_not_lock_out_the_others(
    db, site, settings, caplog
):
    # The Ingress controller (a trusted proxy) forwards every client's sign-in.
    settings.AXES_FAILURE_LIMIT = 5
    settings.KUBEMON_TRUSTED_PROXIES = ["10.20.0.11"]
    with caplog.at_level(logging.INFO):
        for i in range(5):
            sign_in(f"nobody-{i}", "whatever", "10.20.0.11", forwarded="198.51.100.7")
    failures = [r.getMessage() for r in caplog.records if r.name == "web.sign_in_guards"]
    assert failures and all("address=198.51.100.7" in line for line in failures)
    client, answer = sign_in("alice", PASSWORD, "10.20.0.11", forwarded="203.0.113.5, 10.20.0.11")
    assert answer.status_code == 302 and signed_in(client)
    client, answer = sign_in("alice", PASSWORD, "10.20.0.11", forwarded="198.51.100.7")
    assert answer.status_code == 429 and not signed_in(client)


def test_a_client_that_is_not_a_trusted_proxy_cannot_choose_its_address(db, site, settings):
    settings.AXES_FAILURE_LIMIT = 5
    settings.KUBEMON_TRUSTED_PROXIES = ["10.20.0.11"]
    for i in range(5):
        sign_in(f"nobody-{i}", "whatever", "192.0.2.9", forwarded=f"203.0.113.{i}")
    client, answer = sign_in("alice", PASSWORD, "192.0.2.9", forwarded="203.0.113.99")
    assert answer.status_code == 429 and not signed_in(client)


def test_a_right_password_after_a_few_wrong_ones_signs_in_and_resets_the_count(db, site):
    for _ in range(3):
        sign_in("alice", "wrong")
    client, answer = sign_in("alice", PASSWORD)
    assert answer.status_code == 302 and signed_in(client)


@pytest.fixture
def admin_client(db):
    admin = User.objects.create_superuser("root", "root@example.org", "unused")
    client = Client()
    client.force_login(admin)
    return client


@pytest.mark.parametrize("weak", ["alice", "12345678901234", "password", "short1!"])
def test_the_admin_refuses_a_weak_password(db, site, admin_client, weak):
    alice = User.objects.get(username="alice")
    answer = admin_client.post(
        f"/admin/auth/user/{alice.pk}/password/", {"password1": weak, "password2": weak}
    )
    assert answer.status_code == 200  # the form again, with the validators' errors
    alice.refresh_from_db()
    assert alice.check_password(PASSWORD)
    answer = admin_client.post(
        "/admin/auth/user/add/",
        {"username": "newcomer", "password1": weak, "password2": weak, "usable_password": "true"},
    )
    assert answer.status_code == 200
    assert not User.objects.filter(username="newcomer").exists()


def test_the_admin_takes_a_strong_password(db, site, admin_client):
    alice = User.objects.get(username="alice")
    strong = "violet-tandem-harbour-42"
    answer = admin_client.post(
        f"/admin/auth/user/{alice.pk}/password/", {"password1": strong, "password2": strong}
    )
    assert answer.status_code == 302
    alice.refresh_from_db()
    assert alice.check_password(strong)


def test_a_token_client_past_its_rate_gets_429_with_retry_after(db, site, settings):
    settings.KUBEMON_API_TOKEN_RATE = "3/minute"
    _token, key = tokens.issue(User.objects.get(username="alice"), "busy", 7)
    client = Client(HTTP_AUTHORIZATION=f"Token {key}")
    statuses = [client.get("/api/v1/usage").status_code for _ in range(3)]
    assert statuses == [200, 200, 200]
    answer = client.get("/api/v1/usage")
    assert answer.status_code == 429
    assert 0 < int(answer["Retry-After"]) <= 60
    # A signed-in browser session is not throttled.
    browser = Client()
    browser.force_login(User.objects.get(username="alice"))
    assert [browser.get("/api/v1/usage").status_code for _ in range(5)] == [200] * 5


def test_an_anonymous_client_past_its_rate_gets_429_with_retry_after(db, site, settings):
    settings.KUBEMON_API_ANON_RATE = "2/minute"
    client = Client(REMOTE_ADDR="10.5.5.5")
    assert [client.get("/api/v1/schema").status_code for _ in range(2)] == [200, 200]
    answer = client.get("/api/v1/schema")
    assert answer.status_code == 429
    assert int(answer["Retry-After"]) > 0


def with_last_seen(client: Client, seconds_ago: float) -> None:
    session = client.session
    session[LAST_SEEN] = time.time() - seconds_ago
    session.save()


def test_an_idle_session_is_logged_out_after_the_settings_time(db, site, settings):
    settings.KUBEMON_SESSION_IDLE_SECONDS = 600
    client, answer = sign_in("alice", PASSWORD)
    assert answer.status_code == 302 and signed_in(client)
    with_last_seen(client, 590)
    assert signed_in(client)
    with_last_seen(client, 610)
    answer = client.get("/")
    assert answer.status_code == 302 and "/login/" in answer["Location"]
    assert not signed_in(client)


def test_a_session_in_use_stays_signed_in_and_reads_write_it_at_most_once_a_minute(
    db, site, settings
):
    settings.KUBEMON_SESSION_IDLE_SECONDS = 7200
    client, _answer = sign_in("alice", PASSWORD)
    with_last_seen(client, 3000)
    assert signed_in(client)
    seen = client.session[LAST_SEEN]
    assert time.time() - seen < 30
    assert signed_in(client)
    assert client.session[LAST_SEEN] == seen
