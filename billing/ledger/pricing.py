"""Pricing: billed quantities of a job-hour in tariff units, tariffs in force, and rounding.

A tariff prices one resource from its `valid_from` until the next tariff of that resource,
so each hour is priced at its own tariff. Quantities are summed exactly (math.fsum, order
independent) from the stored floats, then turned into Decimal: money never passes through
a float.
"""

from bisect import bisect_right
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal

from billing.resources import RESOURCES
from billing.utc import hours_in_month

QUANTITY_STEP = Decimal("0.001")  # SAP activity quantities are QUAN 15,3
CENT = Decimal("0.01")
# A job's share of a line, and an adjustment, are kept to the nano-unit.
DETAIL_STEP = Decimal("0.000000001")


def raw_quantity(resource: str, policy: str, row: dict) -> float:
    """Return the stored value a policy bills for one job-hour (before unit conversion)."""
    spec = RESOURCES[resource]
    if policy == "usage":
        return row[spec.usage_field]
    if policy == "request":
        return row[spec.request_field]
    return max(row[spec.usage_field], row[spec.request_field])


def to_unit(resource: str, total: float, month: datetime) -> Decimal:
    """Convert a summed stored value into the tariff's unit, exactly as a Decimal."""
    divisor = Decimal(RESOURCES[resource].divisor)
    if resource == "storage":
        # GiB-month prorated per hour: an hour is 1/(hours of its calendar month) of a month.
        divisor *= hours_in_month(month)
    return Decimal(total) / divisor


def round_quantity(q: Decimal) -> Decimal:
    return q.quantize(QUANTITY_STEP, rounding=ROUND_HALF_UP)


def amount(quantity: Decimal, price: Decimal) -> Decimal:
    """A line's amount: quantity x unit price, rounded half-up to the cent."""
    return (quantity * price).quantize(CENT, rounding=ROUND_HALF_UP)


class Tariffs:
    """The tariffs of every resource, to find the one in force at an hour."""

    def __init__(self, tariffs):
        self.by_resource: dict[str, list] = {}
        for t in sorted(tariffs, key=lambda t: t.valid_from):
            self.by_resource.setdefault(t.resource, []).append(t)
        self.starts = {r: [t.valid_from for t in ts] for r, ts in self.by_resource.items()}

    def at(self, resource: str, hour: datetime):
        """Return the tariff of `resource` in force at `hour`, or None."""
        i = bisect_right(self.starts.get(resource, []), hour)
        return self.by_resource[resource][i - 1] if i else None

    def end_of(self, tariff) -> datetime:
        """Return when `tariff` stops applying (the next tariff's start)."""
        starts = self.starts[tariff.resource]
        i = starts.index(tariff.valid_from) + 1
        return starts[i] if i < len(starts) else datetime.max.replace(tzinfo=UTC)
