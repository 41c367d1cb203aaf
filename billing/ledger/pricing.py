"""Pricing: billed quantities of a job-hour in tariff units, tariffs in force, and rounding.

A tariff prices one resource from its `valid_from` until the next tariff of that resource
and rate class, so each hour is priced at its own tariff. Rate classes (the one rule, here):
for an account of class C and a resource R at hour h, the tariff in force is the latest
class-C tariff of R with valid_from <= h if there is one, else the latest class-less tariff
of R with valid_from <= h. An account without a class, or of a class without its own tariffs
of R, pays the class-less tariffs. `Tariffs(...).for_class(code)` is that schedule;
`tariffs_for(account)` the one of an account.

Quantities are summed exactly (math.fsum, order independent) from the stored floats, then
turned into Decimal: money never passes through a float.
"""

from bisect import bisect_right
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal
from itertools import groupby

from billing.models import Tariff
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
    """The tariffs in force for one rate class ('' : no class), built from every tariff.

    Per resource, the schedule of class C is the class-less tariffs that start before C's
    first tariff of the resource, then C's tariffs: the tariff in force at an hour is the
    schedule's latest start at or before it. `for_class` gives another class's schedule from
    the same tariffs (kept, so each is built once).
    """

    def __init__(self, tariffs, rate_class: str = "", _classes: dict | None = None):
        self.every = sorted(tariffs, key=lambda t: (t.resource, t.rate_class, t.valid_from))
        self.classes = _classes if _classes is not None else {}
        self.classes[rate_class] = self
        own = {
            key: list(ts)
            for key, ts in groupby(self.every, key=lambda t: (t.resource, t.rate_class))
        }
        self.by_resource: dict[str, list] = {}
        for resource in sorted({t.resource for t in self.every}):
            mine = own.get((resource, rate_class), []) if rate_class else []
            first = mine[0].valid_from if mine else None
            general = [
                t for t in own.get((resource, ""), []) if first is None or t.valid_from < first
            ]
            if schedule := general + mine:
                self.by_resource[resource] = schedule
        self.starts = {r: [t.valid_from for t in ts] for r, ts in self.by_resource.items()}

    def for_class(self, rate_class: str) -> "Tariffs":
        """The schedule of accounts of `rate_class` ('' : no class)."""
        if rate_class not in self.classes:
            Tariffs(self.every, rate_class, self.classes)
        return self.classes[rate_class]

    def every_class(self) -> list["Tariffs"]:
        """The schedules of no class and of every class that has tariffs: between them,
        every start that can change some account's price."""
        return [self.for_class(c) for c in sorted({"", *(t.rate_class for t in self.every)})]

    def at(self, resource: str, hour: datetime):
        """Return the tariff of `resource` in force at `hour`, or None."""
        i = bisect_right(self.starts.get(resource, []), hour)
        return self.by_resource[resource][i - 1] if i else None

    def end_of(self, tariff) -> datetime:
        """Return when `tariff` stops applying in this schedule (the next one's start)."""
        starts = self.starts[tariff.resource]
        i = starts.index(tariff.valid_from) + 1
        return starts[i] if i < len(starts) else datetime.max.replace(tzinfo=UTC)


def every_tariff() -> Tariffs:
    """Every stored tariff, as the schedule of accounts without a class (`for_class` for
    the others)."""
    return Tariffs(Tariff.objects.all())


def tariffs_for(account) -> Tariffs:
    """The tariffs that price `account`: its rate class's, else the class-less ones."""
    return every_tariff().for_class(account.rate_class)
