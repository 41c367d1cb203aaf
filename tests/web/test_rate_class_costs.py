"""The pages' and the API's costs price each account's usage at its rate class's tariffs, as
its statement does (billing/ledger/pricing.py), also when one query holds accounts of
different classes and when one job's hours were billed to accounts of different classes."""

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from billing.ledger.costs import chf
from billing.ledger.drafts import refresh_open_periods
from billing.ledger.pricing import every_tariff, raw_quantity, to_unit
from billing.models import Account, DailyUsage, HourlyUsage, Statement, Tariff
from billing.resources import QUANTITIES
from tests.fixtures.api_site import get, site_fixture  # noqa: F401
from tests.fixtures.site_data import NOW, PASSWORD
from web import reports

pytestmark = pytest.mark.django_db
NOVEMBER = datetime(2026, 11, 1, tzinfo=UTC)


@pytest.fixture
def lab_a_in_u1(site):
    """lab-a in class U1, whose tariffs of every resource cost twice the class-less ones
    from November; lab-b stays without a class."""
    for tariff in Tariff.objects.filter(rate_class=""):
        Tariff.objects.create(
            resource=tariff.resource,
            unit=tariff.unit,
            price_chf=tariff.price_chf * 2,
            policy=tariff.policy,
            valid_from=NOVEMBER,
            rate_class="U1",
        )
    Account.objects.filter(name="lab-a").update(rate_class="U1")
    assert refresh_open_periods(NOW) == []
    return site


def november_statement(name: str) -> Statement:
    return Statement.objects.get(account__name=name, period__month=NOVEMBER.date())


def test_the_statements_of_the_site_price_lab_a_at_its_class(lab_a_in_u1):
    assert {line.tariff.rate_class for line in november_statement("lab-a").lines.all()} == {"U1"}
    assert {line.tariff.rate_class for line in november_statement("lab-b").lines.all()} == {""}


@pytest.mark.parametrize("account", ["lab-a", "lab-b"])
def test_an_accounts_page_prices_its_month_as_its_statement(client, lab_a_in_u1, account):
    assert client.login(username="fiona", password=PASSWORD)
    pk = lab_a_in_u1.accounts[account].pk
    page = client.get(f"/accounts/{pk}/?period=2026-11")
    assert page.status_code == 200
    assert page.context["total"] == november_statement(account).total_chf


def test_one_query_over_accounts_of_different_classes_prices_each_as_its_statement(
    lab_a_in_u1,
):
    groups = reports.costs_by(
        DailyUsage.objects.all(),
        ["account_id"],
        date(2026, 11, 1),
        date(2026, 11, 30),
        reports.all_tariffs(),
    )
    costs = {g["account_id"]: g["cost"] for g in groups}
    statements = Statement.objects.filter(period__month=NOVEMBER.date())
    assert costs == {s.account_id: s.total_chf for s in statements}


def hour_by_hour_cost(job) -> Decimal:
    """The job's cost, each hour at the tariffs of its account's class, rounded once."""
    tariffs = every_tariff()
    total = Decimal(0)
    rows = HourlyUsage.objects.filter(job=job).values("hour", "account__rate_class", *QUANTITIES)
    for row in rows:
        schedule = tariffs.for_class(row["account__rate_class"])
        day = row["hour"].replace(hour=0)
        for resource in schedule.by_resource:
            tariff = schedule.at(resource, day)
            raw = raw_quantity(resource, tariff.policy, row)
            total += to_unit(resource, raw, day) * tariff.price_chf
    return chf(total)


def test_a_jobs_api_cost_prices_each_hour_at_its_accounts_class(lab_a_in_u1):
    job, lab_b = lab_a_in_u1.jobs["notebook"], lab_a_in_u1.accounts["lab-b"]
    before = Decimal(get("fiona", f"/api/v1/jobs/{job.pk}").json()["estimated_cost_chf"])
    # The job's first day goes to lab-b, which has no class: two classes in one job.
    first_day = HourlyUsage.objects.filter(job=job, hour__lt=datetime(2026, 11, 2, tzinfo=UTC))
    assert first_day.update(account=lab_b) == 24
    mixed = Decimal(get("fiona", f"/api/v1/jobs/{job.pk}").json()["estimated_cost_chf"])
    assert mixed == hour_by_hour_cost(job)
    assert before > mixed > before / 2
