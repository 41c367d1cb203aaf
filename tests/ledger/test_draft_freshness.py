"""Draft statements are recomputed by whoever changes what they are made of, never by a read.

Collection refreshes the open months of its window and those billing its late hours'
adjustments; the imports and the admin refresh every open month (billing/ledger/drafts.py).
`drafts_are_current` tells, reading only, whether stored drafts are older than their inputs.
"""

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.utils import timezone

from billing.ledger.drafts import drafts_are_current, refresh_open_drafts, refresh_open_periods
from billing.ledger.statements import refresh_statements
from billing.models import (
    Adjustment,
    CollectedHour,
    HourlyUsage,
    Period,
    Statement,
    StatementLine,
    Tariff,
)
from tests.fixtures.billing_rows import (
    APRIL,
    HOUR,
    MARCH,
    collect_hours,
    core_hours,
    make_job,
    march_account,
)

TARIFF_HEADER = "resource,unit,price_chf,policy,valid_from,activity_type\n"
ACCOUNT_HEADER = "account,receiver_type,receiver,cluster,namespace,valid_from,valid_until\n"


@pytest.fixture
def march(db):
    account, job = march_account()
    HourlyUsage.objects.create(job=job, hour=MARCH, account=account, **core_hours(10))
    period = Period.objects.create(month=MARCH.date())
    refresh_statements(period, timezone.now())
    return period, account, job


def total(period) -> Decimal:
    return Statement.objects.get(period=period).total_chf


def current(period) -> bool:
    return drafts_are_current(period.month, period)


def test_drafts_are_current_until_an_hour_is_collected_again_and_collection_refreshes_them(
    march,
):
    period, account, job = march
    assert current(period)
    HourlyUsage.objects.filter(job=job).update(cpu_core_seconds=20 * 3600)
    CollectedHour.objects.filter(hour=MARCH).update(collected_at=timezone.now())
    assert not current(period)
    assert refresh_open_drafts(MARCH, MARCH + HOUR, timezone.now()) == [period]
    assert current(period)
    assert total(period) == Decimal("1.00")


def test_a_tariff_saved_behind_the_writers_back_makes_the_drafts_out_of_date(march):
    period, _, _ = march
    assert total(period) == Decimal("0.50")
    cpu = Tariff.objects.get(resource="cpu")
    cpu.price_chf = Decimal("0.10")
    cpu.save()
    assert not current(period)
    assert total(period) == Decimal("0.50")  # nothing recomputes them but a writer
    assert refresh_open_periods(timezone.now()) == []
    assert current(period)
    assert total(period) == Decimal("1.00")


def test_checking_the_drafts_reads_four_rows_and_writes_nothing(march, django_assert_num_queries):
    period, _, _ = march
    computed = Statement.objects.get(period=period).computed_at
    # The oldest draft, the last collected hour, adjustment and tariff change.
    with django_assert_num_queries(4):
        assert current(period)
    assert Statement.objects.get(period=period).computed_at == computed


def test_a_month_with_usage_but_no_drafts_is_not_current_until_a_writer_computes_them(db):
    account, job = march_account()
    HourlyUsage.objects.create(job=job, hour=MARCH, account=account, **core_hours(4))
    assert not drafts_are_current(MARCH.date(), None)
    period = Period.objects.create(month=MARCH.date())
    assert not current(period)
    assert not Statement.objects.exists()
    assert refresh_open_periods(timezone.now(), [MARCH.date()]) == []
    assert current(period)
    assert total(period) == Decimal("0.20")


def test_a_month_with_nothing_to_bill_is_current_without_a_period_or_drafts(db):
    march_account()
    assert drafts_are_current(date(2026, 5, 1), None)
    assert drafts_are_current(MARCH.date(), Period.objects.create(month=MARCH.date()))


def test_a_closed_month_is_current_whatever_changed_since(march):
    period, _, job = march
    Period.objects.filter(pk=period.pk).update(status=Period.Status.CLOSED)
    period.refresh_from_db()
    HourlyUsage.objects.filter(job=job).update(cpu_core_seconds=0)
    CollectedHour.objects.filter(hour=MARCH).update(collected_at=timezone.now())
    assert current(period)


def test_collection_refreshes_the_open_months_it_touched_only(db):
    march_account()
    open_march = Period.objects.create(month=MARCH.date())
    april = Period.objects.create(month=date(2026, 4, 1))
    closed_may = Period.objects.create(month=date(2026, 5, 1), status="closed")
    Period.objects.create(month=date(2026, 6, 1))
    collect_hours(MARCH, MARCH + timedelta(days=31))
    start, end = datetime(2026, 3, 31, 22, tzinfo=UTC), datetime(2026, 4, 1, 2, tzinfo=UTC)
    refreshed = refresh_open_drafts(start, end, timezone.now())
    assert [p.pk for p in refreshed] == [open_march.pk, april.pk]
    assert closed_may.pk not in {p.pk for p in refreshed}


def test_collecting_a_closed_hour_again_refreshes_the_open_month_billing_its_adjustment(march):
    period, account, job = march
    period.status = Period.Status.CLOSED
    period.save()
    april = Period.objects.create(month=APRIL.date())
    Adjustment.objects.create(
        period=april,
        source_hour=MARCH,
        job=job,
        account=account,
        resource="cpu",
        tariff=Tariff.objects.get(resource="cpu"),
        quantity=Decimal("4"),
        reason="late collection of epfl-1 2026-03-01 00:00Z (closed period 2026-03)",
        created_at=timezone.now(),
    )
    # The run's window is the closed March hour only; April is touched by its adjustment.
    assert refresh_open_drafts(MARCH, MARCH + HOUR, timezone.now()) == [april]
    line = Statement.objects.get(period=april).lines.get()
    assert (line.kind, line.amount_chf) == (StatementLine.Kind.ADJUSTMENT, Decimal("0.20"))
    assert current(april)


def test_a_month_that_cannot_be_priced_keeps_its_drafts_and_is_named_the_others_refresh(march):
    period, account, _ = march
    april = Period.objects.create(month=APRIL.date())
    HourlyUsage.objects.create(
        job=make_job("gpu", namespace="lab-a"), hour=APRIL, account=account, gpu_seconds=3600.0
    )
    Tariff.objects.filter(resource="gpu").update(valid_from=datetime(2026, 5, 1, tzinfo=UTC))
    Tariff.objects.filter(resource="cpu").update(price_chf=Decimal("0.10"))
    problems = refresh_open_periods(timezone.now())
    assert problems == [
        "draft statements of 2026-04 not recomputed: no tariff for gpu at "
        "2026-04-01T00:00:00+00:00; import one with import_tariffs"
    ]
    assert total(period) == Decimal("1.00")  # March was recomputed all the same
    assert not Statement.objects.filter(period=april).exists()


def test_a_tariff_import_recomputes_the_open_months_drafts(march, tmp_path):
    period, _, _ = march
    f = tmp_path / "tariffs.csv"
    f.write_text(TARIFF_HEADER + "cpu,core-hour,0.10,max,2026-01-01,\n")
    call_command("import_tariffs", str(f))
    assert total(period) == Decimal("1.00")
    assert current(period)


def test_a_tariff_import_meeting_usage_without_a_tariff_stands_with_a_warning(
    march, tmp_path, capsys
):
    period, account, _ = march
    # GPU usage of March that no tariff prices (its tariff moved to May behind the back).
    Tariff.objects.filter(resource="gpu").update(valid_from=datetime(2026, 5, 1, tzinfo=UTC))
    HourlyUsage.objects.create(
        job=make_job("gpu", namespace="lab-a"), hour=MARCH, account=account, gpu_seconds=3600.0
    )
    f = tmp_path / "tariffs.csv"
    f.write_text(TARIFF_HEADER + "cpu,core-hour,0.10,max,2026-01-01,\n")
    call_command("import_tariffs", str(f))
    captured = capsys.readouterr()
    assert "1 changed" in captured.out
    assert "warning: draft statements of 2026-03 not recomputed: no tariff for gpu" in captured.err
    assert Tariff.objects.get(resource="cpu").price_chf == Decimal("0.10")
    assert total(period) == Decimal("0.50")  # the drafts as they were, and said to be old
    assert not current(period)


def test_an_account_import_that_changes_a_receiver_reaches_the_drafts(march, tmp_path):
    period, _, _ = march
    assert Statement.objects.get(period=period).receiver == "10421"
    f = tmp_path / "accounts.csv"
    f.write_text(ACCOUNT_HEADER + "lab-a,order,500000123,epfl-1,lab-a,2026-01-01,\n")
    call_command("import_accounts", str(f))
    statement = Statement.objects.get(period=period)
    assert (statement.receiver_type, statement.receiver) == ("order", "500000123")


def test_an_import_that_changes_nothing_recomputes_nothing(march, tmp_path):
    period, _, _ = march
    computed = Statement.objects.get(period=period).computed_at
    f = tmp_path / "tariffs.csv"
    f.write_text(TARIFF_HEADER + "cpu,core-hour,0.05,max,2026-01-01,\n")
    call_command("import_tariffs", str(f))
    assert Statement.objects.get(period=period).computed_at == computed
