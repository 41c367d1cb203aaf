"""What usage costs at the tariffs in force, for pages and charts (not for the bill).

Statements price each job-hour at its own tariff and round each line (billing/statements.py);
they are the bill. Pages price the daily roll-up at the tariff in force when each UTC day
began, without rounding until the total, which equals the statements' sums whenever
tariffs change at midnight UTC, as they do at month starts.
"""

from datetime import UTC, date, datetime, time
from decimal import ROUND_HALF_UP, Decimal

from billing.pricing import CENT, RESOURCES, Tariffs, to_unit

# The DailyUsage sum each policy bills, per resource.
POLICY_FIELDS = {
    "cpu": {
        "usage": "cpu_core_seconds",
        "request": "cpu_request_core_seconds",
        "max": "cpu_max_core_seconds",
    },
    "memory": {
        "usage": "memory_byte_seconds",
        "request": "memory_request_byte_seconds",
        "max": "memory_max_byte_seconds",
    },
}
# Every DailyUsage sum a cost may need; aggregate these (Sum) before pricing.
COST_FIELDS = sorted(
    {f for fields in POLICY_FIELDS.values() for f in fields.values()}
    | {spec.usage_field for spec in RESOURCES.values()}
)


def billed_field(resource: str, policy: str) -> str:
    if resource in POLICY_FIELDS:
        return POLICY_FIELDS[resource][policy]
    return RESOURCES[resource].usage_field


def day_cost(row: dict, day: date, tariffs: Tariffs) -> dict[str, Decimal]:
    """The cost of one day's summed usage `row`, per resource, unrounded (CHF)."""
    start = datetime.combine(day, time(), tzinfo=UTC)
    costs = {}
    for resource in RESOURCES:
        tariff = tariffs.at(resource, start)
        if tariff is None:
            continue
        total = row.get(billed_field(resource, tariff.policy)) or 0.0
        costs[resource] = to_unit(resource, total, start) * tariff.price_chf
    return costs


def total_cost(rows, tariffs: Tariffs) -> Decimal:
    """The cost of rows carrying a `day` and the COST_FIELDS sums, rounded to the cent."""
    total = sum(
        (sum(day_cost(r, r["day"], tariffs).values(), Decimal(0)) for r in rows), Decimal(0)
    )
    return chf(total)


def chf(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)
