"""The statements API and admin: who sees what, and a closed period changes by no path.

The API only reads: the drafts are computed by their writers (here as collection leaves them,
billing/ledger/drafts.py), and a month the last refresh could not price says so.
"""

from decimal import Decimal

import pytest
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.utils import timezone
from rest_framework.test import APIClient

from billing.ledger.drafts import refresh_open_periods
from billing.models import HourlyUsage, Period, Statement, Tariff
from tests.fixtures.billing_rows import (
    HOUR,
    MARCH,
    add_usage,
    core_hours,
    make_account,
    make_job,
    march_account,
)


def client_for(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


@pytest.fixture
def two_labs(db):
    account, job = march_account()
    other = make_account("lab-b", wbs_element="P-1234.01")
    other_job = make_job("serve", namespace="lab-b")
    for i in range(3):
        add_usage(job, account, MARCH + i * HOUR, **core_hours(2))
        add_usage(other_job, other, MARCH + i * HOUR, **core_hours(1))
    assert refresh_open_periods(timezone.now(), [MARCH.date()]) == []  # as collection does
    return account, other


def test_staff_see_every_statement_of_a_period_as_drafts(api_client, two_labs):
    answer = api_client.get("/api/v1/statements", {"period": "2026-03"})
    assert answer.status_code == 200
    rows = answer.json()["results"]
    assert [(r["account"], r["status"], r["total_chf"]) for r in rows] == [
        ("lab-a", "draft", "0.30"),
        ("lab-b", "draft", "0.15"),
    ]


def test_the_finance_group_sees_every_account(two_labs, django_user_model):
    fiona = django_user_model.objects.create_user("fiona")
    fiona.groups.add(Group.objects.get(name="finance"))
    rows = client_for(fiona).get("/api/v1/statements?period=2026-03").json()["results"]
    assert len(rows) == 2


def test_a_lab_member_sees_only_its_accounts_and_another_id_is_a_404(two_labs, django_user_model):
    account, other = two_labs
    lea = django_user_model.objects.create_user("lea")
    account.members.add(lea)
    client = client_for(lea)
    rows = client.get("/api/v1/statements?period=2026-03").json()["results"]
    assert [r["account"] for r in rows] == ["lab-a"]
    mine = Statement.objects.get(account=account)
    theirs = Statement.objects.get(account=other)
    assert client.get(f"/api/v1/statements/{mine.pk}").status_code == 200
    assert client.get(f"/api/v1/statements/{theirs.pk}").status_code == 404


def test_the_detail_has_lines_jobs_sources_and_missing_hours(api_client, two_labs):
    statement = Statement.objects.get(account__name="lab-a")
    body = api_client.get(f"/api/v1/statements/{statement.pk}").json()
    (line,) = body["lines"]
    assert (line["resource"], line["quantity"], line["amount_chf"]) == ("cpu", "6.000", "0.30")
    assert line["jobs"][0]["name"] == "train"
    assert line["sources"]["job_hours"] == 3
    assert len(line["sources"]["runs"]) == 1
    assert body["missing_hours"] == {}


@pytest.mark.parametrize("period", ["", "2026-13", "03-2026"])
def test_a_bad_period_is_a_400_naming_it(api_client, period):
    answer = api_client.get("/api/v1/statements", {"period": period})
    assert answer.status_code == 400
    assert answer.json()["param"] == "period"


def test_an_anonymous_client_is_refused(db):
    assert APIClient().get("/api/v1/statements?period=2026-03").status_code in (401, 403)


def test_the_api_cannot_change_a_closed_period(api_client, two_labs):
    call_command("close_period", "2026-03")
    statement = Statement.objects.get(account__name="lab-a")
    url = f"/api/v1/statements/{statement.pk}"
    for method in (api_client.post, api_client.put, api_client.patch, api_client.delete):
        assert method(url, {"total_chf": "0"}).status_code == 405
    account, job = two_labs[0], HourlyUsage.objects.first().job
    add_usage(job, account, MARCH + 10 * HOUR, **core_hours(100))  # behind the period's back
    body = api_client.get("/api/v1/statements?period=2026-03").json()["results"]
    assert body[0]["status"] == "closed"
    assert body[0]["total_chf"] == "0.30"


def test_the_admin_shows_a_closed_period_read_only(two_labs, admin_client):
    call_command("close_period", "2026-03")
    statement = Statement.objects.get(account__name="lab-a")
    usage = HourlyUsage.objects.filter(account__name="lab-a").first()
    cpu = Tariff.objects.get(resource="cpu")
    change = admin_client.post(
        f"/admin/billing/hourlyusage/{usage.pk}/change/",
        {"job": usage.job_id, "hour_0": "2026-03-01", "hour_1": "00:00:00", "account": 1},
    )
    assert change.status_code == 403
    assert admin_client.post(f"/admin/billing/tariff/{cpu.pk}/change/", {}).status_code == 403
    assert admin_client.post(f"/admin/billing/statement/{statement.pk}/delete/").status_code == 403
    admin_client.post(
        "/admin/billing/hourlyusage/",
        {"action": "delete_selected", "_selected_action": [usage.pk], "post": "yes"},
    )
    assert HourlyUsage.objects.filter(pk=usage.pk).exists()
    assert Tariff.objects.get(pk=cpu.pk).price_chf == Decimal("0.05")


def test_the_admin_refuses_a_new_tariff_inside_a_closed_period(two_labs, admin_client):
    call_command("close_period", "2026-03")
    answer = admin_client.post(
        "/admin/billing/tariff/add/",
        {
            "resource": "cpu",
            "unit": "core-hour",
            "price_chf": "9",
            "policy": "usage",
            "valid_from_0": "2026-03-15",
            "valid_from_1": "00:00:00",
            "activity_type": "",
        },
    )
    assert answer.status_code == 200  # the form again, with the error
    assert b"closed period 2026-03" in answer.content
    assert Tariff.objects.filter(resource="cpu").count() == 1


def test_usage_without_a_tariff_is_named_by_the_refresh_and_the_api_says_the_drafts_are_old(
    api_client,
):
    account, job = make_account(), make_job()
    add_usage(job, account, MARCH, **core_hours(1))
    (problem,) = refresh_open_periods(timezone.now(), [MARCH.date()])
    assert "no tariff for cpu at 2026-03-01T00:00:00" in problem
    answer = api_client.get("/api/v1/statements", {"period": "2026-03"})
    assert answer.status_code == 200
    assert answer.json()["drafts_current"] is False
    assert answer.json()["results"] == []
    assert not Statement.objects.exists()
    assert list(Period.objects.values_list("month", flat=True)) == [MARCH.date()]


def test_current_drafts_are_said_to_be_current(api_client, two_labs):
    assert api_client.get("/api/v1/statements?period=2026-03").json()["drafts_current"] is True
