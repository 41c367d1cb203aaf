"""A read writes nothing; whoever changes what drafts are made of recomputes them.

GETs of the statements page and API, for any month and role, issue no INSERT, UPDATE or
DELETE and leave every period and statement as it was: no period for a month asked about,
no recomputed draft. A tariff import, the admin's tariff add and change, a receiver changed
in the admin, and usage rows or collected hours deleted in the admin refresh the open
month's drafts themselves, so the next GET shows the change as stored (billing/ledger/drafts.py).
"""

from decimal import Decimal

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from rest_framework.test import APIClient

from billing.ledger.drafts import drafts_are_current
from billing.models import CollectedHour, HourlyUsage, Period, Statement, StatementLine, Tariff
from tests.fixtures.api_site import site_fixture  # noqa: F401
from tests.fixtures.site_data import COLLECTED_UNTIL, NOVEMBER

pytestmark = pytest.mark.django_db

WRITES = ("INSERT", "UPDATE", "DELETE")
# Month asked -> (status of the page for finance and a lab, of the API): far past and future
# are 400 (tests/web/test_month_bounds.py); a month without a period is shown as it is.
MONTHS = {
    "1850-01": 400,
    "9999-12": 400,
    "2026-05": 200,  # no period row
    "2026-10": 200,  # closed
    "2026-11": 200,  # open, drafts
    "2027-03": 200,  # not begun
}
HEADER = "resource,unit,price_chf,policy,valid_from,activity_type\n"


def ledger_rows() -> tuple:
    return (
        list(Period.objects.order_by("pk").values_list("pk", "month", "status")),
        list(
            Statement.objects.order_by("pk").values_list(
                "pk", "computed_at", "total_chf", "receiver", "missing_hours"
            )
        ),
        list(StatementLine.objects.order_by("pk").values_list("pk", "amount_chf")),
    )


def without_writes(call):
    """Make the request; fail if it issued any write to the database."""
    with CaptureQueriesContext(connection) as queries:
        answer = call()
    writes = [q["sql"] for q in queries if q["sql"].lstrip().upper().startswith(WRITES)]
    assert writes == []
    return answer


def page_get(username: str, url: str, **params):
    client = Client()
    client.force_login(User.objects.get(username=username))
    return without_writes(lambda: client.get(url, params))


def api_get(username: str, url: str, **params):
    client = APIClient()
    client.force_authenticate(User.objects.get(username=username))
    return without_writes(lambda: client.get(url, params))


def november(account: str) -> Statement:
    return Statement.objects.get(period__month=NOVEMBER.date(), account__name=account)


@pytest.mark.parametrize("role", ["fiona", "oscar", "alice"])
@pytest.mark.parametrize(("month", "status"), MONTHS.items())
def test_a_get_of_the_statements_page_or_api_writes_nothing_whatever_the_month(
    site, role, month, status
):
    before = ledger_rows()
    page = page_get(role, reverse("statements"), period=month)
    assert page.status_code == (403 if role == "oscar" else status)
    api = api_get(role, "/api/v1/statements", period=month)
    assert api.status_code == status
    assert ledger_rows() == before
    assert not Period.objects.filter(month__year__in=[1850, 9999, 2027]).exists()
    assert not Period.objects.filter(month="2026-05-01").exists()


def test_a_month_without_a_period_is_shown_as_it_is_with_its_hours_not_collected(site):
    answer = page_get("fiona", reverse("statements"), period="2026-05")
    text = answer.content.decode()
    assert "No statements for this month." in text
    assert "Hours not collected so far" in text
    assert '<td class="num">744</td>' in text  # May 2026, never collected on epfl-1
    assert api_get("fiona", "/api/v1/statements", period="2026-05").json()["results"] == []


def test_a_statement_page_and_its_api_detail_write_nothing(site):
    statement = november("lab-a")
    before = ledger_rows()
    assert page_get("alice", reverse("statement", args=[statement.pk])).status_code == 200
    assert api_get("alice", f"/api/v1/statements/{statement.pk}").status_code == 200
    assert ledger_rows() == before


def cpu_lines(account: str) -> list[tuple[str, str]]:
    body = api_get("fiona", f"/api/v1/statements/{november(account).pk}").json()
    lines = [line for line in body["lines"] if line["resource"] == "cpu"]
    return [(line["unit_price_chf"], line["amount_chf"]) for line in lines]


def listed_totals() -> dict[str, str]:
    body = api_get("fiona", "/api/v1/statements", period="2026-11").json()
    assert body["drafts_current"] is True
    return {row["account"]: row["total_chf"] for row in body["results"]}


def test_a_tariff_import_shows_its_price_on_the_next_get_which_writes_nothing(site, tmp_path):
    totals = listed_totals()
    f = tmp_path / "tariffs.csv"
    f.write_text(HEADER + "cpu,core-hour,0.10,max,2026-11-01T00:00:00Z,\n")
    call_command("import_tariffs", str(f))
    ((price, amount),) = cpu_lines("lab-a")
    assert price == "0.100000"
    line = november("lab-a").lines.get(resource="cpu")
    assert Decimal(amount) == (line.quantity * Decimal("0.10")).quantize(Decimal("0.01"))
    after = listed_totals()
    assert after != totals
    assert after == {
        s.account.name: str(s.total_chf)
        for s in Statement.objects.filter(period__month=NOVEMBER.date()).select_related("account")
    }


def tariff_form(price: str) -> dict:
    return {
        "resource": "cpu",
        "unit": "core-hour",
        "price_chf": price,
        "policy": "max",
        "valid_from_0": "2026-11-15",
        "valid_from_1": "00:00:00",
        "activity_type": "",
    }


def test_a_tariff_added_then_changed_in_the_admin_shows_on_the_next_get(site, admin_client):
    assert admin_client.post("/admin/billing/tariff/add/", tariff_form("0.50")).status_code == 302
    assert [price for price, _ in cpu_lines("lab-a")] == ["0.050000", "0.500000"]
    added = Tariff.objects.get(resource="cpu", price_chf=Decimal("0.50"))
    changed = admin_client.post(f"/admin/billing/tariff/{added.pk}/change/", tariff_form("0.70"))
    assert changed.status_code == 302
    assert [price for price, _ in cpu_lines("lab-a")] == ["0.050000", "0.700000"]
    listed_totals()


def test_a_receiver_changed_in_the_admin_shows_on_the_open_months_statement_only(
    site, admin_client
):
    lab_a = site.accounts["lab-a"]
    form = {
        "name": "lab-a",
        "description": "Bio lab",
        "cost_center": "99999",
        "internal_order": "",
        "wbs_element": "",
        "members": [User.objects.get(username="alice").pk],
    }
    assert admin_client.post(f"/admin/billing/account/{lab_a.pk}/change/", form).status_code == 302
    for month, receiver in (("2026-11", "99999"), ("2026-10", "10421")):
        rows = api_get("fiona", "/api/v1/statements", period=month).json()["results"]
        assert {r["account"]: r["receiver"] for r in rows}["lab-a"] == receiver


def test_usage_rows_deleted_in_the_admin_leave_the_open_months_drafts_on_the_next_get(
    site, admin_client
):
    total = listed_totals()["lab-a"]
    job = site.jobs["train-07"]  # a November job of lab-a
    rows = list(HourlyUsage.objects.filter(job=job).values_list("pk", flat=True))
    assert (
        admin_client.post(
            f"/admin/billing/hourlyusage/{rows[0]}/delete/", {"post": "yes"}
        ).status_code
        == 302
    )
    once = listed_totals()["lab-a"]
    assert Decimal(once) < Decimal(total)
    answer = admin_client.post(
        "/admin/billing/hourlyusage/",
        {"action": "delete_selected", "_selected_action": rows[1:], "post": "yes"},
    )
    assert answer.status_code == 302
    assert not HourlyUsage.objects.filter(job=job).exists()
    assert Decimal(listed_totals()["lab-a"]) < Decimal(once)
    assert job.pk not in {
        j["job_id"]
        for line in api_get("fiona", f"/api/v1/statements/{november('lab-a').pk}").json()["lines"]
        for j in line["jobs"]
    }


def test_a_collected_hour_deleted_in_the_admin_is_listed_missing_on_the_next_get(
    site, admin_client
):
    hour = CollectedHour.objects.get(hour=COLLECTED_UNTIL.replace(day=10, hour=4))
    answer = admin_client.post(f"/admin/billing/collectedhour/{hour.pk}/delete/", {"post": "yes"})
    assert answer.status_code == 302
    body = api_get("fiona", f"/api/v1/statements/{november('lab-b').pk}").json()
    assert body["missing_hours"]["epfl-1"][0] == [
        "2026-11-10T04:00:00+00:00",
        "2026-11-10T05:00:00+00:00",
    ]
    period = Period.objects.get(month=NOVEMBER.date())
    assert drafts_are_current(period.month, period)
