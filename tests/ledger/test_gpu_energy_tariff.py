"""The optional gpu_energy tariff (CHF per kWh): GPU energy billed like any resource where a
tariff of it is in force, shown and not billed where none is (billing/resources.py)."""

from datetime import UTC, date, datetime
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from billing import sap_fields
from billing.collection import rollup
from billing.collection.store import AccountResolver, CollectedUsage, write_hours
from billing.ledger.budgets import budgets
from billing.ledger.statements import refresh_statements
from billing.models import Adjustment, CollectionRun, Period, Statement, StatementLine, Tariff
from billing.resources import QUANTITIES, RESOURCES
from tests.fixtures.billing_rows import (
    APRIL,
    HOUR,
    MARCH,
    CollectedJob,
    add_usage,
    collect_hours,
    core_hours,
    make_account,
    make_job,
    make_tariffs,
    march_account,
)

KWH = 3_600_000.0  # joules
JAN = datetime(2026, 1, 1, tzinfo=UTC)
HEADER = "resource,unit,price_chf,policy,valid_from,activity_type\n"


def energy_tariff(price="0.25", valid_from=JAN, **fields) -> Tariff:
    return Tariff.objects.create(
        resource="gpu_energy",
        unit="kWh",
        price_chf=Decimal(price),
        policy="usage",
        valid_from=valid_from,
        **fields,
    )


def refresh(month=MARCH):
    period, _ = Period.objects.get_or_create(month=month.date())
    return refresh_statements(period, timezone.now())


def lines_of(statement) -> dict[str, StatementLine]:
    return {line.resource: line for line in statement.lines.all()}


def import_tariffs(tmp_path, *rows: str) -> str:
    f = tmp_path / "tariffs.csv"
    f.write_text(HEADER + "".join(row + "\n" for row in rows))
    out = StringIO()
    call_command("import_tariffs", str(f), stdout=out)
    return out.getvalue()


def test_without_a_gpu_energy_tariff_the_energy_stops_no_statement_and_is_not_billed(db):
    account, job = march_account()
    for i in range(5):
        add_usage(job, account, MARCH + i * HOUR, **core_hours(2), gpu_energy_joules=0.8 * KWH)
    (statement,) = refresh()
    (line,) = statement.lines.all()
    assert (line.resource, line.quantity, line.amount_chf) == (
        "cpu",
        Decimal("10.000"),
        Decimal("0.50"),
    )
    assert statement.total_chf == Decimal("0.50")


def test_a_gpu_energy_tariff_bills_the_account_s_kwh_rounded_half_up_to_the_cent(db):
    account, job = march_account()
    energy_tariff("0.25")
    other = make_job("eval")
    # 6 x 1.5 kWh + 3 x 0.34 kWh = 10.02 kWh; x 0.25 = 2.505 CHF: half-up 2.51 (not 2.50).
    for i in range(6):
        add_usage(job, account, MARCH + i * HOUR, **core_hours(1), gpu_energy_joules=1.5 * KWH)
    for i in range(3):
        add_usage(other, account, MARCH + i * HOUR, gpu_energy_joules=1_224_000.0)
    (statement,) = refresh()
    lines = lines_of(statement)
    energy = lines["gpu_energy"]
    assert (energy.unit, energy.quantity, energy.unit_price) == (
        "kWh",
        Decimal("10.020"),
        Decimal("0.25"),
    )
    assert energy.amount_chf == Decimal("2.51")
    assert (energy.first_hour, energy.end_hour) == (MARCH, APRIL)
    detail = {d.job.name: (d.quantity, d.hours) for d in energy.jobs.select_related("job")}
    assert detail == {"train": (Decimal("9"), 6), "eval": (Decimal("1.02"), 3)}
    assert statement.total_chf == lines["cpu"].amount_chf + Decimal("2.51")


def test_a_gpu_energy_tariff_from_mid_month_bills_only_the_hours_from_its_start(db):
    account, job = march_account()
    middle = datetime(2026, 3, 16, tzinfo=UTC)
    energy_tariff("0.30", valid_from=middle)
    hour = MARCH
    while hour < APRIL:
        add_usage(job, account, hour, gpu_energy_joules=0.5 * KWH)
        hour += HOUR
    (statement,) = refresh()
    (line,) = statement.lines.all()
    hours_billed = (APRIL - middle) // HOUR  # 16 days
    assert line.resource == "gpu_energy"
    assert (line.first_hour, line.end_hour) == (middle, APRIL)
    assert line.quantity == Decimal(hours_billed) / 2
    assert line.jobs.get().hours == hours_billed


def test_the_part_of_the_energy_from_estimated_job_hours_is_kept_on_the_line(db):
    account, job = march_account()
    energy_tariff()
    mig = make_job("mig-train")
    for i in range(4):
        add_usage(job, account, MARCH + i * HOUR, **core_hours(1), gpu_energy_joules=2 * KWH)
        add_usage(
            mig,
            account,
            MARCH + i * HOUR,
            gpu_energy_joules=0.3337 * KWH,
            gpu_energy_estimated=True,
        )
    (statement,) = refresh()
    lines = lines_of(statement)
    assert lines["gpu_energy"].quantity == Decimal("9.335")
    assert lines["gpu_energy"].estimated_quantity == Decimal("1.335")
    assert lines["cpu"].estimated_quantity == Decimal(0)


def test_a_rate_class_with_its_own_gpu_energy_tariff_is_billed_energy_and_the_others_not(db):
    make_tariffs()
    energy_tariff("0.40", rate_class="U1")
    plain = make_account("lab-a")
    classed = make_account("lab-u", cost_center="10422", rate_class="U1")
    collect_hours(MARCH, APRIL)
    for account in (plain, classed):
        job = make_job(namespace=account.name)
        add_usage(job, account, MARCH, **core_hours(1), gpu_energy_joules=3 * KWH)
    statements = {s.account.name: s for s in refresh()}
    assert set(lines_of(statements["lab-a"])) == {"cpu"}
    energy = lines_of(statements["lab-u"])["gpu_energy"]
    assert (energy.quantity, energy.amount_chf) == (Decimal("3.000"), Decimal("1.20"))


def test_the_budget_month_to_date_equals_the_statement_with_an_energy_tariff(db):
    make_tariffs()
    energy_tariff("0.25")
    account = make_account("lab-a", cost_center="10421", budget_chf=Decimal("100"))
    job = make_job()
    end = datetime(2026, 3, 11, tzinfo=UTC)
    collect_hours(MARCH, end)
    hour = MARCH
    while hour < end:
        add_usage(job, account, hour, **core_hours(0.7), gpu_energy_joules=0.4321 * KWH)
        hour += HOUR
    rollup.refresh_range(MARCH.date(), date(2026, 3, 11))
    (statement,) = refresh()
    assert lines_of(statement)["gpu_energy"].amount_chf > 0
    figures = budgets([account], datetime(2026, 3, 11, 0, 20, tzinfo=UTC))
    assert figures[account.pk].month_to_date_chf == statement.total_chf


def recollect_energy(job, hour, joules: float):
    """Collect one hour of the job again with `joules` of GPU energy, as collect_usage does."""
    usage = CollectedJob({**dict.fromkeys(QUANTITIES, 0.0), "gpu_energy_joules": joules})
    run = CollectionRun.objects.create(
        cluster=job.cluster.name, window_start=hour, window_end=hour + HOUR, started_at=hour
    )
    key = (job.namespace, job.kind, job.name)
    collected = CollectedUsage(hour, {key: usage}, {job.namespace: "10421"})
    write_hours(job.cluster, [collected], AccountResolver(job.cluster), run)


def test_energy_collected_late_for_a_closed_hour_is_an_adjustment_only_under_a_tariff(db):
    account, job = march_account()
    add_usage(job, account, MARCH + HOUR, gpu_energy_joules=1 * KWH)
    call_command("close_period", "2026-03", stdout=StringIO())
    recollect_energy(job, MARCH + HOUR, 1.5 * KWH)
    assert not Adjustment.objects.exists()  # no tariff: never billed, late or not
    # Another month, closed while a tariff was in force: the difference is billed.
    april_hour = APRIL + HOUR
    energy_tariff("0.25", valid_from=APRIL)
    collect_hours(APRIL, datetime(2026, 5, 1, tzinfo=UTC))
    add_usage(job, account, april_hour, gpu_energy_joules=1 * KWH)
    call_command("close_period", "2026-04", stdout=StringIO())
    recollect_energy(job, april_hour, 1.5 * KWH)
    (adjustment,) = Adjustment.objects.all()
    assert (adjustment.resource, adjustment.quantity) == ("gpu_energy", Decimal("0.5"))
    (statement,) = refresh(datetime(2026, 5, 1, tzinfo=UTC))
    line = statement.lines.get()
    assert (line.kind, line.quantity, line.amount_chf) == (
        "adjustment",
        Decimal("0.500"),
        Decimal("0.13"),
    )


@pytest.mark.parametrize(
    ("row", "field", "said"),
    [
        (
            "gpu_energy,kWh,0.25,request,2026-01-01,",
            "policy",
            "gpu_energy takes usage, not 'request'",
        ),
        ("gpu_energy,kWh,0.25,max,2026-01-01,", "policy", "gpu_energy takes usage, not 'max'"),
        (
            "gpu_energy,kwh,0.25,usage,2026-01-01,",
            "unit",
            "gpu_energy is priced per kWh, not 'kwh'",
        ),
        ("gpu_energy,MWh,250,usage,2026-01-01,", "unit", "gpu_energy is priced per kWh"),
        ("gpu_energy,kWh,0.25,usage,2026-01-01,K8SXXX", "activity_type", "'K8SXXX' is not one of"),
    ],
)
def test_a_bad_gpu_energy_row_is_refused_naming_line_and_field_and_nothing_is_written(
    db, tmp_path, row, field, said
):
    with pytest.raises(CommandError, match=f"line 3: {field}: {said}"):
        import_tariffs(tmp_path, "cpu,core-hour,0.05,max,2026-01-01,K8SCPU", row)
    assert not Tariff.objects.exists()


def test_a_gpu_energy_tariff_imports_with_usage_and_posts_under_the_default_activity_type(
    db, tmp_path
):
    assert "1 created" in import_tariffs(tmp_path, "gpu_energy,kWh,0.25,usage,2026-01-01,")
    tariff = Tariff.objects.get()
    assert (tariff.resource, tariff.unit, tariff.policy) == ("gpu_energy", "kWh", "usage")
    assert tariff.codes_problem() == ""  # K8SGEN in KWH, from the default settings


@pytest.mark.parametrize(
    ("setting", "value", "field"),
    [
        ("KUBEMON_SIFAC_ACTIVITY_TYPES", '{"cpu": "K8SCPU"}', "activity_type"),
        ("KUBEMON_SIFAC_UNITS", '{"cpu": "H"}', "resource"),
    ],
)
def test_a_gpu_energy_tariff_the_sifac_settings_cannot_post_is_refused_naming_the_field(
    db, tmp_path, settings, setting, value, field
):
    setattr(settings, setting, value)
    with pytest.raises(CommandError, match=f"line 2: {field}: .*gpu_energy"):
        import_tariffs(tmp_path, "gpu_energy,kWh,0.25,usage,2026-01-01,")
    assert not Tariff.objects.exists()


def test_a_gpu_energy_tariff_that_would_price_a_closed_month_is_refused(db, tmp_path):
    account, job = march_account()
    add_usage(job, account, MARCH, **core_hours(1), gpu_energy_joules=2 * KWH)
    call_command("close_period", "2026-03", stdout=StringIO())
    closed = list(Statement.objects.get().lines.values())
    with pytest.raises(
        CommandError,
        match=r"line 2: valid_from: from 2026-03-01 until the next gpu_energy tariff it would "
        r"price closed period 2026-03",
    ):
        import_tariffs(tmp_path, "gpu_energy,kWh,0.25,usage,2026-03-01,")
    assert "1 created" in import_tariffs(tmp_path, "gpu_energy,kWh,0.25,usage,2026-04-01,")
    assert list(Statement.objects.get(period__month=MARCH.date()).lines.values()) == closed


def test_gpu_energy_leaves_account_names_the_room_they_had_in_the_item_text():
    others = [r for r in RESOURCES if r != "gpu_energy"]
    assert sap_fields.account_name_length(RESOURCES) == sap_fields.account_name_length(others)
    assert sap_fields.account_name_length(RESOURCES) == 19  # README, docs/billing.md


def energy_form(**fields) -> dict:
    return {
        "resource": "gpu_energy",
        "unit": "kWh",
        "price_chf": "0.25",
        "policy": "usage",
        "valid_from_0": "2026-01-15",
        "valid_from_1": "00:00:00",
        "activity_type": "",
        **fields,
    }


def test_the_admin_adds_a_gpu_energy_tariff_and_refuses_another_policy_on_its_field(
    admin_client,
):
    answer = admin_client.post("/admin/billing/tariff/add/", energy_form(policy="request"))
    assert answer.status_code == 200  # the form again, with the error on the policy
    errors = answer.context["adminform"].form.errors
    assert errors == {"policy": ["gpu_energy takes usage, not 'request'"]}
    assert not Tariff.objects.exists()
    answer = admin_client.post("/admin/billing/tariff/add/", energy_form())
    assert answer.status_code == 302
    assert Tariff.objects.get().resource == "gpu_energy"
