"""A month parameter outside 1970-01 to 2199-12 is a clear 400 on every page and endpoint.

One parser reads every month (billing.utc.parse_month): the pages through their form field
(web/forms.py), the API through web/api/params.py, the commands directly. Year 0 or 1, 9999
(whose month end no datetime holds) and 1850 were 500s on some of them; now each is the
form's error on a page and `{"detail", "param", "reason"}` in the API, for every role, and
nothing is written.
"""

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from billing.models import Period
from billing.utc import EARLIEST, FIRST_MONTH, LAST_MONTH, LATEST, month_bounds
from tests.fixtures.api_site import site_fixture  # noqa: F401

pytestmark = pytest.mark.django_db

OUT_OF_RANGE = ["0000-01", "0001-01", "9999-12", "1850-01", "1969-12", "2200-01"]
ROLES = ["fiona", "oscar", "alice"]
PAGE_REFUSAL = "is outside the months billed here: write one from 1970-01 to 2199-12."


def pages(site) -> dict[str, str]:
    account = site.accounts["lab-a"].pk
    return {
        "account": reverse("account", args=[account]),
        "jobs.csv": reverse("account-jobs-csv", args=[account]),
        "job": reverse("job", args=[site.jobs["train-00"].pk]),
        "statements": reverse("statements"),
    }


def page_client(username: str) -> Client:
    client = Client()
    client.force_login(User.objects.get(username=username))
    return client


def api_client(username: str) -> APIClient:
    client = APIClient()
    client.force_authenticate(User.objects.get(username=username))
    return client


def test_the_month_bounds_are_the_time_bounds_of_every_parameter():
    assert month_bounds(FIRST_MONTH)[0] == EARLIEST
    assert month_bounds(LAST_MONTH)[1] == LATEST


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("page", ["account", "jobs.csv", "job", "statements"])
def test_a_month_out_of_range_is_the_forms_400_on_every_page(site, role, page):
    periods = list(Period.objects.values_list("pk", flat=True))
    url = pages(site)[page]
    for value in OUT_OF_RANGE:
        answer = page_client(role).get(url, {"period": value})
        if page == "statements" and role == "oscar":
            assert answer.status_code == 403, value  # the role is checked first
            continue
        assert answer.status_code == 400, (value, answer.status_code)
        assert f"{value} {PAGE_REFUSAL}" in answer.content.decode(), value
    assert list(Period.objects.values_list("pk", flat=True)) == periods


@pytest.mark.parametrize("role", ROLES)
def test_a_month_out_of_range_is_a_400_naming_period_in_the_statements_api(site, role):
    for value in OUT_OF_RANGE:
        answer = api_client(role).get("/api/v1/statements", {"period": value})
        assert answer.status_code == 400, (value, answer.content)
        body = answer.json()
        assert body["param"] == "period"
        assert body["reason"] == (
            f"{value!r} is outside the months billed here; use one from 1970-01 to 2199-12"
        )
        assert body["detail"] == f"period: {body['reason']}"
    assert not Period.objects.exclude(month__in=["2026-10-01", "2026-11-01"]).exists()


@pytest.mark.parametrize("value", OUT_OF_RANGE)
def test_a_month_out_of_range_is_a_400_naming_period_in_the_exports_api(site, value):
    answer = api_client("fiona").get("/api/v1/exports", {"period": value})
    assert answer.status_code == 400, answer.content
    assert answer.json()["param"] == "period"
    assert "1970-01 to 2199-12" in answer.json()["reason"]
    for role in ("oscar", "alice"):  # not finance: refused before the month is read
        assert api_client(role).get("/api/v1/exports", {"period": value}).status_code == 403


@pytest.mark.parametrize("value", ["1970-01", "2199-12"])
def test_the_first_and_last_months_are_answered(site, value):
    for url in pages(site).values():
        assert page_client("fiona").get(url, {"period": value}).status_code == 200, url
    for url in ("/api/v1/statements", "/api/v1/exports"):
        assert api_client("fiona").get(url, {"period": value}).status_code == 200, url
    assert not Period.objects.filter(month=f"{value}-01").exists()


@pytest.mark.parametrize("command", ["close_period", "export_sifac"])
@pytest.mark.parametrize("value", ["0000-01", "9999-12"])
def test_the_commands_refuse_a_month_out_of_range_naming_it(command, value):
    with pytest.raises(CommandError, match=f"period: '{value}' is outside the months billed"):
        call_command(command, value, *(["--format", "csv"] if command == "export_sifac" else []))
