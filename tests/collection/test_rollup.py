"""The daily roll-up (DailyUsage) always equals the sums of the hourly usage it rolls up."""

import importlib
import io
import math
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from types import SimpleNamespace

import pytest
from django.apps import apps
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.utils import timezone

from billing.collection import rollup
from billing.collection.attribution import JobUsage
from billing.collection.store import AccountResolver, CollectedUsage, write_hours
from billing.models import Cluster, CollectionRun, DailyUsage, HourlyUsage, Job
from billing.resources import QUANTITIES
from billing.utc import day_stretches, days_of
from tests.fixtures.billing_rows import HOUR, make_account, make_job

FIELDS = [*QUANTITIES, "cpu_max_core_seconds", "memory_max_byte_seconds", "jobs"]
MIGRATION = "billing.migrations.0005_usage_account_hour_fill_daily_usage"


def usage(i: int, over_request: bool = False) -> dict:
    """Distinct, awkward numbers per job-hour; usage above its request when asked."""
    cores = 1.5 + i % 3
    used = cores * (1.2 if over_request else 0.3 + (i % 7) / 10)
    return {
        "cpu_core_seconds": used * 3600 + i / 7,
        "cpu_request_core_seconds": cores * 3600,
        "memory_byte_seconds": (2 + i % 5) * 2**30 * 3600 * (1.1 if over_request else 0.6),
        "memory_request_byte_seconds": (2 + i % 5) * 2**30 * 3600,
        "gpu_seconds": 3600.0 * (i % 2),
        "gpu_memory_mib_seconds": 1e7 / 3 * (i % 2),
        "storage_byte_seconds": 5 * 2**30 * 3600.0 + i,
        "network_rx_bytes": 1e8 / 7 + i,
        "network_tx_bytes": 2e7 / 3 + i,
    }


def add_hours(job, account, start: datetime, hours: int, offset: int = 0, every_third=False):
    rows = [
        HourlyUsage(
            job=job,
            account=account,
            hour=start + k * HOUR,
            **usage(offset + k, over_request=every_third and k % 3 == 0),
        )
        for k in range(hours)
    ]
    HourlyUsage.objects.bulk_create(rows)


def expected_rollup() -> dict[tuple, dict]:
    """The roll-up computed here in Python from every hourly row."""
    groups: dict[tuple, dict] = defaultdict(lambda: defaultdict(list))
    for row in HourlyUsage.objects.select_related("job"):
        key = (row.hour.astimezone(UTC).date(), row.job.cluster_id, row.job.namespace)
        g = groups[(*key, row.account_id)]
        for q in QUANTITIES:
            g[q].append(getattr(row, q))
        g["cpu_max_core_seconds"].append(max(row.cpu_core_seconds, row.cpu_request_core_seconds))
        g["memory_max_byte_seconds"].append(
            max(row.memory_byte_seconds, row.memory_request_byte_seconds)
        )
        g["job_ids"].append(row.job_id)
    out = {}
    for key, g in groups.items():
        jobs = len(set(g.pop("job_ids")))
        out[key] = {f: math.fsum(values) for f, values in g.items()} | {"jobs": jobs}
    return out


def stored_rollup() -> dict[tuple, dict]:
    return {
        (d.day, d.cluster_id, d.namespace, d.account_id): {f: getattr(d, f) for f in FIELDS}
        for d in DailyUsage.objects.all()
    }


def rows_snapshot() -> list[tuple]:
    return sorted(
        DailyUsage.objects.values_list("day", "cluster_id", "namespace", "account_id", *FIELDS)
    )


def assert_rollup_is_the_hourly_sums():
    expected, stored = expected_rollup(), stored_rollup()
    assert stored.keys() == expected.keys()
    for key, sums in expected.items():
        assert stored[key] == pytest.approx(sums, rel=1e-12), key


@pytest.fixture
def site(db):
    """Two clusters; namespaces with several jobs and accounts; hours across midnight."""
    lab_a, lab_b = make_account("lab-a"), make_account("lab-b", cost_center="20555")
    train = make_job("train", "bio")
    serve = make_job("serve", "bio")
    sim = make_job("sim", "physics")
    other = make_job("train", "bio", cluster="epfl-2")
    start = datetime(2026, 3, 9, 20, tzinfo=UTC)
    add_hours(train, lab_a, start, 10, every_third=True)  # 20:00 to 06:00 next day
    add_hours(serve, lab_a, start + 2 * HOUR, 30, offset=100)
    # The namespace changed account at midnight: one day, two accounts for one job.
    add_hours(sim, lab_b, start, 4, offset=200)
    add_hours(sim, lab_a, start + 4 * HOUR, 5, offset=300, every_third=True)
    add_hours(other, lab_b, start, 26, offset=400)
    return SimpleNamespace(
        lab_a=lab_a, lab_b=lab_b, train=train, serve=serve, sim=sim, other=other, start=start
    )


def test_the_rollup_equals_the_sums_of_hourly_usage_per_day_cluster_namespace_account(site):
    written = rollup.refresh_range(date(2026, 3, 9), date(2026, 3, 12))
    assert written == DailyUsage.objects.count() > 0
    assert_rollup_is_the_hourly_sums()
    day = DailyUsage.objects.get(
        day=date(2026, 3, 10), cluster=site.train.cluster, namespace="bio", account=site.lab_a
    )
    assert day.jobs == 2  # train and serve, each counted once however many hours
    # Usage above the request in some hours: the max sums lie above both sums.
    assert day.cpu_max_core_seconds > max(day.cpu_core_seconds, day.cpu_request_core_seconds)
    assert day.memory_max_byte_seconds > day.memory_request_byte_seconds
    assert DailyUsage.objects.filter(namespace="physics").count() == 2  # lab-b, then lab-a


def test_refreshing_twice_gives_identical_rows(site):
    rollup.refresh_range(date(2026, 3, 9), date(2026, 3, 12))
    first = rows_snapshot()
    rollup.refresh_range(date(2026, 3, 9), date(2026, 3, 12))
    assert rows_snapshot() == first
    for cluster in Cluster.objects.all():
        for day in (date(2026, 3, 9), date(2026, 3, 10), date(2026, 3, 11)):
            rollup.refresh_range(day, day + timedelta(days=1), cluster)
    assert rows_snapshot() == first


def test_a_day_refreshed_alone_equals_the_same_day_of_a_range(site):
    rollup.refresh_range(date(2026, 3, 9), date(2026, 3, 12))
    whole = rows_snapshot()
    DailyUsage.objects.all().delete()
    for cluster in Cluster.objects.all():
        rollup.refresh_hours(cluster, [site.start + k * HOUR for k in range(40)])
    assert rows_snapshot() == whole


def test_a_refresh_removes_the_rows_of_usage_that_is_gone_and_keeps_other_clusters(site):
    rollup.refresh_range(date(2026, 3, 9), date(2026, 3, 12))
    other_cluster = sorted(
        r for r in rows_snapshot() if r[1] == site.other.cluster_id
    )  # epfl-2's rows
    HourlyUsage.objects.filter(job=site.sim).delete()
    rollup.refresh_range(date(2026, 3, 9), date(2026, 3, 12), site.train.cluster)
    assert not DailyUsage.objects.filter(namespace="physics").exists()
    assert sorted(r for r in rows_snapshot() if r[1] == site.other.cluster_id) == other_cluster
    assert_rollup_is_the_hourly_sums()


def test_days_at_a_month_end_and_a_leap_day(db):
    account = make_account()
    job = make_job()
    hours = [
        datetime(2026, 3, 31, 22, tzinfo=UTC),
        datetime(2026, 3, 31, 23, tzinfo=UTC),
        datetime(2026, 4, 1, 0, tzinfo=UTC),
        datetime(2028, 2, 28, 23, tzinfo=UTC),
        datetime(2028, 2, 29, 0, tzinfo=UTC),
        datetime(2028, 2, 29, 23, tzinfo=UTC),
        datetime(2028, 3, 1, 0, tzinfo=UTC),
    ]
    HourlyUsage.objects.bulk_create(
        [HourlyUsage(job=job, account=account, hour=h, **usage(i)) for i, h in enumerate(hours)]
    )
    assert rollup.refresh_hours(job.cluster, hours) == 5
    assert [
        d.isoformat() for d in DailyUsage.objects.order_by("day").values_list("day", flat=True)
    ] == [
        "2026-03-31",
        "2026-04-01",
        "2028-02-28",
        "2028-02-29",
        "2028-03-01",
    ]
    leap = DailyUsage.objects.get(day=date(2028, 2, 29))
    assert leap.cpu_core_seconds == pytest.approx(
        usage(4)["cpu_core_seconds"] + usage(5)["cpu_core_seconds"], rel=1e-15
    )
    assert leap.jobs == 1
    assert_rollup_is_the_hourly_sums()
    # A day's refresh touches that day only.
    HourlyUsage.objects.filter(hour__gte=datetime(2028, 1, 1, tzinfo=UTC)).delete()
    rollup.refresh_range(date(2028, 2, 29), date(2028, 3, 1), job.cluster)
    assert sorted(d.isoformat() for d in DailyUsage.objects.values_list("day", flat=True)) == [
        "2026-03-31",
        "2026-04-01",
        "2028-02-28",
        "2028-03-01",
    ]


def test_stretches_group_consecutive_days():
    days = [date(2028, 2, 28), date(2028, 2, 29), date(2028, 3, 1), date(2028, 3, 5)]
    assert day_stretches(days) == [
        (date(2028, 2, 28), date(2028, 3, 2)),
        (date(2028, 3, 5), date(2028, 3, 6)),
    ]
    assert days_of([datetime(2026, 3, 31, 23, 59, tzinfo=UTC)]) == [date(2026, 3, 31)]


def write(cluster, hour, jobs: dict[str, dict]):
    """Collect one hour of the cluster as collect_usage does: {job name: quantities}."""
    run = CollectionRun.objects.create(
        cluster=cluster.name, window_start=hour, window_end=hour + HOUR, started_at=timezone.now()
    )
    collected = {
        ("bio", "Job", name): JobUsage(parts={k: [v] for k, v in q.items()})
        for name, q in jobs.items()
    }
    hours = [CollectedUsage(hour, collected, {"bio": "10421"})]
    return write_hours(cluster, hours, AccountResolver(cluster), run)


def test_write_hour_refreshes_the_day_of_the_hour_it_writes(db):
    make_account("lab-a", cost_center="10421")
    cluster = Cluster.objects.create(name="epfl-1")
    day = datetime(2026, 3, 9, tzinfo=UTC)
    write(cluster, day + 10 * HOUR, {"train": usage(1), "eval": usage(2)})
    write(cluster, day + 11 * HOUR, {"train": usage(3)})
    write(cluster, day + 24 * HOUR, {"train": usage(4)})  # the next day
    assert_rollup_is_the_hourly_sums()
    row = DailyUsage.objects.get(day=date(2026, 3, 9))
    assert row.jobs == 2
    # Collected again: the hour is replaced, and so is the day's sum.
    write(cluster, day + 10 * HOUR, {"train": usage(5)})
    assert_rollup_is_the_hourly_sums()
    row = DailyUsage.objects.get(day=date(2026, 3, 9))
    assert row.jobs == 1
    assert row.cpu_core_seconds == pytest.approx(
        usage(5)["cpu_core_seconds"] + usage(3)["cpu_core_seconds"], rel=1e-15
    )
    # An hour collected empty leaves a day without usage, and without a roll-up row.
    write(cluster, day + 24 * HOUR, {})
    assert not DailyUsage.objects.filter(day=date(2026, 3, 10)).exists()
    assert DailyUsage.objects.filter(day=date(2026, 3, 9)).exists()


def test_the_data_migration_fills_the_rollup_from_the_existing_hours(site):
    migration = importlib.import_module(MIGRATION)
    # A stale row of a day with no usage left, from before: the migration replaces it.
    DailyUsage.objects.create(
        day=date(2026, 3, 10), cluster=site.train.cluster, namespace="gone", account=site.lab_a
    )
    migration.fill_daily_usage(apps, SimpleNamespace(connection=connection))
    assert_rollup_is_the_hourly_sums()
    filled = rows_snapshot()
    rollup.refresh_range(date(2026, 3, 9), date(2026, 3, 12))
    assert rows_snapshot() == filled


def test_the_data_migration_does_nothing_without_hourly_usage(db):
    migration = importlib.import_module(MIGRATION)
    migration.fill_daily_usage(apps, SimpleNamespace(connection=connection))
    assert not DailyUsage.objects.exists()


def refresh_rollup(*args) -> str:
    out = io.StringIO()
    call_command("refresh_rollup", *args, stdout=out)
    return out.getvalue()


def test_refresh_rollup_rebuilds_every_day_by_default(site):
    out = refresh_rollup()
    assert "rebuilding the daily roll-up of 2026-03-09 to 2026-03-11 (every cluster)" in out
    assert "refresh_rollup month=2026-03" in out  # one structured line per month
    assert f"rebuilt 3 days: {DailyUsage.objects.count()} roll-up rows" in out
    assert_rollup_is_the_hourly_sums()
    before = rows_snapshot()
    refresh_rollup()
    assert rows_snapshot() == before


def test_refresh_rollup_takes_a_range_and_a_cluster(site):
    out = refresh_rollup("--start", "2026-03-10", "--end", "2026-03-10", "--cluster", "epfl-2")
    assert "cluster=epfl-2" in out and "rebuilt 1 days" in out
    assert set(DailyUsage.objects.values_list("day", "cluster__name")) == {
        (date(2026, 3, 10), "epfl-2")
    }
    refresh_rollup("--start", "2026-03-01", "--end", "2026-04-30")
    assert_rollup_is_the_hourly_sums()


def test_refresh_rollup_with_nothing_to_do(db):
    assert "nothing to rebuild" in refresh_rollup()


@pytest.mark.parametrize(
    "args, message",
    [
        (["--start", "2026-13-01"], "--start: '2026-13-01' is not a date (YYYY-MM-DD)"),
        (["--end", "yesterday"], "--end: 'yesterday' is not a date"),
        (["--start", "2026-03-10", "--end", "2026-03-09"], "--end (2026-03-09) is before --start"),
        (["--cluster", "nope"], "--cluster: no cluster named 'nope' (known: epfl-1, epfl-2)"),
    ],
)
def test_refresh_rollup_rejects_bad_options_naming_them_and_writes_nothing(site, args, message):
    rollup.refresh_range(date(2026, 3, 9), date(2026, 3, 12))
    before = rows_snapshot()
    Job.objects.update(namespace="bio")  # would change the roll-up, were it rebuilt
    with pytest.raises(CommandError) as e:
        refresh_rollup(*args)
    assert message in str(e.value)
    assert rows_snapshot() == before


def test_refresh_rollup_over_month_boundaries_splits_per_month(db):
    account, job = make_account(), make_job()
    start = datetime(2026, 1, 31, 12, tzinfo=UTC)
    add_hours(job, account, start, 24 * 30)  # 31 January 12:00 to 2 March 12:00
    out = refresh_rollup()
    assert [line.split()[1] for line in out.splitlines() if "month=" in line] == [
        "month=2026-01",
        "month=2026-02",
        "month=2026-03",
    ]
    assert DailyUsage.objects.count() == 31
    assert DailyUsage.objects.get(day=start.date() + timedelta(days=29)).jobs == 1
    assert_rollup_is_the_hourly_sums()
