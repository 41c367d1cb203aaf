"""Pricing job-hours: units, policies, tariffs in force per hour, Decimal half-up rounding."""

from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from billing.ledger.pricing import CENT
from billing.ledger.statements import PricingError, refresh_statements
from billing.models import Period, Tariff
from billing.resources import GIB
from tests.fixtures.billing_rows import (
    HOUR,
    MARCH,
    add_usage,
    core_hours,
    gib_hours,
    make_account,
    make_job,
    make_tariffs,
    march_account,
)


def draft(month=MARCH):
    period, _ = Period.objects.get_or_create(month=month.date())
    return refresh_statements(period, timezone.now())


def lines_by_resource(statement) -> dict:
    return {line.resource: line for line in statement.lines.all()}


def test_a_line_is_its_quantity_times_the_price_rounded_half_up(db):
    account, job = march_account()
    Tariff.objects.filter(resource="cpu").update(price_chf=Decimal("1"))
    # 0.125 core-hour at 1 CHF is 0.125 CHF: half-up gives 0.13, banker's rounding 0.12.
    add_usage(job, account, MARCH, cpu_core_seconds=450.0)
    (statement,) = draft()
    line = lines_by_resource(statement)["cpu"]
    assert line.quantity == Decimal("0.125")
    assert line.amount_chf == Decimal("0.13")
    assert line.amount_chf == (line.quantity * line.unit_price).quantize(CENT, ROUND_HALF_UP)


def test_every_line_of_many_hours_is_quantity_times_price_to_the_cent(db):
    account, job = march_account()
    for i in range(50):
        add_usage(
            job,
            account,
            MARCH + i * HOUR,
            cpu_core_seconds=1234.567 * (i + 1),
            memory_byte_seconds=GIB * 3600 * 0.37 * i,
            network_tx_bytes=GIB * 0.0731 * i,
        )
    (statement,) = draft()
    assert statement.lines.count() == 3
    for line in statement.lines.all():
        assert line.amount_chf == (line.quantity * line.unit_price).quantize(CENT, ROUND_HALF_UP)
    assert statement.total_chf == sum(line.amount_chf for line in statement.lines.all())


def test_a_tariff_change_mid_month_prices_each_hour_at_its_own_tariff(db):
    account, job = march_account()
    change = datetime(2026, 3, 15, tzinfo=UTC)
    Tariff.objects.create(
        resource="cpu", unit="core-hour", price_chf=Decimal("0.08"), policy="max", valid_from=change
    )
    add_usage(job, account, change - HOUR, **core_hours(10))
    add_usage(job, account, change, **core_hours(4))
    add_usage(job, account, change + 5 * HOUR, **core_hours(6))
    (statement,) = draft()
    cpu = statement.lines.filter(resource="cpu").order_by("first_hour")
    assert [(line.quantity, line.unit_price, line.amount_chf) for line in cpu] == [
        (Decimal("10.000"), Decimal("0.05"), Decimal("0.50")),
        (Decimal("10.000"), Decimal("0.08"), Decimal("0.80")),
    ]
    assert [(line.first_hour, line.end_hour) for line in cpu] == [
        (MARCH, change),
        (change, datetime(2026, 4, 1, tzinfo=UTC)),
    ]


def test_the_max_policy_takes_the_larger_of_usage_and_request_per_job_hour(db):
    account, job = march_account()
    add_usage(job, account, MARCH, cpu_core_seconds=2 * 3600.0, cpu_request_core_seconds=3600.0)
    add_usage(
        job, account, MARCH + HOUR, cpu_core_seconds=3600.0, cpu_request_core_seconds=3 * 3600.0
    )
    (statement,) = draft()
    # Per job-hour 2 + 3; the larger of the monthly sums would give only 4.
    assert lines_by_resource(statement)["cpu"].quantity == Decimal("5.000")


@pytest.mark.parametrize(
    ("policy", "expected"), [("usage", Decimal("1.500")), ("request", Decimal("4.000"))]
)
def test_the_usage_and_request_policies_bill_their_own_quantity(db, policy, expected):
    account, job = march_account()
    Tariff.objects.filter(resource="memory").update(policy=policy)
    add_usage(
        job,
        account,
        MARCH,
        memory_byte_seconds=1.5 * GIB * 3600,
        memory_request_byte_seconds=4 * GIB * 3600,
    )
    (statement,) = draft()
    assert lines_by_resource(statement)["memory"].quantity == expected


def test_each_resource_is_billed_in_its_unit(db):
    account, job = march_account()
    add_usage(
        job,
        account,
        MARCH,
        gpu_seconds=2 * 3600.0,
        gpu_memory_mib_seconds=3 * 1024 * 3600.0,
        storage_byte_seconds=10 * GIB * 3600.0,
        network_tx_bytes=7 * GIB,
        **gib_hours(6),
    )
    lines = lines_by_resource(draft()[0])
    assert lines["gpu"].quantity == Decimal("2.000")
    assert lines["gpu_memory"].quantity == Decimal("3.000")
    assert lines["memory"].quantity == Decimal("6.000")
    assert lines["network_tx"].quantity == Decimal("7.000")
    # 10 GiB for one hour of March's 744 hours is 10/744 GiB-month.
    assert lines["storage"].quantity == (Decimal(10) / 744).quantize(Decimal("0.001"))


def test_storage_for_every_hour_of_a_month_is_one_month_whatever_its_length(db):
    make_tariffs()
    account, job = make_account(), make_job()
    february = datetime(2026, 2, 1, tzinfo=UTC)
    for i in range(28 * 24):
        add_usage(job, account, february + i * HOUR, storage_byte_seconds=GIB * 3600.0)
    (statement,) = draft(february)
    assert lines_by_resource(statement)["storage"].quantity == Decimal("1.000")


def test_usage_that_no_tariff_prices_is_refused_naming_resource_and_hour(db):
    account, job = make_account(), make_job()
    add_usage(job, account, MARCH, **core_hours(1))
    with pytest.raises(PricingError, match="no tariff for cpu at 2026-03-01T00:00:00"):
        draft()


@pytest.mark.parametrize(
    ("resource", "unit", "policy", "field"),
    [
        ("gpu", "GPU-hour", "usage", "policy"),
        ("storage", "GiB-month", "max", "policy"),
        ("cpu", "GiB-hour", "usage", "unit"),
        ("disk", "GiB", "usage", "resource"),
    ],
)
def test_a_tariff_with_the_wrong_unit_or_policy_is_refused(db, resource, unit, policy, field):
    tariff = Tariff(
        resource=resource, unit=unit, price_chf=Decimal(1), policy=policy, valid_from=MARCH
    )
    with pytest.raises(ValidationError) as refused:
        tariff.full_clean()
    assert field in refused.value.message_dict
