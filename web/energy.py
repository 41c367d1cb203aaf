"""GPU energy and idle GPUs as the pages show them: summed in SQL, one grouped query each.

What is stored decides the groups. The energy of held GPUs (HourlyUsage.gpu_energy_joules)
is read from the daily roll-up, per cluster: a usage row carries no GPU resource kind (its
gpu_seconds sum whole GPUs, MIG slices and time-sliced replicas through their weights), only
whether its energy is an estimate (a MIG slice's or a time-sliced share), and the roll-up
keeps how many job-hours were estimates, not their energy; jobs store no GPU model. So energy
is given per cluster, with the estimated job-hours beside it. The energy of GPUs no pod held
(GpuIdleEnergy) is per cluster, node and hour, for ops and finance only: never a lab's.
Usage rows carry no node either: held-but-idle GPU-hours are per account and cluster.
"""

from datetime import UTC, date

from django.db.models import Count, Sum
from django.db.models.functions import TruncDate
from django.utils.translation import gettext as _

from billing.models import DailyUsage, GpuIdleEnergy
from billing.utc import day_bounds
from web import charts
from web.reports import days, ratio

JOULES_PER_KWH = 3.6e6


def held_energy_by_day(daily, first: date, last: date) -> list[dict]:
    """Per UTC day of [first, last] and cluster: joules of held GPUs, estimated job-hours."""
    return list(
        daily.filter(day__gte=first, day__lte=last, gpu_energy_joules__gt=0)
        .values("day", "cluster_id")
        .annotate(
            joules=Sum("gpu_energy_joules"), estimated_hours=Sum("gpu_energy_estimated_hours")
        )
        .order_by()
    )


def unheld_energy_by_day(first: date, last: date) -> list[dict]:
    """Per UTC day of [first, last] and cluster: joules of the GPUs no pod held."""
    return list(
        GpuIdleEnergy.objects.filter(hour__gte=day_bounds(first)[0], hour__lt=day_bounds(last)[1])
        .values("cluster_id", day=TruncDate("hour", tzinfo=UTC))
        .annotate(joules=Sum("joules"))
        .order_by()
    )


def energy_overview(daily, first: date, last: date, clusters: dict, unheld: bool) -> dict:
    """The overview's GPU energy: a chart per UTC day and cluster, and each cluster's totals.

    `daily` is the roll-up the user may see, `clusters` names the clusters by id; with
    `unheld` (ops and finance) the unheld GPUs' energy is drawn and listed too.
    """
    held = held_energy_by_day(daily, first, last)
    idle = unheld_energy_by_day(first, last) if unheld else []
    labels = days(first, last)
    totals: dict[str, dict] = {}
    series: dict[str, list[float]] = {}
    for rows, part in ((held, "held"), (idle, "unheld")):
        for row in rows:
            name = clusters[row["cluster_id"]]
            total = totals.setdefault(
                name, {"cluster": name, "held": 0.0, "unheld": 0.0, "estimated_hours": 0}
            )
            total[part] += row["joules"] / JOULES_PER_KWH
            total["estimated_hours"] += row.get("estimated_hours") or 0
            label = series_label(name, part)
            drawn = series.setdefault(label, [0.0] * len(labels))
            drawn[(row["day"] - first).days] += row["joules"] / JOULES_PER_KWH
    chart = charts.chart(
        "gpu-energy-per-day",
        _("GPU energy per day (kWh)"),
        [d.isoformat() for d in labels],
        dict(sorted(series.items())),
        kind="bar",
        stacked=True,
        x_title=_("UTC day"),
        y_title="kWh",
    )
    rows = sorted(totals.values(), key=lambda t: t["cluster"])
    return {
        "chart": chart,
        "clusters": rows,
        "held": sum(t["held"] for t in rows),
        "unheld": sum(t["unheld"] for t in rows) if unheld else None,
    }


def series_label(cluster: str, part: str) -> str:
    if part == "held":
        return _("%(cluster)s: GPUs held by jobs") % {"cluster": cluster}
    return _("%(cluster)s: GPUs no pod held") % {"cluster": cluster}


def unheld_by_node(first: date, last: date) -> list[dict]:
    """Per cluster and node, the energy of its GPUs no pod held over the UTC days
    [first, last], largest first, with the hours that had some."""
    rows = (
        GpuIdleEnergy.objects.filter(hour__gte=day_bounds(first)[0], hour__lt=day_bounds(last)[1])
        .values("cluster__name", "node")
        .annotate(joules=Sum("joules"), hours=Count("hour"))
        .order_by("-joules", "cluster__name", "node")
    )
    return [{**row, "kwh": row["joules"] / JOULES_PER_KWH} for row in rows]


def held_by_account(first: date, last: date) -> list[dict]:
    """Per account and cluster, the GPUs held over the UTC days [first, last]: GPU-hours,
    held-but-idle and busy GPU-hours, efficiency (busy / held) and energy; the most idle
    GPU-hours first."""
    rows = (
        DailyUsage.objects.filter(day__gte=first, day__lte=last, gpu_seconds__gt=0)
        .values("account_id", "account__name", "cluster__name")
        .annotate(
            gpu_seconds=Sum("gpu_seconds"),
            busy_seconds=Sum("gpu_busy_seconds"),
            idle_seconds=Sum("gpu_idle_seconds"),
            joules=Sum("gpu_energy_joules"),
            estimated_hours=Sum("gpu_energy_estimated_hours"),
        )
        .order_by("-idle_seconds", "account__name", "cluster__name")
    )
    return [{**row, **gpu_figures(row)} for row in rows]


def gpu_figures(sums: dict) -> dict:
    """Hours, efficiency and kWh of summed GPU seconds and joules."""
    return {
        "gpu_hours": sums["gpu_seconds"] / 3600,
        "idle_hours": sums["idle_seconds"] / 3600,
        "busy_hours": sums["busy_seconds"] / 3600,
        "efficiency": ratio(sums["busy_seconds"], sums["gpu_seconds"]),
        "idle_share": ratio(sums["idle_seconds"], sums["gpu_seconds"]),
        "kwh": sums["joules"] / JOULES_PER_KWH,
    }


def held_totals(rows: list[dict]) -> dict:
    """The figures of every account's rows together."""
    keys = ("gpu_seconds", "busy_seconds", "idle_seconds", "joules")
    return gpu_figures({key: sum(row[key] for row in rows) for key in keys})
