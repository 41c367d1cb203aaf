"""A small billed site for the page and API tests, straight in the database.

Two labs and the unassigned account on one cluster, jobs of several kinds (one run by a
CronJob) in October and November 2026, usage hour by hour with the daily roll-up, a
collection history with a failure and data gaps, October closed and exported, and one
user per role. Everything is derived from a few fixed numbers, so tests can check pages
against sums they compute themselves.
"""

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from functools import cache
from pathlib import Path

from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Group, User

from billing.collection import rollup
from billing.ledger.periods import close_period
from billing.models import (
    Account,
    Cluster,
    CollectedHour,
    CollectionRun,
    DataGap,
    HourlyUsage,
    Job,
    NamespaceAccount,
)
from billing.resources import GIB
from billing.sifac.batches import export
from billing.utc import hours_in
from tests.billing_fixtures import make_tariffs

HOUR = timedelta(hours=1)
OCTOBER = datetime(2026, 10, 1, tzinfo=UTC)
NOVEMBER = datetime(2026, 11, 1, tzinfo=UTC)
# The site's "now": late on 29 November 2026, collected up to 20:00 UTC.
NOW = datetime(2026, 11, 29, 21, 0, tzinfo=UTC)
COLLECTED_UNTIL = datetime(2026, 11, 29, 20, 0, tzinfo=UTC)
PASSWORD = "correct horse battery"
# (namespace, account) on the cluster; `scratch` maps to no account: unassigned.
NAMESPACES = [("bio-lab", "lab-a"), ("bio-ci", "lab-a"), ("physics", "lab-b"), ("scratch", None)]
USERS = {"fiona": "finance", "oscar": "ops", "alice": "lab-a", "bob": "lab-b"}


@dataclass
class Site:
    cluster: Cluster
    accounts: dict[str, Account]
    users: dict[str, User]
    jobs: dict[str, Job] = field(default_factory=dict)


def job_plan() -> list[tuple]:
    """(namespace, kind, name, parent kind, parent name, first hour, hours, cores, GiB, GPUs)."""
    plan = []
    for i in range(12):
        start = OCTOBER + timedelta(days=5 * i, hours=3 * i)
        plan.append(("bio-lab", "Job", f"train-{i:02d}", "", "", start, 6 + i, 2 + i % 3, 4, i % 2))
    for i in range(8):
        start = OCTOBER + timedelta(days=7 * i, hours=2)
        plan.append(("bio-ci", "Job", f"nightly-{i:02d}", "CronJob", "nightly", start, 3, 1, 2, 0))
    plan.append(("bio-lab", "Deployment", "notebook", "", "", NOVEMBER, 24 * 20, 0.5, 8, 0))
    for i in range(10):
        start = OCTOBER + timedelta(days=4 * i + 1, hours=i)
        plan.append(("physics", "Job", f"sim-{i:02d}", "", "", start, 10, 8, 16, 0))
    plan.append(("physics", "StatefulSet", "db", "", "", OCTOBER, 24 * 50, 1, 2, 0))
    plan.append(("scratch", "Pod", "debug", "", "", NOVEMBER + timedelta(days=3), 5, 1, 1, 0))
    return plan


def usage_of(cores: float, gib: float, gpus: int, i: int) -> dict:
    used = cores * (0.5 + (i % 5) / 10)
    return {
        "cpu_core_seconds": used * 3600,
        "cpu_request_core_seconds": cores * 3600,
        "memory_byte_seconds": gib * 0.6 * GIB * 3600,
        "memory_request_byte_seconds": gib * GIB * 3600,
        "gpu_seconds": gpus * 3600.0,
        "gpu_memory_mib_seconds": gpus * 10240 * 3600.0,
        "storage_byte_seconds": 5 * GIB * 3600.0,
        "network_rx_bytes": 2e8,
        "network_tx_bytes": 5e7,
    }


@cache
def password_hash() -> str:
    """The users' password hashed once per test process: hashing is slow by design."""
    return make_password(PASSWORD)


def make_users(accounts: dict[str, Account]) -> dict[str, User]:
    users = {}
    for name, role in USERS.items():
        user = User.objects.create(
            username=name, email=f"{name}@example.org", password=password_hash()
        )
        if role in accounts:
            accounts[role].members.add(user)
        else:
            user.groups.add(Group.objects.get_or_create(name=role)[0])
        users[name] = user
    return users


def add_collection_history(cluster: Cluster):
    run = CollectionRun.objects.create(
        cluster=cluster.name,
        window_start=OCTOBER,
        window_end=COLLECTED_UNTIL,
        status=CollectionRun.Status.SUCCEEDED,
        started_at=COLLECTED_UNTIL,
        finished_at=COLLECTED_UNTIL + timedelta(minutes=2),
        queries=1200,
        query_seconds=40.0,
    )
    CollectedHour.objects.bulk_create(
        CollectedHour(cluster=cluster, hour=hour, run=run, collected_at=COLLECTED_UNTIL)
        for hour in hours_in(OCTOBER, COLLECTED_UNTIL)
    )
    failed_at = COLLECTED_UNTIL - 3 * HOUR
    CollectionRun.objects.create(
        cluster=cluster.name,
        window_start=failed_at,
        window_end=failed_at + HOUR,
        status=CollectionRun.Status.FAILED,
        started_at=failed_at + HOUR,
        finished_at=failed_at + HOUR,
        error="Prometheus did not answer within 30 s",
    )
    for start, minutes, bridged in [(NOVEMBER + timedelta(days=20), 15, True)]:
        DataGap.objects.create(
            cluster=cluster,
            exporter="kube-state-metrics",
            start=start,
            end=start + timedelta(minutes=minutes),
            bridged=bridged,
        )


def build_site(export_dir: Path | None = None) -> Site:
    """Create the site; with `export_dir`, October is closed and exported there as CSV."""
    make_tariffs(valid_from=datetime(2026, 1, 1, tzinfo=UTC))
    cluster = Cluster.objects.create(name="epfl-1")
    accounts = {
        "lab-a": Account.objects.create(name="lab-a", description="Bio lab", cost_center="10421"),
        "lab-b": Account.objects.create(name="lab-b", description="Physics", cost_center="20555"),
        "unassigned": Account.objects.get_or_create(name=Account.UNASSIGNED)[0],
    }
    for namespace, account in NAMESPACES:
        if account:
            NamespaceAccount.objects.create(
                cluster=cluster, namespace=namespace, account=accounts[account], valid_from=OCTOBER
            )
    site = Site(cluster, accounts, make_users(accounts))
    owner = dict(NAMESPACES)
    rows = []
    for i, (ns, kind, name, pkind, pname, first, hours, cores, gib, gpus) in enumerate(job_plan()):
        last = min(first + hours * HOUR, COLLECTED_UNTIL)
        job = Job.objects.create(
            cluster=cluster,
            namespace=ns,
            kind=kind,
            name=name,
            parent_kind=pkind,
            parent_name=pname,
            first_seen=first,
            last_seen=last,
        )
        site.jobs[name] = job
        account = accounts[owner[ns] or "unassigned"]
        hour = first
        while hour < last:
            rows.append(
                HourlyUsage(job=job, hour=hour, account=account, **usage_of(cores, gib, gpus, i))
            )
            hour += HOUR
    HourlyUsage.objects.bulk_create(rows)
    day = OCTOBER.date()
    while day <= COLLECTED_UNTIL.date():
        rollup.refresh_range(day, day + timedelta(days=1), cluster)
        day += timedelta(days=1)
    add_collection_history(cluster)
    if export_dir is not None:
        period, _ = close_period(date(2026, 10, 1), force=False, now=NOW)
        export(period, "csv", export_dir, new_batch=False, allow_unassigned=False, now=NOW)
    return site
