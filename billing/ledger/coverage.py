"""Coverage: which hours of a month were collected, which were not, and which are flagged.

A statement lists the hours its month lacks (never collected) and the collected hours
flagged for a data gap too long to bridge, so that finance sees what a bill rests on. A lab
sees those of the clusters that concern its accounts only (`clusters_of`): the page, the
API and the PDF cut them down with `only_clusters`.
"""

from datetime import date, datetime

from django.db.models import Q, QuerySet

from billing.models import Cluster, CollectedHour, DailyUsage, NamespaceAccount
from billing.utc import floor_hour, hour_ranges, hours_in, month_bounds


def uncollected_hours(month: date, now: datetime) -> dict[str, list[datetime]]:
    """Return, per cluster, the hours of the month (up to now) that were never collected."""
    start, end = month_bounds(month)
    end = min(end, floor_hour(now))
    missing = {}
    for cluster in Cluster.objects.order_by("name"):
        collected = set(
            CollectedHour.objects.filter(
                cluster=cluster, hour__gte=start, hour__lt=end
            ).values_list("hour", flat=True)
        )
        if hours := [h for h in hours_in(start, end) if h not in collected]:
            missing[cluster.name] = hours
    return missing


def flagged_hours(month: date) -> dict[str, list[dict]]:
    """Return, per cluster, the collected hours of the month flagged for a data gap."""
    start, end = month_bounds(month)
    flagged: dict[str, list[dict]] = {}
    for ch in (
        CollectedHour.objects.filter(flagged=True, hour__gte=start, hour__lt=end)
        .select_related("cluster")
        .order_by("cluster__name", "hour")
    ):
        flagged.setdefault(ch.cluster.name, []).append(
            {"hour": ch.hour.isoformat(), "reason": ch.flag_reason}
        )
    return flagged


def describe_missing(missing: dict[str, list[datetime]]) -> str:
    return "; ".join(
        f"{cluster}: " + ", ".join(f"{a}–{b}" for a, b in hour_ranges(hours))
        for cluster, hours in missing.items()
    )


def clusters_of(account_ids: list[int]) -> QuerySet[Cluster]:
    """The clusters where the accounts have usage (the daily roll-up: a few rows per day, not
    every job-hour) or a namespace mapping; lazy, so a filter on it is a subquery."""
    used = DailyUsage.objects.filter(account_id__in=account_ids).values("cluster_id")
    mapped = NamespaceAccount.objects.filter(account_id__in=account_ids).values("cluster_id")
    return Cluster.objects.filter(Q(pk__in=used) | Q(pk__in=mapped))


def only_clusters(per_cluster: dict, clusters: QuerySet[Cluster] | None) -> dict:
    """`{cluster name: ...}` cut down to `clusters` (None: left whole)."""
    if clusters is None:
        return per_cluster
    names = set(clusters.values_list("name", flat=True))
    return {name: value for name, value in per_cluster.items() if name in names}
