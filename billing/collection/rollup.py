"""The daily roll-up of hourly usage (DailyUsage) that pages and charts read.

The rows of a stretch of days are recomputed from HourlyUsage in one aggregate query (per
UTC day, cluster, namespace and account), then replace the stretch's old rows in one
transaction. The roll-up is therefore always a pure function of the hourly rows: refreshing
twice gives the same rows, and nothing is ever added to or subtracted from a stored sum, so
it cannot drift from the hours it sums.

write_hours (billing/collection/store.py) refreshes the days of the hours it writes with
`refresh_hours`, one query per stretch of days; `python manage.py
refresh_rollup` rebuilds any range.
"""

import math
from datetime import UTC, date, datetime

from django.db import transaction
from django.db.models import Count, F, FloatField, Q, Sum
from django.db.models.functions import Greatest, TruncDate

from billing.models import Cluster, DailyUsage, HourlyUsage
from billing.resources import MAX_FIELDS, QUANTITIES
from billing.utc import day_bounds, day_stretches, days_of

# Rows inserted per INSERT statement.
BATCH_SIZE = 2000


class FSum:
    """SQLite aggregate: the exact sum of floats, rounded once (math.fsum)."""

    def __init__(self):
        self.values = []

    def step(self, value):
        if value is not None:
            self.values.append(value)

    def finalize(self):
        return math.fsum(self.values) if self.values else None


class ExactSum(Sum):
    """The sum of a float column whatever the order of its rows.

    A float SUM depends on the order rows come in (parallel plans, a day summed alone or in
    a month), so that two refreshes could differ in the last bits. PostgreSQL sums them as
    numeric (each value to its 15 significant digits, then exactly); SQLite through
    math.fsum. Refreshing a day alone, in a month, or twice gives identical rows.
    """

    output_field = FloatField()

    def as_postgresql(self, compiler, connection, **extra_context):
        template = "CAST(SUM(CAST(%(expressions)s AS numeric)) AS double precision)"
        return self.as_sql(compiler, connection, template=template, **extra_context)

    def as_sqlite(self, compiler, connection, **extra_context):
        connection.ensure_connection()
        connection.connection.create_aggregate("kubemon_fsum", 1, FSum)
        template = "kubemon_fsum(%(expressions)s)"
        return self.as_sql(compiler, connection, template=template, **extra_context)


def rollup_rows(hourly_model, start: date, end: date, cluster_id: int | None = None):
    """The roll-up rows of the UTC days [start, end), as dicts of DailyUsage fields.

    `hourly_model` is HourlyUsage, or its historical version in a data migration.
    """
    first, _ = day_bounds(start)
    last, _ = day_bounds(end)
    usage = hourly_model.objects.filter(hour__gte=first, hour__lt=last)
    if cluster_id is not None:
        usage = usage.filter(job__cluster_id=cluster_id)
    return (
        usage.values(
            "account_id",
            day=TruncDate("hour", tzinfo=UTC),
            cluster_id=F("job__cluster_id"),
            namespace=F("job__namespace"),
        )
        .annotate(
            jobs=Count("job_id", distinct=True),
            job_hours=Count("id"),
            **{name: ExactSum(Greatest(*fields)) for name, fields in MAX_FIELDS.items()},
            **{q: ExactSum(q) for q in QUANTITIES},
            gpu_energy_estimated_hours=Count("id", filter=Q(gpu_energy_estimated=True)),
        )
        .order_by()
    )


def rebuild(hourly_model, daily_model, start: date, end: date, cluster_id: int | None = None):
    """Replace the roll-up of the days [start, end) (of one cluster, or all); return rows.

    Works with the models given, so that a data migration can pass its historical ones.
    """
    rows = [daily_model(**row) for row in rollup_rows(hourly_model, start, end, cluster_id)]
    old = daily_model.objects.filter(day__gte=start, day__lt=end)
    if cluster_id is not None:
        old = old.filter(cluster_id=cluster_id)
    with transaction.atomic():
        old.delete()
        daily_model.objects.bulk_create(rows, batch_size=BATCH_SIZE)
    return len(rows)


def refresh_range(start: date, end: date, cluster: Cluster | None = None) -> int:
    """Rewrite the roll-up of the UTC days [start, end); return the number of rows written."""
    cluster_id = cluster.pk if cluster is not None else None
    return rebuild(HourlyUsage, DailyUsage, start, end, cluster_id)


def refresh_hours(cluster: Cluster, hours: list[datetime]) -> int:
    """Rewrite the roll-up of every day the hours fall in, one query per run of days."""
    return sum(refresh_range(a, b, cluster) for a, b in day_stretches(days_of(hours)))
