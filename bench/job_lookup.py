"""Benchmark of the Job lookup of collection: a run's JobDirectory against one OR per hour.

    DATABASE_URL=postgres://... .venv/bin/python bench/job_lookup.py [--jobs 2000]
                                                 [--history 50000] [--hours 24]

On a fresh database holding `--history` jobs of past months, `--hours` hours each name
`--jobs` jobs (half of them the same all day, half new every hour, as a busy batch cluster
does) and resolve them to Job rows: once with the lookup of revision e3e14a6 (one SELECT per
hour with an OR of every (namespace, kind, name), bulk_update of the widened ones), once
with billing.collection.jobs.JobDirectory. Prints the median and total seconds per hour of each.
"""

import argparse
import os
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kubemon.settings")

START = datetime(2026, 3, 2, tzinfo=UTC)


def or_lookup(cluster, hour, usage):
    """The lookup of e3e14a6 (billing/collection/store.py jobs_for), kept here to compare with."""
    from django.db.models import Q

    from billing.models import Job

    keys = set(usage)
    wanted = Q(pk__in=[])
    for namespace, kind, name in keys:
        wanted |= Q(namespace=namespace, kind=kind, name=name)
    existing = {
        (j.namespace, j.kind, j.name): j for j in Job.objects.filter(wanted, cluster=cluster)
    }
    new = [
        Job(cluster=cluster, namespace=ns, kind=k, name=n, first_seen=hour, last_seen=hour)
        for ns, k, n in keys - existing.keys()
    ]
    for job in Job.objects.bulk_create(new):
        existing[(job.namespace, job.kind, job.name)] = job
    widened = []
    for job in existing.values():
        if hour < job.first_seen or hour > job.last_seen:
            job.first_seen, job.last_seen = min(job.first_seen, hour), max(job.last_seen, hour)
            widened.append(job)
    Job.objects.bulk_update(widened, ["first_seen", "last_seen"])
    return existing


def run(name: str, lookup, args) -> list[float]:
    from django.db import transaction

    from billing.collection.attribution import JobUsage
    from billing.models import Cluster, Job

    cluster = Cluster.objects.create(name=name)
    past = START - timedelta(days=60)
    Job.objects.bulk_create(
        [
            Job(
                cluster=cluster,
                namespace=f"ns-{i % 8}",
                kind="Job",
                name=f"old-{i}",
                first_seen=past,
                last_seen=past,
            )
            for i in range(args.history)
        ],
        batch_size=2000,
    )
    seconds = []
    for h in range(args.hours):
        hour = START + timedelta(hours=h)
        names = [("Deployment", f"steady-{i}") for i in range(args.jobs // 2)]
        names += [("Job", f"batch-{h}-{i}") for i in range(args.jobs - args.jobs // 2)]
        usage = {(f"ns-{i % 8}", kind, n): JobUsage() for i, (kind, n) in enumerate(names)}
        began = time.monotonic()
        with transaction.atomic():
            lookup(cluster, hour, usage)
        seconds.append(time.monotonic() - began)
    return seconds


def main():
    import django

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--jobs", type=int, default=2000)
    p.add_argument("--history", type=int, default=50000)
    p.add_argument("--hours", type=int, default=24)
    args = p.parse_args()
    django.setup()
    from django.core.management import call_command

    from billing.collection.jobs import JobDirectory

    call_command("migrate", verbosity=0)
    directories = {}

    def per_run(cluster, hour, usage):
        directory = directories.setdefault(cluster.pk, JobDirectory(cluster))
        return directory.for_hour(hour, usage)

    print("| lookup | median s/hour | first hour | last hour | total s |")
    print("|---|---|---|---|---|")
    for name, lookup in (("e3e14a6: OR per hour", or_lookup), ("JobDirectory", per_run)):
        s = run(name, lookup, args)
        print(f"| {name} | {statistics.median(s):.3f} | {s[0]:.3f} | {s[-1]:.3f} | {sum(s):.2f} |")


if __name__ == "__main__":
    main()
