"""Cost estimates of the pages (billing/ledger/costs.py): the roll-up at the day's tariffs."""

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from billing.ledger.costs import COST_FIELDS, RATE_CLASS, chf, day_cost, total_cost
from billing.ledger.pricing import Tariffs
from billing.models import Tariff
from billing.resources import GIB, billed_field

JAN = datetime(2026, 1, 1, tzinfo=UTC)


def tariffs(*specs) -> Tariffs:
    """Tariffs from (resource, unit, price, policy, valid_from) tuples; nothing saved."""
    return Tariffs(
        Tariff(resource=r, unit=u, price_chf=Decimal(p), policy=pol, valid_from=start)
        for r, u, p, pol, start in specs
    )


def cpu(policy: str, price="0.05", start=JAN):
    return ("cpu", "core-hour", price, policy, start)


def memory(policy: str, price="0.005", start=JAN):
    return ("memory", "GiB-hour", price, policy, start)


# One day of one group: 2 core-hours used of 4 requested, 5 core-hours by max(usage,
# request) per job-hour (a job used more than it asked in some hours); memory likewise.
ROW = {
    "cpu_core_seconds": 2 * 3600.0,
    "cpu_request_core_seconds": 4 * 3600.0,
    "cpu_max_core_seconds": 5 * 3600.0,
    "memory_byte_seconds": 10 * GIB * 3600.0,
    "memory_request_byte_seconds": 16 * GIB * 3600.0,
    "memory_max_byte_seconds": 20 * GIB * 3600.0,
    "gpu_seconds": 3 * 3600.0,
    "gpu_memory_mib_seconds": 2 * 1024 * 3600.0,
    "storage_byte_seconds": 0.0,
    "network_rx_bytes": 4 * GIB,
    "network_tx_bytes": 3 * GIB,
    "gpu_energy_joules": 2 * 3.6e6,
}


@pytest.mark.parametrize(
    "policy, core_hours, gib_hours",
    [("usage", 2, 10), ("request", 4, 16), ("max", 5, 20)],
)
def test_day_cost_bills_what_each_policy_names(policy, core_hours, gib_hours):
    costs = day_cost(ROW, date(2026, 3, 9), tariffs(cpu(policy), memory(policy)))
    assert costs == {
        "cpu": Decimal(core_hours) * Decimal("0.05"),
        "memory": Decimal(gib_hours) * Decimal("0.005"),
    }


def test_day_cost_of_the_other_resources_and_their_units():
    specs = [
        ("gpu", "GPU-hour", "1.20", "request", JAN),
        ("gpu_memory", "GiB-hour", "0.01", "usage", JAN),
        ("network_rx", "GiB", "0", "usage", JAN),
        ("network_tx", "GiB", "0.02", "usage", JAN),
        ("gpu_energy", "kWh", "0.25", "usage", JAN),
    ]
    costs = day_cost(ROW, date(2026, 3, 9), tariffs(*specs))
    assert costs == {
        "gpu": Decimal("3.60"),
        "gpu_memory": Decimal("0.02"),
        "network_rx": Decimal(0),
        "network_tx": Decimal("0.06"),
        "gpu_energy": Decimal("0.50"),
    }


def test_a_resource_without_a_tariff_costs_nothing_and_a_missing_sum_is_zero():
    costs = day_cost({"cpu_core_seconds": 3600.0}, date(2026, 3, 9), tariffs(cpu("max")))
    assert costs == {"cpu": Decimal(0)}  # no cpu_max_core_seconds in the row: zero
    assert day_cost(ROW, date(2026, 3, 9), tariffs()) == {}


def test_billed_fields_and_cost_fields():
    assert billed_field("cpu", "max") == "cpu_max_core_seconds"
    assert billed_field("memory", "request") == "memory_request_byte_seconds"
    assert billed_field("gpu", "request") == "gpu_seconds"
    assert billed_field("storage", "usage") == "storage_byte_seconds"
    assert set(COST_FIELDS) == set(ROW)


def storage(price="0.03"):
    return ("storage", "GiB-month", price, "usage", JAN)


@pytest.mark.parametrize(
    "day, hours_in_month", [(date(2026, 2, 10), 28 * 24), (date(2026, 3, 10), 31 * 24)]
)
def test_storage_is_a_gib_month_prorated_over_its_months_hours(day, hours_in_month):
    # 1 GiB kept for a whole month costs the month's price, whatever the month's length.
    month = {"storage_byte_seconds": GIB * 3600.0 * hours_in_month}
    assert day_cost(month, day, tariffs(storage()))["storage"] == Decimal("0.03")


def test_a_day_of_storage_costs_more_in_february_than_in_march():
    day_of_gib = {"storage_byte_seconds": GIB * 3600.0 * 24}
    feb = day_cost(day_of_gib, date(2026, 2, 10), tariffs(storage()))["storage"]
    march = day_cost(day_of_gib, date(2026, 3, 10), tariffs(storage()))["storage"]
    assert feb == Decimal("0.03") / 28
    assert march == Decimal("0.03") / 31
    assert feb > march
    # A leap February has a day more.
    leap = day_cost(day_of_gib, date(2028, 2, 10), tariffs(storage()))["storage"]
    assert leap == Decimal("0.03") / 29


def test_the_total_is_rounded_to_the_cent_once_half_up():
    t = tariffs(cpu("usage"))
    # 2.5 core-hours at 0.05: 0.125, half-up to 0.13.
    rows = [{"day": date(2026, 3, 9), RATE_CLASS: "", "cpu_core_seconds": 2.5 * 3600}]
    assert total_cost(rows, t) == Decimal("0.13")
    # Three days of 0.004 each: rounded once, 0.012 makes 0.01 (not three times 0.00).
    rows = [{"day": date(2026, 3, d), RATE_CLASS: "", "cpu_core_seconds": 288.0} for d in (1, 2, 3)]
    assert total_cost(rows, t) == Decimal("0.01")
    assert total_cost([], t) == Decimal("0.00")
    assert chf(Decimal("0.005")) == Decimal("0.01")
    assert chf(Decimal("-0.005")) == Decimal("-0.01")


def test_a_tariff_starting_mid_month_prices_the_days_from_its_start():
    t = tariffs(cpu("usage", "0.05"), cpu("usage", "0.08", datetime(2026, 3, 15, tzinfo=UTC)))
    hour = {"cpu_core_seconds": 3600.0}
    assert day_cost(hour, date(2026, 3, 14), t)["cpu"] == Decimal("0.05")
    assert day_cost(hour, date(2026, 3, 15), t)["cpu"] == Decimal("0.08")
    rows = [{"day": date(2026, 3, d), RATE_CLASS: "", **hour} for d in range(1, 32)]
    # 14 days at 0.05, 17 at 0.08.
    assert total_cost(rows, t) == Decimal("0.70") + Decimal("1.36")


def test_a_tariff_starting_within_a_day_applies_from_the_next_day():
    # Pages price a whole day at the tariff in force when it began (statements, per hour).
    t = tariffs(cpu("usage", "0.05"), cpu("usage", "0.08", datetime(2026, 3, 15, 12, tzinfo=UTC)))
    hour = {"cpu_core_seconds": 3600.0}
    assert day_cost(hour, date(2026, 3, 15), t)["cpu"] == Decimal("0.05")
    assert day_cost(hour, date(2026, 3, 16), t)["cpu"] == Decimal("0.08")


def test_days_before_the_first_tariff_cost_nothing():
    t = tariffs(cpu("usage", "0.05", datetime(2026, 3, 15, tzinfo=UTC)))
    assert day_cost(ROW, date(2026, 3, 14), t) == {}
    rows = [{"day": date(2026, 3, d), RATE_CLASS: "", "cpu_core_seconds": 3600.0} for d in (14, 15)]
    assert total_cost(rows, t) == Decimal("0.05")
