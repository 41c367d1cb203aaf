"""The daily roll-up of hourly usage (DailyUsage) that pages and charts read.

A day's rows are recomputed from HourlyUsage in one aggregate query, so the roll-up is
always a pure function of the hourly rows: refreshing a day twice gives the same rows.
"""

from datetime import UTC, date, datetime, time, timedelta

from django.db import transaction
from django.db.models import Count, F, Sum
from django.db.models.functions import Greatest

from billing.models import QUANTITIES, Cluster, DailyUsage, HourlyUsage


def day_bounds(day: date) -> tuple[datetime, datetime]:
    start = datetime.combine(day, time(), tzinfo=UTC)
    return start, start + timedelta(days=1)


def days_of(hours: list[datetime]) -> list[date]:
    return sorted({h.astimezone(UTC).date() for h in hours})


def refresh_day(cluster: Cluster, day: date) -> int:
    """Rewrite the roll-up of one cluster's UTC day; return the number of rows written."""
    start, end = day_bounds(day)
    sums = (
        HourlyUsage.objects.filter(job__cluster=cluster, hour__gte=start, hour__lt=end)
        .values("account_id", namespace=F("job__namespace"))
        .annotate(
            jobs=Count("job_id", distinct=True),
            cpu_max_core_seconds=Sum(Greatest("cpu_core_seconds", "cpu_request_core_seconds")),
            memory_max_byte_seconds=Sum(
                Greatest("memory_byte_seconds", "memory_request_byte_seconds")
            ),
            **{q: Sum(q) for q in QUANTITIES},
        )
        .order_by()
    )
    rows = [DailyUsage(day=day, cluster=cluster, **row) for row in sums]
    with transaction.atomic():
        DailyUsage.objects.filter(cluster=cluster, day=day).delete()
        DailyUsage.objects.bulk_create(rows)
    return len(rows)


def refresh_hours(cluster: Cluster, hours: list[datetime]) -> int:
    return sum(refresh_day(cluster, day) for day in days_of(hours))
