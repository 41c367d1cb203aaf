"""The figures the pages show: usage and estimated cost summed in SQL, priced in Python.

Sums come from the daily roll-up (DailyUsage) for anything over days, and from HourlyUsage
for per-job tables; either way one grouped query, never one per row. Costs are estimates at
the tariffs in force (billing/ledger/costs.py); the statements are the bill. Rows are also
grouped by their account's rate class, each priced at its class's tariffs: rows of accounts
of different classes never share a price.
"""

from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

from django.db.models import Case, Count, IntegerField, Min, Q, Value, When
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from billing.ledger.carbon import JOULES_PER_KWH
from billing.ledger.costs import (
    RATE_CLASS,
    daily_cost_sums,
    day_cost,
    hourly_cost_sums,
    priced,
    tariff_segments,
)
from billing.ledger.pricing import Tariffs, every_tariff
from billing.resources import RESOURCES
from billing.utc import HOUR
from web import charts

ZERO = Decimal(0)
RESOURCE_NAMES = {
    "cpu": _("CPU"),
    "memory": _("Memory"),
    "gpu": _("GPU"),
    "gpu_memory": _("GPU memory"),
    "storage": _("Storage"),
    "network_rx": _("Network in"),
    "network_tx": _("Network out"),
    "gpu_energy": _("GPU energy"),
}


def all_tariffs() -> Tariffs:
    """Every tariff; the functions below price each row at its rate class's."""
    return every_tariff()


def days(first: date, last: date) -> list[date]:
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


def cost_per_day(daily, first: date, last: date, tariffs: Tariffs) -> dict[str, list[Decimal]]:
    """Estimated cost per resource for each day of [first, last], zero where nothing ran."""
    costs: dict[date, dict[str, Decimal]] = {}
    rows = (
        daily.filter(day__gte=first, day__lte=last)
        .values("day", RATE_CLASS)
        .annotate(**daily_cost_sums())
        .order_by()
    )
    for row in rows:
        day = costs.setdefault(row["day"], {})
        for resource, cost in day_cost(row, row["day"], tariffs.for_class(row[RATE_CLASS])).items():
            day[resource] = day.get(resource, ZERO) + cost
    return {
        resource: [costs.get(day, {}).get(resource, ZERO) for day in days(first, last)]
        for resource in RESOURCES
    }


def cost_chart(chart_id: str, title: str, daily, first: date, last: date, tariffs) -> dict:
    """A stacked bar chart of the estimated cost per UTC day and resource."""
    series = cost_per_day(daily, first, last, tariffs)
    return charts.chart(
        chart_id,
        title,
        [d.isoformat() for d in days(first, last)],
        {str(RESOURCE_NAMES[r]): v for r, v in series.items()},
        kind="bar",
        stacked=True,
        x_title=gettext("UTC day"),
        y_title="CHF",
    )


def day_segments(first: date, last: date, tariffs: Tariffs) -> list[tuple[date, date]]:
    """Split days [first, last] where a tariff (of any rate class) or a month starts, as
    inclusive day ranges.

    A tariff starting during a day applies from the next day on, as day_cost prices it.
    """
    start, end = day_start(first), day_start(last + timedelta(days=1))
    segments = tariff_segments(start, end, *tariffs.every_class())
    cuts = {ceil_day(b) for _, b in segments} | {first}
    edges = sorted(cuts)
    return [(a, b - timedelta(days=1)) for a, b in zip(edges, edges[1:], strict=False)]


def ceil_day(t: datetime) -> date:
    return t.date() if t.time() == time() else t.date() + timedelta(days=1)


def costs_by(daily, keys: list[str], first: date, last: date, tariffs: Tariffs) -> list[dict]:
    """Sums and estimated cost per group of `keys` over days [first, last], dearest first.

    One query grouped by stretch of days with constant tariffs (months, usually) and rate
    class, each priced as a statement line is (billing.ledger.costs.priced); `billed` holds,
    per resource, the quantity billed (in the tariff's unit, by its policy) and its amount.
    """
    segments = day_segments(first, last, tariffs)
    rows = (
        daily.filter(day__gte=first, day__lte=last)
        .values(
            *keys, RATE_CLASS, segment=segment_of("day", [seg_last for _, seg_last in segments])
        )
        .annotate(**daily_cost_sums())
        .order_by()
    )
    groups: dict[tuple, dict] = {}
    for row in rows:
        key = tuple(row[k] for k in keys)
        group = groups.setdefault(key, new_group(keys, key))
        at = day_start(segments[row["segment"]][0])
        add_priced(group, priced(row, at, tariffs.for_class(row[RATE_CLASS])))
        for field, value in row.items():
            if field not in keys and field not in ("segment", RATE_CLASS):
                group[field] = group.get(field, 0.0) + (value or 0.0)
    for group in groups.values():
        group.update(job_figures(group))
    return sorted(groups.values(), key=lambda g: (-g["cost"], *(str(g[k]) for k in keys)))


def segment_of(field: str, lasts: list) -> Case:
    """The index of the stretch a row's `field` falls in, stretches ending at `lasts`."""
    return Case(
        *(When(**{f"{field}__lte": last}, then=Value(i)) for i, last in enumerate(lasts)),
        output_field=IntegerField(),
    )


def new_group(keys: list[str], key: tuple) -> dict:
    return {**dict(zip(keys, key, strict=True)), "cost": ZERO, "billed": {}}


def add_priced(group: dict, lines: dict[str, tuple[Decimal, Decimal]]):
    for resource, (quantity, cost) in lines.items():
        billed = group["billed"].setdefault(resource, {"quantity": ZERO, "cost": ZERO})
        billed["quantity"] += quantity
        billed["cost"] += cost
        group["cost"] += cost


def job_rows(hourly, start: datetime, end: datetime, tariffs: Tariffs) -> list[dict]:
    """Per job over [start, end): every quantity, hours, efficiency and estimated cost.

    One query grouped by stretch of constant tariffs (usually one) and rate class, priced
    as a statement line is, so a job's cost is exact for its sums whatever tariff changes
    the month holds.
    """
    segments = tariff_segments(start, end, *tariffs.every_class())
    rows = (
        hourly.filter(hour__gte=start, hour__lt=end)
        .values(
            "job_id",
            "job__cluster__name",
            "job__namespace",
            "job__kind",
            "job__name",
            "job__parent_kind",
            "job__parent_name",
            RATE_CLASS,
            # Hours are aligned, so the last hour of a stretch is an hour before its end.
            segment=segment_of("hour", [seg_end - HOUR for _, seg_end in segments]),
        )
        .annotate(
            hours=Count("hour"),
            first_hour=Min("hour"),
            gpu_energy_estimated_hours=Count("hour", filter=Q(gpu_energy_estimated=True)),
            **hourly_cost_sums(),
        )
        .order_by()
    )
    jobs: dict[int, dict] = {}
    for row in rows:
        job = jobs.setdefault(row["job_id"], job_entry(row))
        schedule = tariffs.for_class(row[RATE_CLASS])
        add_priced(job, priced(row, segments[row["segment"]][0], schedule))
        job["hours"] += row["hours"]
        job["gpu_energy_estimated_hours"] += row["gpu_energy_estimated_hours"]
        job["first_hour"] = min(job["first_hour"], row["first_hour"])
        for field, value in row.items():
            if field in job["sums"]:
                job["sums"][field] += value or 0.0
    for job in jobs.values():
        job.update(job_figures(job["sums"]))
    return list(jobs.values())


def job_entry(row: dict) -> dict:
    return {
        "id": row["job_id"],
        "cluster": row["job__cluster__name"],
        "namespace": row["job__namespace"],
        "kind": row["job__kind"],
        "name": row["job__name"],
        "parent_kind": row["job__parent_kind"],
        "parent_name": row["job__parent_name"],
        "hours": 0,
        "gpu_energy_estimated_hours": 0,
        "first_hour": row["first_hour"],
        "cost": ZERO,
        "billed": {},
        "sums": dict.fromkeys(hourly_cost_sums(), 0.0),
    }


def job_figures(sums: dict) -> dict:
    """Human units of a job's sums and how much of what it asked for it used."""
    return {
        "cpu_hours": sums["cpu_core_seconds"] / 3600,
        "cpu_request_hours": sums["cpu_request_core_seconds"] / 3600,
        "memory_gib_hours": sums["memory_byte_seconds"] / RESOURCES["memory"].divisor,
        "memory_request_gib_hours": sums["memory_request_byte_seconds"]
        / RESOURCES["memory"].divisor,
        "cpu_efficiency": ratio(sums["cpu_core_seconds"], sums["cpu_request_core_seconds"]),
        "memory_efficiency": ratio(
            sums["memory_byte_seconds"], sums["memory_request_byte_seconds"]
        ),
        **gpu_figures(sums),
    }


def gpu_figures(sums: dict) -> dict:
    """GPU-hours held, busy and idle, their efficiency (busy / held) and the GPUs' energy in
    kWh, from sums of gpu_seconds, gpu_busy_seconds, gpu_idle_seconds and gpu_energy_joules.
    The energy is billed only where a gpu_energy tariff is in force; the activity never."""
    return {
        "gpu_hours": sums["gpu_seconds"] / 3600,
        "gpu_busy_hours": sums["gpu_busy_seconds"] / 3600,
        "gpu_idle_hours": sums["gpu_idle_seconds"] / 3600,
        "gpu_efficiency": ratio(sums["gpu_busy_seconds"], sums["gpu_seconds"]),
        "gpu_energy_kwh": sums["gpu_energy_joules"] / JOULES_PER_KWH,
    }


def ratio(used: float, requested: float) -> float | None:
    return used / requested if requested else None


def day_start(day: date) -> datetime:
    return datetime.combine(day, time(), tzinfo=UTC)
