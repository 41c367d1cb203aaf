"""Collection at cluster scale: a large steady set in the simulator, and a collector whose
database and Prometheus work do not grow faster than the data (bench/collect.py measures it)."""

import re
from datetime import timedelta
from itertools import groupby

from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from billing.collection.attribution import JobUsage
from billing.collection.jobs import JobDirectory
from billing.collection.store import AccountResolver, CollectedUsage, write_hours
from billing.models import CollectionRun, HourlyUsage, Job
from billing.resources import QUANTITIES
from simulator.cluster import Cluster
from tests.fixtures.billing_rows import MARCH

HOUR = timedelta(hours=1)


def long_running_pods(cluster: Cluster, a: int) -> list:
    pods, _ = cluster.objects(a, a + 3600)
    return [p for p in pods if p.completed is None and p.deleted is None]


def test_steady_pods_add_long_running_deployments_and_change_nothing_else():
    a = int(MARCH.timestamp())
    base = Cluster(seed=3, nodes=2, gpu_nodes=0, jobs_per_hour=4)
    grown = Cluster(
        seed=3, nodes=2, gpu_nodes=0, jobs_per_hour=4, steady_pods=10, steady_containers=3
    )
    before, after = long_running_pods(base, a), long_running_pods(grown, a)
    extra = [p for p in after if p.uid not in {q.uid for q in before}]
    assert len(extra) == 10
    assert sum(len(p.containers) for p in extra) == 30
    assert {p.workload.kind for p in extra} == {"Deployment"}
    assert len({p.workload.name for p in extra}) == 3  # 4 replicas each, the last has 2
    all_before = {p.uid for p in base.objects(a, a + 3600)[0]}
    assert all_before <= {p.uid for p in grown.objects(a, a + 3600)[0]}


def test_the_truth_bills_the_steady_pods_for_the_whole_hour():
    cluster = Cluster(seed=3, nodes=1, gpu_nodes=0, jobs_per_hour=0, steady_pods=4)
    truth = cluster.truth(MARCH, MARCH + HOUR)
    fleet = [j for j in truth["jobs"] if j["name"] == "service-0"]
    assert len(fleet) == 1
    assert fleet[0]["kind"] == "Deployment"
    assert len(fleet[0]["pods"]) == 4
    assert fleet[0]["quantities"]["cpu_core_seconds"]["observed"] > 0


def usage_of(jobs: int) -> dict:
    return {
        ("lab", "Deployment", f"web-{i}"): JobUsage(parts={"cpu_core_seconds": [1.0]})
        for i in range(jobs)
    }


def job_statements(captured) -> list[str]:
    """The kinds of statement on the Job table itself, a batch of the same kind as one."""
    on_jobs = re.compile(r'(FROM|INTO|UPDATE) "billing_job"[ (]')
    kinds = [q["sql"].split()[0] for q in captured.captured_queries if on_jobs.search(q["sql"])]
    return [kind for kind, _ in groupby(kinds)]


def test_a_run_reads_its_jobs_once_and_widens_them_with_one_update_per_hour(db):
    run = CollectionRun.objects.create(
        cluster="default", window_start=MARCH, window_end=MARCH, started_at=timezone.now()
    )
    cluster_row = Job._meta.get_field("cluster").related_model.objects.create(name="default")
    accounts, jobs = AccountResolver(cluster_row), JobDirectory(cluster_row)
    for jobs_count, hour in ((300, MARCH), (300, MARCH + HOUR), (600, MARCH + 2 * HOUR)):
        with CaptureQueriesContext(connection) as captured:
            write_hours(
                cluster_row, [CollectedUsage(hour, usage_of(jobs_count), {})], accounts, run, jobs
            )
        statements = job_statements(captured)
        if hour == MARCH:  # read by name, then created in bulk
            assert statements == ["SELECT", "INSERT"]
        elif jobs_count == 300:
            assert statements == ["UPDATE"]
        else:  # 300 new ones read and created; 300 known ones widened
            assert statements == ["SELECT", "INSERT", "UPDATE"]
    assert Job.objects.count() == 600
    assert Job.objects.filter(first_seen=MARCH, last_seen=MARCH + 2 * HOUR).count() == 300
    assert HourlyUsage.objects.filter(hour=MARCH + 2 * HOUR).count() == 600


def collect(window):
    start, end = window
    call_command("collect_usage", start=start.isoformat(), end=end.isoformat(), cluster="default")
    return sorted(
        HourlyUsage.objects.values_list(
            "job__namespace", "job__kind", "job__name", "hour", *QUANTITIES
        )
    )


def test_reading_ahead_in_parallel_stores_the_rows_of_one_query_at_a_time(
    db, prometheus_settings, usage_window
):
    window = (usage_window[0], usage_window[0] + 3 * HOUR)
    prometheus_settings.KUBEMON_COLLECT_CONCURRENCY = 1
    prometheus_settings.KUBEMON_COLLECT_CHUNK_HOURS = 3
    one_at_a_time = collect(window)
    prometheus_settings.KUBEMON_COLLECT_CONCURRENCY = 2
    prometheus_settings.KUBEMON_COLLECT_CHUNK_HOURS = 1
    assert collect(window) == one_at_a_time
    run = CollectionRun.objects.latest("started_at")
    assert 0 < run.query_seconds < (run.finished_at - run.started_at).total_seconds()
