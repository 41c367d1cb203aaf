"""python manage.py collect_usage [--start ISO] [--end ISO] [--cluster NAME]

Collects exact hourly usage per job from Prometheus for whole UTC hours in [start, end).
Without --start it goes on from the last collected hour; without --end it stops at the
last hour that ended at least KUBEMON_COLLECT_LAG_SECONDS ago. Safe to run again over any
window: each hour is replaced whole, a chunk of hours in one transaction. Two runs never
collect the same cluster at once: the second waits for the first (KUBEMON_COLLECT_LOCK_WAIT),
then skips it. The run itself is billing/collection/run.py; this command checks the
options, takes each cluster's lock and shows the progress.
"""

from datetime import datetime

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from billing.collection import run
from billing.collection.gpus import parse_weights
from billing.collection.locks import Busy, collection_lock
from billing.collection.reader import sparse_cycle_collection
from billing.models import Cluster
from billing.utc import is_hour_aligned
from promadapter.client import PrometheusClient, PrometheusError
from promadapter.params import ParamError, duration_seconds, parse_time


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
    """A bar on a terminal; one structured log line per hour otherwise (run.Report)."""

    def __init__(self, stdout, stderr, cluster: str):
        self.stdout, self.stderr, self.cluster = stdout, stderr, cluster
        self.tty = stdout.isatty()

    def hour(self, hour: datetime, done: int, total: int, jobs: int, queries: int) -> None:
        if self.tty:
            filled = int(30 * done / max(total, 1))
            self.stdout.write(
                f"\r{self.cluster} [{'#' * filled}{' ' * (30 - filled)}] "
                f"{done}/{total} h  {hour:%Y-%m-%d %H:00}Z",
                ending="\n" if done == total else "",
            )
        else:
            self.stdout.write(
                f"collect_usage cluster={self.cluster} hour={hour:%Y-%m-%dT%H:00Z} "
                f"jobs={jobs} queries={queries} done={done}/{total}"
            )
        self.stdout.flush()

    def note(self, message: str) -> None:
        self.stdout.write(message)

    def warn(self, message: str) -> None:
        self.stderr.write(message)


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
            gpu_weights = parse_weights(settings.KUBEMON_GPU_WEIGHTS)
        except ValueError as e:
            raise CommandError(str(e)) from None
        try:
            duration_seconds(settings.KUBEMON_COUNTER_LOOKBACK)
        except ValueError as e:
            raise CommandError(f"KUBEMON_COUNTER_LOOKBACK: {e}") from None
        client = PrometheusClient()
        try:
            left_open = run.range_windows_left_open(client, end or timezone.now())
            found = run.find_clusters(client, start, end, timezone.now())
        except PrometheusError as e:
            run.record_lookup_failure(e, start, end, options["cluster"], timezone.now())
            raise CommandError(f"Prometheus failed: {e.detail}") from None
        found = self.chosen(found, options["cluster"])
        try:
            with sparse_cycle_collection():
                for name, matcher in found:
                    reader = run.usage_reader(client, matcher, left_open)
                    self.collect_locked(reader, name, (start, end), gpu_weights)
        except PrometheusError as e:
            raise CommandError(f"Prometheus failed: {e.detail}") from None

    def chosen(self, found: list, only: str | None) -> list:
        """The clusters found, or only the one --cluster names (a clear error if unknown)."""
        if only is None:
            return found
        chosen = [c for c in found if c[0] == only]
        if not chosen:
            names = ", ".join(c[0] for c in found)
            raise CommandError(f"--cluster: no cluster named {only!r} (known: {names})")
        return chosen

    def collect_locked(self, reader, name: str, bounds, gpu_weights: dict):
        """Collect one cluster holding its lock; skip it if another run holds it."""
        try:
            with collection_lock(name, settings.KUBEMON_COLLECT_LOCK_WAIT):
                # Read the last collected hour only now: the other run may have moved it.
                cluster, _ = Cluster.objects.get_or_create(name=name)
                window = run.cluster_window(cluster, *bounds, timezone.now())
                run.collect_cluster(
                    reader, cluster, window, gpu_weights, Progress(self.stdout, self.stderr, name)
                )
        except Busy:
            self.stderr.write(
                f"{name}: skipped, another collect_usage is collecting this cluster "
                f"(waited {settings.KUBEMON_COLLECT_LOCK_WAIT:g} s)"
            )
