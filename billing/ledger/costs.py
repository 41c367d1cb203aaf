"""What usage costs at the tariffs in force, for pages and charts (not for the bill).

Statements price each job-hour at its own tariff and round each line (billing/ledger/statements.py);
they are the bill. Pages price the daily roll-up at the tariff in force when each UTC day
began: per group and stretch of constant tariffs as a statement line is rounded (`priced`),
which gives an account's statement total whenever tariffs change at midnight UTC, as they
do at month starts; per day for charts, unrounded (`day_cost`). Each row is priced at the
tariffs of its accounts' rate class (billing/ledger/pricing.py): rows of several accounts
carry the class as RATE_CLASS, grouped by it so that one row holds one class.
"""

from datetime import UTC, date, datetime, time
from decimal import ROUND_HALF_UP, Decimal

from django.db.models import Sum
from django.db.models.functions import Greatest

from billing.ledger.pricing import CENT, Tariffs, amount, round_quantity, to_unit
from billing.resources import MAX_FIELDS, QUANTITIES, RESOURCES, billed_field
from billing.utc import month_bounds, months_touching

# The usage rows' lookup of their account's rate class: group by it, then price each row
# at `tariffs.for_class(row[RATE_CLASS])`.
RATE_CLASS = "account__rate_class"
# Every DailyUsage sum a cost may need; aggregate these (Sum) before pricing.
COST_FIELDS = sorted(
    {spec.field(policy) for spec in RESOURCES.values() for policy in spec.policies}
)


def billed_quantities(row: dict, at: datetime, tariffs: Tariffs):
    """Yield (resource, tariff, quantity in its unit) that the tariffs at `at` bill of `row`."""
    for resource in RESOURCES:
        tariff = tariffs.at(resource, at)
        if tariff is not None:
            total = row.get(billed_field(resource, tariff.policy)) or 0.0
            yield resource, tariff, to_unit(resource, total, at)


def cost_at(row: dict, at: datetime, tariffs: Tariffs) -> dict[str, Decimal]:
    """The cost of summed usage `row` at the tariffs in force at `at`, per resource (CHF)."""
    return {r: q * t.price_chf for r, t, q in billed_quantities(row, at, tariffs)}


def priced(row: dict, at: datetime, tariffs: Tariffs) -> dict[str, tuple[Decimal, Decimal]]:
    """Bill summed usage `row` as a statement line does, per resource: (quantity, amount).

    The quantity in the tariff's unit is rounded to 0.001 and the amount to the cent, so an
    account's month priced this way equals its statement when no tariff starts mid-day.
    """
    lines = {}
    for resource, tariff, quantity in billed_quantities(row, at, tariffs):
        rounded = round_quantity(quantity)
        lines[resource] = (rounded, amount(rounded, tariff.price_chf))
    return lines


def day_cost(row: dict, day: date, tariffs: Tariffs) -> dict[str, Decimal]:
    """The cost of one day's summed usage `row`, per resource, unrounded (CHF)."""
    return cost_at(row, datetime.combine(day, time(), tzinfo=UTC), tariffs)


def tariff_segments(start: datetime, end: datetime, *schedules: Tariffs) -> list[tuple]:
    """Split [start, end) where a tariff of any of `schedules` (one per rate class priced)
    starts, so each part has one price per resource and class.

    Storage is prorated per calendar month, so parts never span two months either.
    """
    cuts = {start, end}
    cuts.update(
        t
        for tariffs in schedules
        for starts in tariffs.starts.values()
        for t in starts
        if start < t < end
    )
    cuts.update(month_bounds(m)[0] for m in months_touching(start, end)[1:])
    edges = sorted(cuts)
    return list(zip(edges, edges[1:], strict=False))


def total_cost(rows, tariffs: Tariffs) -> Decimal:
    """The cost of rows carrying a `day`, their RATE_CLASS and the COST_FIELDS sums, each
    at its class's tariffs, rounded to the cent."""
    total = Decimal(0)
    for r in rows:
        costs = day_cost(r, r["day"], tariffs.for_class(r[RATE_CLASS]))
        total += sum(costs.values(), Decimal(0))
    return chf(total)


def chf(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def hourly_cost_sums() -> dict:
    """Aggregates of HourlyUsage rows giving the COST_FIELDS (and every quantity).

    The maxima come first: an aggregate named like a field hides the field from later ones.
    """
    return {
        **{name: Sum(Greatest(*fields)) for name, fields in MAX_FIELDS.items()},
        **{q: Sum(q) for q in QUANTITIES},
    }


def daily_cost_sums() -> dict:
    """Aggregates of DailyUsage rows giving the COST_FIELDS (and every quantity)."""
    return {f: Sum(f) for f in sorted(set(COST_FIELDS) | set(QUANTITIES))}
