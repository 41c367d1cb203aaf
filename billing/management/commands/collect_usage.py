"""python manage.py collect_usage [--start ISO] [--end ISO] [--cluster NAME]

Collects exact hourly usage per job from Prometheus for whole UTC hours in [start, end).
Without --start it goes on from the last collected hour; without --end it stops at the
last hour that ended at least KUBEMON_COLLECT_LAG_SECONDS ago. Safe to run again over any
window: each hour is replaced whole, in one transaction.
"""

import time
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from billing.attribution import usage_by_job
from billing.collect import Collector
from billing.hours import chunks, default_window, hours_in, is_hour_aligned
from billing.models import Cluster, CollectionRun
from billing.store import AccountResolver, last_collected_hour, write_hour
from promadapter.client import PrometheusClient, PrometheusError
from promadapter.usage import UsageQueries, hour_range


def parse_hour(value: str, option: str) -> datetime:
    try:
        t = datetime.fromisoformat(value)
    except ValueError:
        raise CommandError(f"{option}: {value!r} is not an ISO 8601 time") from None
    if t.tzinfo is None:
        t = t.replace(tzinfo=UTC)
    if not is_hour_aligned(t):
        raise CommandError(f"{option}: {value!r} is not on a whole UTC hour")
    return t.astimezone(UTC)


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
                f"{self.done}/{self.total} h  {hour:%Y-%m-%d %H:00}Z"
            )
            if self.done == self.total:
                self.stream.write("\n")
        else:
            self.stream.write(
                f"collect_usage cluster={self.cluster} hour={hour:%Y-%m-%dT%H:00Z} "
                f"jobs={jobs} queries={queries} done={self.done}/{self.total}\n"
            )
        self.stream.flush()


class Command(BaseCommand):
    help = "Collect exact hourly usage per job from Prometheus."

    def add_arguments(self, parser):
        parser.add_argument("--start", help="first hour to collect, ISO 8601 (UTC if no zone)")
        parser.add_argument("--end", help="end of the window (exclusive), ISO 8601")
        parser.add_argument("--cluster", help="collect only this cluster")

    def handle(self, *args, **options):
        client = PrometheusClient()
        try:
            major = prometheus_major(client)
            clusters = self.clusters(client, options)
            for name, matcher in clusters:
                self.collect_cluster(client, name, matcher, major, options)
        except PrometheusError as e:
            raise CommandError(f"Prometheus failed: {e.detail}") from None

    def clusters(self, client, options) -> list[tuple[str, str | None]]:
        """Return (name, `cluster` label matcher) of each cluster to collect.

        Series without a `cluster` label belong to KUBEMON_CLUSTER; when other series carry
        one, those are told apart by matching cluster="".
        """
        now = timezone.now()
        first = timedelta(hours=settings.KUBEMON_COLLECT_FIRST_HOURS)
        start = parse_hour(options["start"], "--start") if options["start"] else now - first
        end = parse_hour(options["end"], "--end") if options["end"] else now
        seconds = max(3600, int((end - start).total_seconds()))
        answer = client.query(UsageQueries("1h").clusters(seconds), at=end)
        names = {series["metric"].get("cluster", "") for series in answer}
        found = [(name, name) for name in sorted(names - {""})]
        if "" in names or not found:
            found.insert(0, (settings.KUBEMON_CLUSTER, "" if found else None))
        only = options["cluster"]
        if only is None:
            return found
        chosen = [c for c in found if c[0] == only]
        if not chosen:
            names = ", ".join(c[0] for c in found)
            raise CommandError(f"--cluster: no cluster named {only!r} (known: {names})")
        return chosen

    def window(self, cluster: Cluster, options) -> tuple[datetime, datetime]:
        now = timezone.now()
        start, end = default_window(
            last_collected_hour(cluster),
            now,
            timedelta(seconds=settings.KUBEMON_COLLECT_LAG_SECONDS),
            timedelta(hours=settings.KUBEMON_COLLECT_FIRST_HOURS),
        )
        if options["start"]:
            start = parse_hour(options["start"], "--start")
        if options["end"]:
            end = parse_hour(options["end"], "--end")
        if end < start:
            raise CommandError(f"--end ({end:%Y-%m-%dT%H:%MZ}) is before --start")
        return start, end

    def collect_cluster(self, client, name: str, matcher: str | None, major: int, options):
        cluster, _ = Cluster.objects.get_or_create(name=name)
        start, end = self.window(cluster, options)
        hours = hours_in(start, end)
        run = CollectionRun.objects.create(
            cluster=name, window_start=start, window_end=end, started_at=timezone.now()
        )
        queries = UsageQueries(hour_range(major), matcher, settings.KUBEMON_COUNTER_LOOKBACK)
        interval = settings.KUBEMON_SCRAPE_INTERVAL
        collector = Collector(client, queries, settings.KUBEMON_ACCOUNT_LABEL, interval)
        accounts = AccountResolver(cluster)
        progress = Progress(self.stdout._out, len(hours), name)
        began = time.monotonic()
        try:
            for chunk in chunks(hours, settings.KUBEMON_COLLECT_CHUNK_HOURS):
                data = collector.hours(chunk)
                for hour in chunk:
                    usage = usage_by_job(hour, data[hour], interval)
                    labels = data[hour].namespace_label
                    write_hour(cluster, hour, usage, labels, accounts, run)
                    run.hours_written += 1
                    progress.hour(hour, len(usage), collector.queries_run)
        except Exception as e:
            run.status = CollectionRun.Status.FAILED
            run.error = getattr(e, "detail", None) or f"{type(e).__name__}: {e}"
            raise
        else:
            run.status = CollectionRun.Status.SUCCEEDED
        finally:
            run.queries = collector.queries_run
            run.query_seconds = time.monotonic() - began
            run.finished_at = timezone.now()
            run.save()
        if not hours:
            self.stderr.write(f"{name}: nothing to collect before {end:%Y-%m-%dT%H:%MZ}")


def prometheus_major(client) -> int:
    """Prometheus' major version: 3 changed range selectors to left-open."""
    info = client.buildinfo()
    try:
        return int(str(info.get("version", "2")).split(".")[0])
    except ValueError:
        return 2
