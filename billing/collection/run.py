"""One collection run: which clusters Prometheus knows, and one cluster's window to stored hours.

A run of a cluster is recorded as a CollectionRun from the start: it reads its window a
chunk of hours at a time (reader.UsageReader, the next chunk read while this one is
written), records the data gaps it found, attributes each hour's usage to jobs and writes
the chunk's hours in one transaction (store.write_hours). Whatever stops it, the run row
says how it ended and why; a run that wrote hours then asks the ledger to recompute the
open months' drafts (billing.ledger.intake), so that pages read them ready.

What a person sees of it (a progress bar, log lines, messages) is the caller's: it passes a
Report. `python manage.py collect_usage` is the caller in production.
"""

from datetime import datetime, timedelta
from typing import Protocol

from django.conf import settings
from django.utils import timezone

from billing.collection.attribution import Attribution
from billing.collection.jobs import JobDirectory
from billing.collection.reader import UsageReader
from billing.collection.store import (
    AccountResolver,
    CollectedUsage,
    last_collected_hour,
    record_gaps,
    write_hours,
)
from billing.ledger import intake
from billing.models import Cluster, CollectionRun
from billing.utc import default_window, hour_batches, hours_in
from promadapter import windows
from promadapter.client import PrometheusError, PrometheusTimeout, PrometheusUnavailable
from promadapter.usage import UsageQueries, hour_range


class Report(Protocol):
    """What a run tells the person or log watching it."""

    def hour(self, hour: datetime, done: int, total: int, jobs: int, queries: int) -> None: ...

    def note(self, message: str) -> None: ...

    def warn(self, message: str) -> None: ...


def find_clusters(client, start, end, now: datetime) -> list[tuple[str, str | None]]:
    """Return (name, `cluster` label matcher) of each cluster seen in the window.

    Series without a `cluster` label belong to KUBEMON_CLUSTER; when other series carry
    one, those are told apart by matching cluster="".
    """
    end = end or now
    start = start or end - timedelta(hours=settings.KUBEMON_COLLECT_FIRST_HOURS)
    seconds = max(3600, int((end - start).total_seconds()))
    answer = client.query(UsageQueries("1h").clusters(seconds), at=end)
    names = {series["metric"].get("cluster", "") for series in answer}
    found = [(name, name) for name in sorted(names - {""})]
    if "" in names or not found:
        found.insert(0, (settings.KUBEMON_CLUSTER, "" if found else None))
    return found


def range_windows_left_open(client, at: datetime) -> bool:
    """Whether the engine's range windows are left-open, probed at `at` (promadapter.windows).

    With no probe series there yet, Prometheus' version decides: 3 made windows left-open.
    """
    try:
        return windows.left_open(client, at.timestamp())
    except windows.NoProbeSamples:
        version = str(client.buildinfo().get("version", "2"))
        return not version.startswith(("0.", "1.", "2."))


def unreachable(error: Exception) -> bool:
    """Whether a run failed because Prometheus did not answer: down, 5xx, or too slow."""
    return isinstance(error, PrometheusUnavailable | PrometheusTimeout)


def cluster_window(cluster: Cluster, start, end, now: datetime) -> tuple[datetime, datetime]:
    """The given bounds, or the cluster's default window for those not given."""
    default_start, default_end = default_window(
        last_collected_hour(cluster),
        now,
        timedelta(seconds=settings.KUBEMON_COLLECT_LAG_SECONDS),
        timedelta(hours=settings.KUBEMON_COLLECT_FIRST_HOURS),
    )
    return start or default_start, end or default_end


def record_lookup_failure(error: PrometheusError, start, end, only: str | None, now: datetime):
    """Record a failed run for each known cluster, or for the one asked for.

    Prometheus failed before any run began: without a run, /metrics and its alerts
    would not see the failure.
    """
    clusters = Cluster.objects.filter(name=only) if only else Cluster.objects.all()
    for cluster in clusters:
        window_start, window_end = cluster_window(cluster, start, end, now)
        CollectionRun.objects.create(
            cluster=cluster.name,
            window_start=window_start,
            window_end=window_end,
            status=CollectionRun.Status.FAILED,
            started_at=now,
            finished_at=now,
            error=error.detail,
            prometheus_unreachable=unreachable(error),
        )


def usage_reader(client, matcher: str | None, left_open: bool) -> UsageReader:
    """The reader of one cluster's usage, as the settings configure it."""
    queries = UsageQueries(
        hour_range(left_open),
        matcher,
        settings.KUBEMON_COUNTER_LOOKBACK,
        settings.KUBEMON_REPLICA_LABELS,
    )
    return UsageReader(
        client,
        queries,
        settings.KUBEMON_ACCOUNT_LABEL,
        settings.KUBEMON_SCRAPE_INTERVAL,
        settings.KUBEMON_MAX_BRIDGED_GAP,
        settings.KUBEMON_REPLICA_LABELS,
        settings.KUBEMON_COLLECT_CONCURRENCY,
        settings.KUBEMON_USER_LABEL,
    )


def collect_cluster(
    reader: UsageReader, cluster: Cluster, window, gpu_weights: dict, report: Report
) -> CollectionRun | None:
    """Collect the whole hours of `window` for one cluster; return the run (None if empty).

    The run row records how it ended; an error is recorded on it, then raised again.
    """
    start, end = window
    hours = hours_in(start, end)
    if not hours:
        report.warn(f"{cluster.name}: nothing to collect before {end:%Y-%m-%dT%H:%MZ}")
        return None
    run = CollectionRun.objects.create(
        cluster=cluster.name, window_start=start, window_end=end, started_at=timezone.now()
    )
    try:
        write_chunks(reader, cluster, run, hours, gpu_weights, report)
    except Exception as e:
        run.status = CollectionRun.Status.FAILED
        run.error = getattr(e, "detail", None) or f"{type(e).__name__}: {e}"
        run.prometheus_unreachable = unreachable(e)
        raise
    else:
        run.status = CollectionRun.Status.SUCCEEDED
    finally:
        run.queries = reader.queries_run
        run.query_seconds = reader.query_seconds
        run.finished_at = timezone.now()
        run.save()
    refresh_drafts(cluster.name, start, end, report)
    return run


def write_chunks(reader: UsageReader, cluster, run, hours, gpu_weights, report: Report):
    """Read the hours a chunk at a time and write each chunk, counting them on the run."""
    accounts = AccountResolver(cluster)
    jobs = JobDirectory(cluster)
    interval = settings.KUBEMON_SCRAPE_INTERVAL
    batches = hour_batches(hours, settings.KUBEMON_COLLECT_CHUNK_HOURS)
    for chunk, data in reader.read_ahead(batches):
        gaps = data[chunk[0]].gaps
        t0, t1 = chunk[0].timestamp(), chunk[-1].timestamp() + 3600
        record_gaps(cluster, run, gaps.touching(t0, t1))
        collected = [collected_hour(hour, data[hour], interval, gpu_weights) for hour in chunk]
        write_hours(cluster, collected, accounts, run, jobs)
        for hour in collected:
            run.hours_written += 1
            report.hour(
                hour.hour, run.hours_written, len(hours), len(hour.usage), reader.queries_run
            )


def collected_hour(hour: datetime, facts, interval: int, gpu_weights) -> CollectedUsage:
    """One hour's usage per job, and its GPUs' idle energy per node."""
    attribution = Attribution(hour, facts, interval, gpu_weights, settings.KUBEMON_GPU_IDLE_PERCENT)
    return CollectedUsage(
        hour,
        attribution.usage(),
        facts.namespace_label,
        facts.gaps.flag(hour.timestamp(), hour.timestamp() + 3600),
        attribution.idle_energy,
    )


def refresh_drafts(name: str, start, end, report: Report):
    """Have the ledger recompute the open months' drafts now, so that pages read them ready."""
    try:
        for period in intake.refresh_drafts(start, end, timezone.now()):
            report.note(f"{name}: draft statements of {period} recomputed")
    except intake.PricingError as e:
        # Collection is not pricing: the usage is stored; the drafts wait for a tariff.
        report.warn(f"{name}: draft statements not recomputed: {e}")
