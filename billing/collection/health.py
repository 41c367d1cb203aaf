"""The health of usage collection as Prometheus metrics, read from the database at each scrape.

Collection runs in its own process (a CronJob, or the crontab), so the database is the one
place that knows how it went: the last collected hour and lag of each cluster, runs and how
they ended, the data gaps they recorded, and usage landing on the unassigned account.
/metrics (web/views/metrics.py) serves them. A scrape asks five aggregate queries,
whatever the size of the tables: per-cluster values are index probes, counts scan the small
run and gap tables, unassigned usage the daily roll-up.
"""

from django.db.models import Count, Max, OuterRef, Q, Subquery, Sum
from django.utils import timezone
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from billing.models import Account, Cluster, CollectedHour, CollectionRun, DailyUsage, DataGap
from billing.utc import HOUR

SUCCEEDED, FAILED = CollectionRun.Status.SUCCEEDED, CollectionRun.Status.FAILED


def families() -> dict:
    """The metric families, empty, by short name."""
    gauge, counter = GaugeMetricFamily, CounterMetricFamily
    return {
        "last_hour_end": gauge(
            "kubemon_collection_last_hour_end_timestamp_seconds",
            "End of the last collected UTC hour of the cluster, in unix seconds.",
            labels=["cluster"],
        ),
        "lag": gauge(
            "kubemon_collection_lag_seconds",
            "Seconds from the end of the last collected hour of the cluster to now.",
            labels=["cluster"],
        ),
        "runs": counter(
            "kubemon_collection_runs",
            "Finished collection runs of the cluster, by outcome (succeeded, failed).",
            labels=["cluster", "outcome"],
        ),
        "duration": gauge(
            "kubemon_collection_last_run_duration_seconds",
            "Seconds the last finished collection run of the cluster took.",
            labels=["cluster"],
        ),
        "query_seconds": gauge(
            "kubemon_collection_last_run_query_seconds",
            "Seconds the last finished collection run of the cluster waited on Prometheus "
            "(parallel queries counted once).",
            labels=["cluster"],
        ),
        "last_success": gauge(
            "kubemon_collection_last_success_timestamp_seconds",
            "When the last successful collection run of the cluster finished, in unix seconds.",
            labels=["cluster"],
        ),
        "failed": gauge(
            "kubemon_collection_last_run_failed",
            "1 when the last finished collection run of the cluster failed, else 0.",
            labels=["cluster"],
        ),
        "unreachable": gauge(
            "kubemon_collection_last_run_prometheus_unreachable",
            "1 when the last finished collection run of the cluster failed because Prometheus "
            "did not answer (unreachable, 5xx or timeout), else 0.",
            labels=["cluster"],
        ),
        "gaps": counter(
            "kubemon_collection_gaps",
            "Data gaps recorded by collection, by outcome: bridged (billed through) or "
            "refused (longer than KUBEMON_MAX_BRIDGED_GAP, its hours flagged).",
            labels=["cluster", "outcome"],
        ),
        "unassigned_job_hours": counter(
            "kubemon_unassigned_usage_job_hours",
            "Job-hours of the cluster stored on the unassigned account (namespaces that map "
            "to no account).",
            labels=["cluster"],
        ),
        "unassigned_cpu": counter(
            "kubemon_unassigned_cpu_core_seconds",
            "CPU core-seconds of the cluster stored on the unassigned account.",
            labels=["cluster"],
        ),
    }


class CollectionMetrics(Collector):
    """A prometheus_client collector over the billing tables."""

    def describe(self):
        # The families without samples: registering the collector asks the database nothing.
        return list(families().values())

    def collect(self):
        metrics = families()
        names = add_clusters(metrics)
        add_runs(metrics, names)
        add_gaps(metrics, names)
        add_unassigned(metrics, names)
        return list(metrics.values())


def add_clusters(metrics: dict) -> list[str]:
    """Add each cluster's last collected hour and last run; return the cluster names."""
    last_hour = CollectedHour.objects.filter(cluster=OuterRef("pk")).order_by("-hour")
    last_run = (
        CollectionRun.objects.filter(cluster=OuterRef("name"), status__in=[SUCCEEDED, FAILED])
        .order_by("-started_at")
        .values("pk")
    )
    clusters = list(
        Cluster.objects.annotate(
            last_hour=Subquery(last_hour.values("hour")[:1]),
            last_run=Subquery(last_run[:1]),
        )
        .order_by("name")
        .values("name", "last_hour", "last_run")
    )
    now = timezone.now()
    for cluster in clusters:
        if cluster["last_hour"] is not None:
            end = cluster["last_hour"] + HOUR
            metrics["last_hour_end"].add_metric([cluster["name"]], end.timestamp())
            metrics["lag"].add_metric([cluster["name"]], (now - end).total_seconds())
    runs = CollectionRun.objects.filter(pk__in=[c["last_run"] for c in clusters if c["last_run"]])
    for run in runs.order_by("cluster"):
        labels = [run.cluster]
        metrics["duration"].add_metric(labels, (run.finished_at - run.started_at).total_seconds())
        metrics["query_seconds"].add_metric(labels, run.query_seconds)
        metrics["failed"].add_metric(labels, int(run.status == FAILED))
        metrics["unreachable"].add_metric(labels, int(run.prometheus_unreachable))
    return [c["name"] for c in clusters]


def add_runs(metrics: dict, names: list[str]):
    """Add the count of finished runs per cluster and outcome, and the last success."""
    counts = {name: {"succeeded": 0, "failed": 0, "last_success": None} for name in names}
    rows = (
        CollectionRun.objects.values("cluster")
        .annotate(
            succeeded=Count("pk", filter=Q(status=SUCCEEDED)),
            failed=Count("pk", filter=Q(status=FAILED)),
            last_success=Max("finished_at", filter=Q(status=SUCCEEDED)),
        )
        .order_by()
    )
    counts.update({row.pop("cluster"): row for row in rows})
    for name, row in sorted(counts.items()):
        for outcome in ("succeeded", "failed"):
            metrics["runs"].add_metric([name, outcome], row[outcome])
        if row["last_success"] is not None:
            metrics["last_success"].add_metric([name], row["last_success"].timestamp())


def add_gaps(metrics: dict, names: list[str]):
    """Add the count of recorded data gaps per cluster, bridged or refused."""
    counts = {(name, outcome): 0 for name in names for outcome in ("bridged", "refused")}
    rows = DataGap.objects.values("cluster__name", "bridged").annotate(n=Count("pk")).order_by()
    for row in rows:
        outcome = "bridged" if row["bridged"] else "refused"
        counts[row["cluster__name"], outcome] = row["n"]
    for labels, n in sorted(counts.items()):
        metrics["gaps"].add_metric(list(labels), n)


def add_unassigned(metrics: dict, names: list[str]):
    """Add the job-hours and CPU time stored on the unassigned account, per cluster."""
    totals = {name: (0, 0.0) for name in names}
    rows = (
        DailyUsage.objects.filter(account__name=Account.UNASSIGNED)
        .values("cluster__name")
        .annotate(job_hours=Sum("job_hours"), cpu=Sum("cpu_core_seconds"))
        .order_by()
    )
    totals.update({row["cluster__name"]: (row["job_hours"], row["cpu"]) for row in rows})
    for name, (job_hours, cpu) in sorted(totals.items()):
        metrics["unassigned_job_hours"].add_metric([name], job_hours)
        metrics["unassigned_cpu"].add_metric([name], cpu)
