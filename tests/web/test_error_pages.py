"""What an error leaves behind: the DEBUG page masks passwords, and every log line of the
request, Django's own included, carries the request's id (web/error_reports.py,
web/request_id.py)."""

import logging

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse

from web.error_reports import without_password

PASSWORD = "s3cret-Pr0m"
PROMETHEUS_URL = f"http://kubemon:{PASSWORD}@127.0.0.1:9/"
DATABASE_URL = "postgres://billing:db-pa55word@db.example.epfl.ch:5432/kubemon"


@pytest.fixture
def ops_client(client, db, django_user_model):
    user = django_user_model.objects.create_user("oscar")
    user.groups.add(Group.objects.get_or_create(name="ops")[0])
    client.force_login(user)
    client.raise_request_exception = False
    return client


@pytest.fixture
def broken_prometheus_connection(monkeypatch):
    """The connection set-up fails: the traceback goes through frames holding the URL."""

    def refuse(*args, **kwargs):
        raise RuntimeError("connection set-up failed")

    monkeypatch.setattr("promadapter.transport.PrometheusConnect", refuse)


def test_the_debug_error_page_shows_the_prometheus_host_but_never_its_password(
    ops_client, settings, broken_prometheus_connection
):
    settings.DEBUG = True
    settings.PROMETHEUS_URL = PROMETHEUS_URL
    answer = ops_client.get(reverse("live"), HTTP_ACCEPT="text/html")
    assert answer.status_code == 500
    text = answer.content.decode()
    assert "connection set-up failed" in text  # Django's technical page, with settings
    assert "PROMETHEUS_URL" in text and "127.0.0.1:9" in text
    assert PASSWORD not in text


def test_the_debug_error_page_masks_a_database_url_in_the_request_metadata(
    ops_client, settings, broken_prometheus_connection
):
    settings.DEBUG = True
    # runserver copies the environment into every request's META.
    answer = ops_client.get(reverse("live"), HTTP_ACCEPT="text/html", DATABASE_URL=DATABASE_URL)
    assert answer.status_code == 500
    text = answer.content.decode()
    assert "db.example.epfl.ch" in text
    assert "db-pa55word" not in text


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("http://u:p@h:9090/x", "http://u:***@h:9090/x"),
        ("postgres://user:pa:ss@db/k", "postgres://user:***@db/k"),
        ("url=https://:tok@h and http://h2/", "url=https://:***@h and http://h2/"),
        ("http://only-user@h/", "http://only-user@h/"),
        ("no url here: a@b", "no url here: a@b"),
    ],
)
def test_only_the_password_of_a_url_is_masked(text, masked):
    assert without_password(text, "***") == masked


def records_of(caplog, name: str) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == name]


def test_django_s_log_line_of_a_404_carries_the_request_id(ops_client, caplog):
    with caplog.at_level(logging.INFO):
        answer = ops_client.get("/accounts/987654/", HTTP_X_REQUEST_ID="trace-404")
    assert answer.status_code == 404
    (record,) = records_of(caplog, "django.request")
    assert record.getMessage() == "Not Found: /accounts/987654/"
    assert record.request_id == "trace-404"


def test_every_log_line_of_a_500_carries_the_request_id(ops_client, caplog, monkeypatch):
    def broken(request):
        logging.getLogger("web.views.overview").warning("about to fail")
        raise RuntimeError("the overview broke")

    monkeypatch.setattr("web.views.overview.chosen_range", broken)
    with caplog.at_level(logging.INFO):
        answer = ops_client.get("/", HTTP_X_REQUEST_ID="trace-500")
    assert answer.status_code == 500
    assert records_of(caplog, "django.request")
    assert {r.request_id for r in caplog.records} == {"trace-500"}
