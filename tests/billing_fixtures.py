"""Helpers for the billing tests: accounts, jobs, usage rows and tariffs, straight in the DB.

Usage is written as HourlyUsage rows (no Prometheus needed), each hour marked collected by
a collection run, as collect_usage would leave it.
"""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from django.utils import timezone

from billing.models import Account, Cluster, CollectedHour, CollectionRun, HourlyUsage, Job, Tariff
from billing.resources import GIB, QUANTITIES

HOUR = timedelta(hours=1)
MARCH = datetime(2026, 3, 1, tzinfo=UTC)
APRIL = datetime(2026, 4, 1, tzinfo=UTC)
# Every resource at a simple price, with the units and policies of the import file.
TARIFFS = [
    ("cpu", "core-hour", "0.05", "max"),
    ("memory", "GiB-hour", "0.005", "max"),
    ("gpu", "GPU-hour", "1.20", "request"),
    ("gpu_memory", "GiB-hour", "0.01", "usage"),
    ("storage", "GiB-month", "0.03", "usage"),
    ("network_rx", "GiB", "0", "usage"),
    ("network_tx", "GiB", "0.02", "usage"),
]


@dataclass
class CollectedJob:
    """What write_hours reads of a job's collected usage (attribution.JobUsage)."""

    quantities: dict


def make_tariffs(valid_from=datetime(2026, 1, 1, tzinfo=UTC), **prices):
    """Create one tariff per resource from `valid_from`; prices override by resource."""
    for resource, unit, price, policy in TARIFFS:
        Tariff.objects.create(
            resource=resource,
            unit=unit,
            price_chf=Decimal(prices.get(resource, price)),
            policy=policy,
            valid_from=valid_from,
        )


def make_account(name="lab-a", **receiver):
    return Account.objects.create(name=name, **(receiver or {"cost_center": "10421"}))


def make_job(name="train", namespace="lab-a", cluster="epfl-1"):
    cluster, _ = Cluster.objects.get_or_create(name=cluster)
    return Job.objects.create(
        cluster=cluster,
        namespace=namespace,
        kind="Job",
        name=name,
        first_seen=MARCH,
        last_seen=MARCH,
    )


def add_usage(job, account, hour, **quantities):
    """Write one job-hour; quantities in stored units (seconds, bytes, ...)."""
    unknown = set(quantities) - set(QUANTITIES)
    assert not unknown, unknown
    return HourlyUsage.objects.create(job=job, hour=hour, account=account, **quantities)


def collect_hours(start, end, cluster="epfl-1", flagged_reason=""):
    """Mark [start, end) collected by one successful run, as collect_usage would."""
    cluster, _ = Cluster.objects.get_or_create(name=cluster)
    run = CollectionRun.objects.create(
        cluster=cluster.name,
        window_start=start,
        window_end=end,
        status=CollectionRun.Status.SUCCEEDED,
        started_at=end,
        finished_at=end + timedelta(seconds=5),
        queries=12,
        query_seconds=0.5,
    )
    hour = start
    while hour < end:
        CollectedHour.objects.update_or_create(
            cluster=cluster,
            hour=hour,
            defaults={
                "run": run,
                "collected_at": timezone.now(),
                "flagged": bool(flagged_reason),
                "flag_reason": flagged_reason,
            },
        )
        hour += HOUR
    return run


def core_hours(n) -> dict:
    return {"cpu_core_seconds": n * 3600.0}


def gib_hours(n) -> dict:
    return {"memory_byte_seconds": n * GIB * 3600.0}


def march_account():
    """Make an account with one job and tariffs for every resource, March 2026 collected."""
    make_tariffs()
    account = make_account()
    job = make_job()
    collect_hours(MARCH, APRIL)
    return account, job
