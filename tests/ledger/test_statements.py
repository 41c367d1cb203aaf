"""Statements: one per account per month, totals, per-job detail, missing hours, sources."""

from datetime import UTC, datetime
from decimal import Decimal

from django.utils import timezone

from billing.ledger.statements import line_sources, refresh_statements
from billing.models import Period, Statement, StatementJob
from tests.fixtures.billing_rows import (
    APRIL,
    HOUR,
    MARCH,
    add_usage,
    collect_hours,
    core_hours,
    gib_hours,
    make_account,
    make_job,
    make_tariffs,
    march_account,
)


def refresh(month=MARCH):
    period, _ = Period.objects.get_or_create(month=month.date())
    return refresh_statements(period, timezone.now())


def test_each_account_gets_one_statement_whose_total_is_the_sum_of_its_lines(db):
    account, job = march_account()
    other = make_account("lab-b", internal_order="500000123")
    other_job = make_job("serve", namespace="lab-b")
    for i in range(30):
        add_usage(job, account, MARCH + i * HOUR, **core_hours(1.37 * i), **gib_hours(2.2))
        add_usage(other_job, other, MARCH + i * HOUR, network_tx_bytes=1.1e9 * i)
    statements = refresh()
    assert [s.account.name for s in statements] == ["lab-a", "lab-b"]
    for statement in statements:
        assert statement.total_chf == sum(line.amount_chf for line in statement.lines.all())
        assert statement.total_chf > 0
    assert statements[1].receiver_type == "order"
    assert statements[1].receiver == "500000123"


def test_the_per_job_detail_adds_up_to_each_line(db):
    account, job = march_account()
    second = make_job("eval")
    for i in range(10):
        add_usage(job, account, MARCH + i * HOUR, **core_hours(0.3331))
        add_usage(second, account, MARCH + i * HOUR, **core_hours(1.25))
    (statement,) = refresh()
    (line,) = statement.lines.all()
    detail = {d.job.name: d for d in line.jobs.select_related("job")}
    assert detail["train"].hours == 10
    assert detail["eval"].quantity == Decimal("12.5")
    assert abs(sum(d.quantity for d in detail.values()) - line.quantity) <= Decimal("0.0005")


def test_a_draft_is_recomputed_in_place_when_usage_changes(db):
    account, job = march_account()
    add_usage(job, account, MARCH, **core_hours(1))
    (first,) = refresh()
    add_usage(job, account, MARCH + HOUR, **core_hours(1))
    (second,) = refresh()
    assert second.pk == first.pk
    assert second.lines.get().quantity == Decimal("2.000")
    assert StatementJob.objects.count() == 1


def test_an_account_without_usage_any_more_loses_its_draft(db):
    account, job = march_account()
    usage = add_usage(job, account, MARCH, **core_hours(1))
    refresh()
    usage.delete()
    assert refresh() == []
    assert not Statement.objects.exists()


def test_hours_not_collected_and_flagged_hours_are_listed_on_the_statement(db):
    make_tariffs()
    account, job = make_account(), make_job()
    add_usage(job, account, MARCH, **core_hours(1))
    collect_hours(MARCH, datetime(2026, 3, 10, tzinfo=UTC))
    collect_hours(
        datetime(2026, 3, 10, tzinfo=UTC),
        datetime(2026, 3, 10, 2, tzinfo=UTC),
        flagged_reason="gap",
    )
    collect_hours(datetime(2026, 3, 10, 5, tzinfo=UTC), APRIL)
    (statement,) = refresh()
    assert statement.missing_hours == {
        "epfl-1": [["2026-03-10T02:00:00+00:00", "2026-03-10T05:00:00+00:00"]]
    }
    assert [f["hour"] for f in statement.flagged_hours["epfl-1"]] == [
        "2026-03-10T00:00:00+00:00",
        "2026-03-10T01:00:00+00:00",
    ]
    assert statement.flagged_hours["epfl-1"][0]["reason"] == "gap"


def test_a_line_traces_back_to_its_job_hours_and_the_runs_that_collected_them(db):
    make_tariffs()
    account, job = make_account(), make_job()
    first = collect_hours(MARCH, MARCH + 12 * HOUR)
    second = collect_hours(MARCH + 12 * HOUR, MARCH + 24 * HOUR)
    collect_hours(MARCH + 24 * HOUR, APRIL)  # collected no hour of the line's usage
    for i in range(10, 14):
        add_usage(job, account, MARCH + i * HOUR, **core_hours(1))
    (statement,) = refresh()
    sources = line_sources(statement.lines.get())
    assert sources["job_hours"] == 4
    assert [r["id"] for r in sources["runs"]] == [first.pk, second.pk]
    assert sources["runs"][0]["queries"] == 12


def test_lines_computed_before_runs_were_kept_get_them_from_the_migration(db):
    from importlib import import_module

    from django.apps import apps

    make_tariffs()
    account, job = make_account(), make_job()
    first = collect_hours(MARCH, MARCH + 12 * HOUR)
    collect_hours(MARCH + 12 * HOUR, APRIL)
    add_usage(job, account, MARCH + 2 * HOUR, **core_hours(1))
    (statement,) = refresh()
    line = statement.lines.get()
    assert line.runs == [first.pk]
    line.runs = []
    line.save()
    import_module("billing.migrations.0009_statement_line_runs").fill_runs(apps, None)
    line.refresh_from_db()
    assert line.runs == [first.pk]
