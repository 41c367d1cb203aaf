"""python manage.py collect_usage [--start ISO] [--end ISO] [--cluster NAME]

Collects exact hourly usage per job from Prometheus for whole UTC hours in [start, end).
Without --start it goes on from the last collected hour; without --end it stops at the
last hour that ended at least KUBEMON_COLLECT_LAG_SECONDS ago. Safe to run again over any
window: each hour is replaced whole, a chunk of hours in one transaction. Two runs never
collect the same cluster at once: the second waits for the first (KUBEMON_COLLECT_LOCK_WAIT),
then skips it.
"""

from datetime import datetime, timedelta

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from billing.attribution import usage_by_job
from billing.collect import Collector, sparse_cycle_collection
from billing.gpus import parse_weights
from billing.hours import chunks, default_window, hours_in, is_hour_aligned
from billing.jobs import JobDirectory
from billing.locks import Busy, collection_lock
from billing.models import Cluster, CollectionRun
from billing.statements import PricingError, refresh_open_drafts
from billing.store import (
    AccountResolver,
    CollectedUsage,
    last_collected_hour,
    record_gaps,
    write_hours,
)
from promadapter import windows
from promadapter.client import (
    PrometheusClient,
    PrometheusError,
    PrometheusTimeout,
    PrometheusUnavailable,
)
from promadapter.params import ParamError, duration_seconds, parse_time
from promadapter.usage import UsageQueries, hour_range


def parse_hour(value: str, option: str) -> datetime:
    """An ISO 8601 time (UTC when it has no zone) on a whole UTC hour."""
    try:
        t = parse_time(option, value)
    except ParamError as e:
        raise CommandError(str(e)) from None
    if not is_hour_aligned(t):
        raise CommandError(f"{option}: {value!r} is not on a whole UTC hour")
    return t


class Progress:
    """A bar on a terminal; one structured log line per hour otherwise."""

    def __init__(self, stream, total: int, cluster: str):
        self.stream, self.total, self.cluster, self.done = stream, total, cluster, 0
        self.tty = stream.isatty()

    def hour(self, hour: datetime, jobs: int, queries: int) -> None:
        self.done += 1
        if self.tty:
            filled = int(30 * self.done / max(self.total, 1))
            self.stream.write(
                f"\r{self.cluster} [{'#' * filled}{' ' * (30 - filled)}] "
                f"{self.done}/{self.total} h  {hour:%Y-%m-%d %H:00}Z",
                ending="\n" if self.done == self.total else "",
            )
        else:
            self.stream.write(
                f"collect_usage cluster={self.cluster} hour={hour:%Y-%m-%dT%H:00Z} "
                f"jobs={jobs} queries={queries} done={self.done}/{self.total}"
            )
        self.stream.flush()


class Command(BaseCommand):
    help = "Collect exact hourly usage per job from Prometheus."

    def add_arguments(self, parser):
        parser.add_argument("--start", help="first hour to collect, ISO 8601 (UTC if no zone)")
        parser.add_argument("--end", help="end of the window (exclusive), ISO 8601")
        parser.add_argument("--cluster", help="collect only this cluster")

    def handle(self, *args, **options):
        # Check the options before anything is asked or written.
        start = parse_hour(options["start"], "--start") if options["start"] else None
        end = parse_hour(options["end"], "--end") if options["end"] else None
        if start and end and end < start:
            raise CommandError(f"--end ({end:%Y-%m-%dT%H:%MZ}) is before --start")
        try:
            self.gpu_weights = parse_weights(settings.KUBEMON_GPU_WEIGHTS)
        except ValueError as e:
            raise CommandError(str(e)) from None
        try:
            duration_seconds(settings.KUBEMON_COUNTER_LOOKBACK)
        except ValueError as e:
            raise CommandError(f"KUBEMON_COUNTER_LOOKBACK: {e}") from None
        client = PrometheusClient()
        try:
            left_open = range_windows_left_open(client, end or timezone.now())
            found = self.clusters(client, start, end, options["cluster"])
        except PrometheusError as e:
            self.record_lookup_failure(e, start, end, options["cluster"])
            raise CommandError(f"Prometheus failed: {e.detail}") from None
        try:
            with sparse_cycle_collection():
                for name, matcher in found:
                    self.collect_locked(client, name, matcher, left_open, (start, end))
        except PrometheusError as e:
            raise CommandError(f"Prometheus failed: {e.detail}") from None

    def clusters(self, client, start, end, only) -> list[tuple[str, str | None]]:
        """Return (name, `cluster` label matcher) of each cluster seen in the window.

        Series without a `cluster` label belong to KUBEMON_CLUSTER; when other series carry
        one, those are told apart by matching cluster="".
        """
        end = end or timezone.now()
        start = start or end - timedelta(hours=settings.KUBEMON_COLLECT_FIRST_HOURS)
        seconds = max(3600, int((end - start).total_seconds()))
        answer = client.query(UsageQueries("1h").clusters(seconds), at=end)
        names = {series["metric"].get("cluster", "") for series in answer}
        found = [(name, name) for name in sorted(names - {""})]
        if "" in names or not found:
            found.insert(0, (settings.KUBEMON_CLUSTER, "" if found else None))
        if only is None:
            return found
        chosen = [c for c in found if c[0] == only]
        if not chosen:
            names = ", ".join(c[0] for c in found)
            raise CommandError(f"--cluster: no cluster named {only!r} (known: {names})")
        return chosen

    def record_lookup_failure(self, error: PrometheusError, start, end, only: str | None):
        """Record a failed run for each known cluster, or for the one asked for.

        Prometheus failed before any run began: without a run, /metrics and its alerts
        would not see the failure.
        """
        now = timezone.now()
        clusters = Cluster.objects.filter(name=only) if only else Cluster.objects.all()
        for cluster in clusters:
            window_start, window_end = self.window(cluster, start, end)
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

    def collect_locked(self, client, name: str, matcher: str | None, left_open: bool, bounds):
        """Collect one cluster holding its lock; skip it if another run holds it."""
        try:
            with collection_lock(name, settings.KUBEMON_COLLECT_LOCK_WAIT):
                # Read the last collected hour only now: the other run may have moved it.
                cluster, _ = Cluster.objects.get_or_create(name=name)
                window = self.window(cluster, *bounds)
                self.collect_cluster(client, cluster, matcher, left_open, window)
        except Busy:
            self.stderr.write(
                f"{name}: skipped, another collect_usage is collecting this cluster "
                f"(waited {settings.KUBEMON_COLLECT_LOCK_WAIT:g} s)"
            )

    def window(self, cluster: Cluster, start, end) -> tuple[datetime, datetime]:
        """The given bounds, or the default window of the cluster for those not given."""
        default_start, default_end = default_window(
            last_collected_hour(cluster),
            timezone.now(),
            timedelta(seconds=settings.KUBEMON_COLLECT_LAG_SECONDS),
            timedelta(hours=settings.KUBEMON_COLLECT_FIRST_HOURS),
        )
        return start or default_start, end or default_end

    def collect_cluster(self, client, cluster, matcher: str | None, left_open: bool, window):
        start, end = window
        name = cluster.name
        hours = hours_in(start, end)
        if not hours:
            self.stderr.write(f"{name}: nothing to collect before {end:%Y-%m-%dT%H:%MZ}")
            return
        run = CollectionRun.objects.create(
            cluster=name, window_start=start, window_end=end, started_at=timezone.now()
        )
        queries = UsageQueries(
            hour_range(left_open),
            matcher,
            settings.KUBEMON_COUNTER_LOOKBACK,
            settings.KUBEMON_REPLICA_LABELS,
        )
        interval = settings.KUBEMON_SCRAPE_INTERVAL
        collector = Collector(
            client,
            queries,
            settings.KUBEMON_ACCOUNT_LABEL,
            interval,
            settings.KUBEMON_MAX_BRIDGED_GAP,
            settings.KUBEMON_REPLICA_LABELS,
            settings.KUBEMON_COLLECT_CONCURRENCY,
        )
        accounts = AccountResolver(cluster)
        progress = Progress(self.stdout, len(hours), name)
        jobs = JobDirectory(cluster)
        try:
            batches = chunks(hours, settings.KUBEMON_COLLECT_CHUNK_HOURS)
            for chunk, data in collector.read_ahead(batches):
                gaps = data[chunk[0]].gaps
                t0, t1 = chunk[0].timestamp(), chunk[-1].timestamp() + 3600
                record_gaps(cluster, run, gaps.touching(t0, t1))
                collected = [
                    CollectedUsage(
                        hour,
                        usage_by_job(hour, data[hour], interval, self.gpu_weights),
                        data[hour].namespace_label,
                        gaps.flag(hour.timestamp(), hour.timestamp() + 3600),
                    )
                    for hour in chunk
                ]
                write_hours(cluster, collected, accounts, run, jobs)
                for hour in collected:
                    run.hours_written += 1
                    progress.hour(hour.hour, len(hour.usage), collector.queries_run)
        except Exception as e:
            run.status = CollectionRun.Status.FAILED
            run.error = getattr(e, "detail", None) or f"{type(e).__name__}: {e}"
            run.prometheus_unreachable = unreachable(e)
            raise
        else:
            run.status = CollectionRun.Status.SUCCEEDED
        finally:
            run.queries = collector.queries_run
            run.query_seconds = collector.query_seconds
            run.finished_at = timezone.now()
            run.save()
        self.refresh_drafts(name, start, end)

    def refresh_drafts(self, name: str, start, end):
        """Recompute the open months' drafts now, so that pages read them ready."""
        try:
            for period in refresh_open_drafts(start, end, timezone.now()):
                self.stdout.write(f"{name}: draft statements of {period} recomputed")
        except PricingError as e:
            # Collection is not pricing: the usage is stored; the drafts wait for a tariff.
            self.stderr.write(f"{name}: draft statements not recomputed: {e}")


def unreachable(error: Exception) -> bool:
    """Whether a run failed because Prometheus did not answer: down, 5xx, or too slow."""
    return isinstance(error, PrometheusUnavailable | PrometheusTimeout)


def range_windows_left_open(client, at: datetime) -> bool:
    """Whether the engine's range windows are left-open, probed at `at` (promadapter.windows).

    With no probe series there yet, Prometheus' version decides: 3 made windows left-open.
    """
    try:
        return windows.left_open(client, at.timestamp())
    except windows.NoProbeSamples:
        version = str(client.buildinfo().get("version", "2"))
        return not version.startswith(("0.", "1.", "2."))
