"""python manage.py refresh_rollup [--start YYYY-MM-DD] [--end YYYY-MM-DD] [--cluster NAME]

Rebuilds the daily roll-up (DailyUsage, what the pages' charts read) from the hourly usage
for the UTC days from --start to --end, both included, a month per transaction. Without
them, every day that has hourly usage or roll-up rows. Collection keeps the roll-up up to
date by itself; this is for operators, after fixing usage rows by hand or restoring a
backup. Running it again gives the same rows.
"""

import time
from datetime import UTC, date, timedelta

from django.core.management.base import BaseCommand, CommandError
from django.db.models import Max, Min

from billing.collection import rollup
from billing.models import Cluster, DailyUsage, HourlyUsage
from billing.utc import month_splits


def parse_day(value: str, option: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise CommandError(f"{option}: {value!r} is not a date (YYYY-MM-DD)") from None


def data_bounds(cluster: Cluster | None) -> tuple[date, date] | None:
    """The first and last day with hourly usage or roll-up rows, or None."""
    hourly = HourlyUsage.objects.all()
    daily = DailyUsage.objects.all()
    if cluster is not None:
        hourly, daily = hourly.filter(job__cluster=cluster), daily.filter(cluster=cluster)
    h = hourly.aggregate(first=Min("hour"), last=Max("hour"))
    d = daily.aggregate(first=Min("day"), last=Max("day"))
    days = [t.astimezone(UTC).date() for t in (h["first"], h["last"]) if t]
    days += [day for day in (d["first"], d["last"]) if day]
    if not days:
        return None
    return min(days), max(days)


class Command(BaseCommand):
    help = "Rebuild the daily usage roll-up (DailyUsage) from the hourly usage."

    def add_arguments(self, parser):
        parser.add_argument("--start", help="first UTC day, YYYY-MM-DD (default: the first)")
        parser.add_argument("--end", help="last UTC day, included, YYYY-MM-DD (default: the last)")
        parser.add_argument("--cluster", help="rebuild only this cluster (default: every one)")

    def handle(self, *args, start, end, cluster, **options):
        # Check every option before anything is written.
        start = parse_day(start, "--start") if start else None
        end = parse_day(end, "--end") if end else None
        if start and end and end < start:
            raise CommandError(f"--end ({end}) is before --start ({start})")
        found = None
        if cluster is not None:
            found = Cluster.objects.filter(name=cluster).first()
            if found is None:
                known = ", ".join(Cluster.objects.order_by("name").values_list("name", flat=True))
                raise CommandError(
                    f"--cluster: no cluster named {cluster!r} (known: {known or 'none yet'})"
                )
        if start is None or end is None:
            bounds = data_bounds(found)
            if bounds is None:
                self.stdout.write("nothing to rebuild: no hourly usage and no roll-up rows")
                return
            start, end = start or bounds[0], end or bounds[1]
            if end < start:
                self.stdout.write(f"nothing to rebuild: no usage from {start} to {end}")
                return
        chunks = month_splits(start, end + timedelta(days=1))
        where = f"cluster {found.name}" if found else "every cluster"
        self.stdout.write(f"rebuilding the daily roll-up of {start} to {end} ({where})")
        tty = self.stdout.isatty()
        began, total = time.monotonic(), 0
        for done, (a, b) in enumerate(chunks, 1):
            rows = rollup.refresh_range(a, b, found)
            total += rows
            if tty:
                filled = int(30 * done / len(chunks))
                self.stdout.write(
                    f"\r[{'#' * filled}{' ' * (30 - filled)}] {done}/{len(chunks)} months "
                    f"{a:%Y-%m}  {total} rows",
                    ending="\n" if done == len(chunks) else "",
                )
            else:
                self.stdout.write(
                    f"refresh_rollup month={a:%Y-%m} first={a} last={b - timedelta(days=1)} "
                    f"cluster={found.name if found else 'all'} rows={rows} "
                    f"done={done}/{len(chunks)}"
                )
            self.stdout.flush()
        days = (end - start).days + 1
        self.stdout.write(
            f"rebuilt {days} days: {total} roll-up rows in {time.monotonic() - began:.1f} s"
        )
