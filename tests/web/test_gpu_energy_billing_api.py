"""GPU energy billed under a gpu_energy tariff, as the API reads it: the statement line with
its estimated part, and the job's estimated cost; the pages name every billed resource."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from django.utils import timezone

from billing.collection import rollup
from billing.ledger.drafts import refresh_open_periods
from billing.models import DailyUsage, Statement, Tariff
from billing.resources import RESOURCES
from tests.fixtures.billing_rows import HOUR, MARCH, add_usage, march_account
from web import reports

KWH = 3_600_000.0  # joules


def energy_month(estimated_hours: int):
    """lab-a's job with 4 hours of 2.5 kWh, the first `estimated_hours` of them flagged."""
    account, job = march_account()
    for i in range(4):
        add_usage(
            job,
            account,
            MARCH + i * HOUR,
            gpu_energy_estimated=i < estimated_hours,
            gpu_energy_joules=2.5 * KWH,
        )
    return job


def energy_tariff(price: str):
    Tariff.objects.create(
        resource="gpu_energy",
        unit="kWh",
        price_chf=Decimal(price),
        policy="usage",
        valid_from=datetime(2026, 1, 1, tzinfo=UTC),
    )


def test_a_gpu_energy_line_in_the_statements_api_says_how_much_of_it_is_an_estimate(api_client):
    energy_month(estimated_hours=1)
    energy_tariff("0.25")
    assert refresh_open_periods(timezone.now(), [MARCH.date()]) == []
    statement = Statement.objects.get()
    body = api_client.get(f"/api/v1/statements/{statement.pk}").json()
    (line,) = body["lines"]
    assert (line["resource"], line["unit"], line["quantity"]) == ("gpu_energy", "kWh", "10.000")
    assert (line["estimated_quantity"], line["amount_chf"]) == ("2.500", "2.50")
    assert body["total_chf"] == "2.50"


def test_the_statement_line_s_estimated_quantity_is_in_the_api_schema(api_client):
    schema = api_client.get("/api/v1/schema", {"format": "json"}).json()
    line = schema["components"]["schemas"]["Line"]
    assert "estimated_quantity" in line["properties"]
    assert "estimated_quantity" in line["required"]


def test_the_job_s_estimated_cost_counts_the_energy_only_under_a_tariff(api_client):
    job = energy_month(estimated_hours=0)
    without = api_client.get(f"/api/v1/jobs/{job.pk}").json()
    assert (without["gpu_energy_kwh"], without["estimated_cost_chf"]) == (10.0, "0.00")
    energy_tariff("0.31")
    answer = api_client.get(f"/api/v1/jobs/{job.pk}").json()
    assert answer["estimated_cost_chf"] == "3.10"


def test_every_billed_resource_has_a_name_on_the_pages():
    assert set(reports.RESOURCE_NAMES) == set(RESOURCES)
    assert str(reports.RESOURCE_NAMES["gpu_energy"]) == "GPU energy"


def test_the_cost_chart_stacks_the_energy_cost_under_its_name(db):
    energy_month(estimated_hours=0)
    energy_tariff("0.25")
    day = MARCH.date()
    rollup.refresh_range(day, day + timedelta(days=1))
    chart = reports.cost_chart(
        "cost", "Cost", DailyUsage.objects.all(), day, day, reports.all_tariffs()
    )
    assert {d["label"]: d["data"] for d in chart["datasets"]} == {"GPU energy": [2.5]}
