"""Closing a month: refused with hours missing, --force, no-op twice, late data as adjustments."""

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from billing.ledger.periods import PeriodError, close_period
from billing.ledger.statements import refresh_statements
from billing.ledger.tariffs import check_tariff
from billing.models import (
    Adjustment,
    HourlyUsage,
    Period,
    Statement,
    StatementLine,
    Tariff,
)
from billing.utc import parse_month
from tests.fixtures.billing_rows import (
    APRIL,
    HOUR,
    MARCH,
    add_usage,
    collect_hours,
    core_hours,
    make_account,
    make_job,
    make_tariffs,
    march_account,
    recollect,
)


def close(month="2026-03", *args):
    call_command("close_period", month, *args)
    return Period.objects.get(month=parse_month(month, APRIL))


def test_closing_a_month_with_hours_not_collected_is_refused_naming_them(db):
    make_tariffs()
    collect_hours(MARCH, datetime(2026, 3, 20, tzinfo=UTC))
    collect_hours(datetime(2026, 3, 20, 3, tzinfo=UTC), APRIL)
    with pytest.raises(CommandError, match="epfl-1: 2026-03-20T00:00:00\\+00:00–2026-03-20T03"):
        close()
    assert not Period.objects.filter(status="closed").exists()


def test_force_closes_anyway_and_the_statements_list_the_missing_hours(db):
    make_tariffs()
    account, job = make_account(), make_job()
    add_usage(job, account, MARCH, **core_hours(2))
    collect_hours(MARCH, datetime(2026, 3, 31, tzinfo=UTC))
    period = close("2026-03", "--force")
    assert period.is_closed and period.forced
    statement = Statement.objects.get(period=period)
    assert statement.missing_hours["epfl-1"] == [
        ["2026-03-31T00:00:00+00:00", "2026-04-01T00:00:00+00:00"]
    ]


def test_closing_twice_changes_nothing(db, capsys):
    account, job = march_account()
    add_usage(job, account, MARCH, **core_hours(2))
    first = close()
    computed = Statement.objects.get().computed_at
    second = close()
    assert second.closed_at == first.closed_at
    assert Statement.objects.get().computed_at == computed
    assert "already closed" in capsys.readouterr().out


def test_a_month_that_has_not_ended_cannot_be_closed(db):
    with pytest.raises(PeriodError, match="has not ended"):
        close_period(date(2026, 3, 1), True, datetime(2026, 3, 31, 23, tzinfo=UTC))


@pytest.mark.parametrize("bad", ["2026-13", "March", "2026-3", ""])
def test_a_bad_period_is_refused_naming_it(db, bad):
    with pytest.raises(CommandError, match="period: "):
        close(bad)


def test_previous_names_the_month_before_now():
    assert f"{parse_month('previous', datetime(2026, 1, 5, tzinfo=UTC)):%Y-%m}" == "2025-12"


def test_recollecting_a_closed_month_never_edits_it(db):
    account, job = march_account()
    add_usage(job, account, MARCH + HOUR, **core_hours(2))
    close()
    before = list(HourlyUsage.objects.values())
    recollect(job, MARCH + HOUR, 5 * 3600.0)
    assert list(HourlyUsage.objects.values()) == before
    statement = Statement.objects.get(period__month=MARCH.date())
    assert statement.lines.get().quantity == Decimal("2.000")


def test_a_late_recollection_becomes_an_adjustment_in_the_next_open_period(db):
    account, job = march_account()
    add_usage(job, account, MARCH + HOUR, **core_hours(2))
    close()
    run = recollect(job, MARCH + HOUR, 5 * 3600.0)
    (adjustment,) = Adjustment.objects.all()
    assert adjustment.period.month == APRIL.date()
    assert adjustment.source_hour == MARCH + HOUR
    assert adjustment.quantity == Decimal(3)
    assert adjustment.run == run
    (statement,) = refresh_statements(adjustment.period, datetime(2026, 4, 2, tzinfo=UTC))
    line = statement.lines.get()
    assert line.kind == StatementLine.Kind.ADJUSTMENT
    assert (line.quantity, line.amount_chf) == (Decimal("3.000"), Decimal("0.15"))
    assert "late collection of epfl-1 2026-03-01 01:00Z (closed period 2026-03)" in line.reason
    assert line.first_hour == MARCH + HOUR


def test_collecting_the_same_late_hour_again_adds_no_second_adjustment(db):
    account, job = march_account()
    add_usage(job, account, MARCH + HOUR, **core_hours(2))
    close()
    recollect(job, MARCH + HOUR, 5 * 3600.0)
    recollect(job, MARCH + HOUR, 5 * 3600.0)
    recollect(job, MARCH + HOUR, 4 * 3600.0)
    assert sorted(a.quantity for a in Adjustment.objects.all()) == [Decimal(-1), Decimal(3)]


def test_an_adjustment_skips_a_next_month_that_is_closed_too(db):
    account, job = march_account()
    add_usage(job, account, MARCH, **core_hours(1))
    close()
    collect_hours(APRIL, datetime(2026, 5, 1, tzinfo=UTC))
    close("2026-04")
    recollect(job, MARCH, 2 * 3600.0)
    assert Adjustment.objects.get().period.month == datetime(2026, 5, 1, tzinfo=UTC).date()


def test_a_tariff_inside_a_closed_period_is_refused(db):
    march_account()
    close()
    tariff = Tariff(
        resource="cpu",
        unit="core-hour",
        price_chf=Decimal(9),
        policy="usage",
        valid_from=datetime(2026, 3, 15, tzinfo=UTC),
    )
    with pytest.raises(Exception, match="valid_from.*closed period 2026-03"):
        check_tariff(tariff)


def test_a_tariff_that_priced_a_closed_period_cannot_change(db):
    account, job = march_account()
    add_usage(job, account, MARCH, **core_hours(1))
    close()
    cpu = Tariff.objects.get(resource="cpu")
    cpu.price_chf = Decimal(9)
    with pytest.raises(Exception, match="priced a closed period"):
        check_tariff(cpu)


def test_a_new_tariff_that_would_reach_into_a_closed_period_is_refused(db):
    march_account()
    close()
    tariff = Tariff(
        resource="cpu",
        unit="core-hour",
        price_chf=Decimal(9),
        policy="usage",
        valid_from=datetime(2026, 2, 1, tzinfo=UTC),
    )
    with pytest.raises(Exception, match="would price closed period 2026-03"):
        check_tariff(tariff)
    tariff.valid_from = APRIL
    check_tariff(tariff)


def test_importing_the_tariffs_again_after_a_close_changes_nothing(db, tmp_path):
    call_command("import_tariffs", "tests/data/tariffs.csv")
    collect_hours(MARCH, APRIL)
    close()
    before = list(Tariff.objects.values())
    call_command("import_tariffs", "tests/data/tariffs.csv")
    assert list(Tariff.objects.values()) == before
    changed = tmp_path / "t.csv"
    changed.write_text(
        "resource,unit,price_chf,policy,valid_from,activity_type\n"
        "cpu,core-hour,0.07,max,2026-03-15T00:00:00Z,K8SCPU\n"
    )
    with pytest.raises(CommandError, match="line 2: valid_from: .*closed period 2026-03"):
        call_command("import_tariffs", str(changed))
    assert list(Tariff.objects.values()) == before
