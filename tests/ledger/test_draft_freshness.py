"""Draft statements are recomputed when what they are made of changes, not on every read."""

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from billing.ledger.statements import (
    current_statements,
    drafts_are_current,
    refresh_open_drafts,
    refresh_statements,
)
from billing.models import CollectedHour, HourlyUsage, Period, Statement, Tariff
from tests.fixtures.billing_rows import MARCH, collect_hours, core_hours, march_account


@pytest.fixture
def march(db):
    account, job = march_account()
    HourlyUsage.objects.create(job=job, hour=MARCH, account=account, **core_hours(10))
    period = Period.objects.create(month=MARCH.date())
    refresh_statements(period, timezone.now())
    return period, account, job


def total(period) -> Decimal:
    return Statement.objects.get(period=period).total_chf


def test_drafts_are_current_until_an_hour_is_collected_again(march):
    period, account, job = march
    assert drafts_are_current(period)
    HourlyUsage.objects.filter(job=job).update(cpu_core_seconds=20 * 3600)
    CollectedHour.objects.filter(hour=MARCH).update(collected_at=timezone.now())
    assert not drafts_are_current(period)
    current_statements(period, timezone.now())
    assert drafts_are_current(period)
    assert total(period) == Decimal("1.00")


def test_a_saved_tariff_makes_the_drafts_out_of_date(march):
    period, _, _ = march
    assert total(period) == Decimal("0.50")
    cpu = Tariff.objects.get(resource="cpu")
    cpu.price_chf = Decimal("0.10")
    cpu.save()
    assert not drafts_are_current(period)
    assert total(current_statements(period, timezone.now())) == Decimal("1.00")


def test_reading_current_drafts_writes_nothing(march, django_assert_num_queries):
    period, _, _ = march
    computed = Statement.objects.get(period=period).computed_at
    # The oldest draft, the last collected hour, adjustment and tariff change.
    with django_assert_num_queries(4):
        current_statements(period, timezone.now())
    assert Statement.objects.get(period=period).computed_at == computed


def test_a_period_without_drafts_gets_them_when_read(db):
    account, job = march_account()
    HourlyUsage.objects.create(job=job, hour=MARCH, account=account, **core_hours(4))
    period = Period.objects.create(month=MARCH.date())
    assert not drafts_are_current(period)
    assert total(current_statements(period, timezone.now())) == Decimal("0.20")


def test_collection_refreshes_the_open_months_it_touched_only(db):
    march_account()
    open_march = Period.objects.create(month=MARCH.date())
    april = Period.objects.create(month=date(2026, 4, 1))
    closed_may = Period.objects.create(month=date(2026, 5, 1), status="closed")
    collect_hours(MARCH, MARCH + timedelta(days=31))
    start, end = datetime(2026, 3, 31, 22, tzinfo=UTC), datetime(2026, 4, 1, 2, tzinfo=UTC)
    refreshed = refresh_open_drafts(start, end, timezone.now())
    assert sorted(p.pk for p in refreshed) == [open_march.pk, april.pk]
    assert closed_may.pk not in {p.pk for p in refreshed}
