"""collect_usage against the simulator on a real Prometheus, compared with the simulator's truth."""

from collections import defaultdict

import pytest
from django.core.management import CommandError

from billing.models import (
    Account,
    Cluster,
    CollectedHour,
    CollectionRun,
    HourlyUsage,
    NamespaceAccount,
)
from billing.resources import QUANTITIES
from billing.utc import HOUR
from tests.conftest import SCRAPE_INTERVAL
from tests.fixtures.truth_compare import (
    COUNTERS,
    GAUGES,
    PER_JOB_ONLY,
    REQUESTS,
    TOTAL_TOLERANCE,
    collect,
    long_running,
    pod_request_tolerance,
    quantity,
    truth_jobs,
    usage_by_job,
)


@pytest.fixture(scope="module")
def truth(cluster, usage_window):
    return cluster.truth(*usage_window)


@pytest.fixture
def collected(prometheus_settings, usage_window, api_client):
    collect(usage_window)
    return usage_by_job(api_client, usage_window)


def test_cpu_and_network_equal_the_observed_counter_increases_for_every_job(collected, truth):
    for key, job in truth_jobs(truth).items():
        row = collected.get(key, {})
        for name in COUNTERS:
            expected = quantity(job, name)
            assert row.get(name, 0.0) == pytest.approx(expected, rel=1e-9, abs=1e-6), (key, name)


def test_no_usage_is_billed_to_jobs_the_truth_does_not_know(collected, truth):
    assert set(collected) <= set(truth_jobs(truth))


def test_requests_and_gpus_are_billed_within_one_scrape_interval_of_running_time(collected, truth):
    for key, job in truth_jobs(truth).items():
        row = collected.get(key, {})
        for name, resource in REQUESTS.items():
            expected = quantity(job, name, "real")
            tolerance = pod_request_tolerance(job, resource) + 1e-6
            assert abs(row.get(name, 0.0) - expected) <= tolerance, (key, name)


def test_gauge_integrals_are_within_one_percent_for_jobs_of_ten_intervals(
    collected, truth, usage_window
):
    checked = 0
    for key, job in truth_jobs(truth).items():
        if "pods" not in job or not long_running(job, usage_window):
            continue
        row = collected.get(key, {})
        for name in GAUGES:
            expected = quantity(job, name, "real")
            assert row.get(name, 0.0) == pytest.approx(expected, rel=0.01, abs=1e-6), (key, name)
        checked += 1
    assert checked >= 10


def test_storage_is_billed_for_the_time_each_claim_exists(collected, truth):
    for claim in truth["pvcs"]:
        key = (claim["namespace"], "PersistentVolumeClaim", claim["name"])
        expected = quantity(claim, "storage_byte_seconds", "real")
        tolerance = claim["storage_bytes"] * SCRAPE_INTERVAL
        assert abs(collected.get(key, {}).get("storage_byte_seconds", 0) - expected) <= tolerance


def test_cluster_totals_per_day_are_within_a_thousandth_of_the_truth(
    prometheus_settings, api_client, usage_window, truth
):
    """Against what the exporters made observable; the test prints the gap to the real."""
    collect(usage_window)
    start, end = usage_window
    answer = api_client.get(
        "/api/v1/usage",
        {
            "start": start.isoformat(),
            "end": end.isoformat(),
            "group_by": "cluster,day",
            "cluster": "default",
        },
    )
    rows = answer.json()["rows"]
    assert len(rows) == 1  # the window lies inside one UTC day
    for name in (q for q in QUANTITIES if q not in PER_JOB_ONLY):
        observed, real = truth["totals"][name]["observed"], truth["totals"][name]["real"]
        print(f"{name}: collected/real - 1 = {rows[0][name] / real - 1 if real else 0:+.4%}")
        rel = TOTAL_TOLERANCE.get(name, 0.001)
        assert rows[0][name] == pytest.approx(observed, rel=rel), name


def test_a_completed_job_pod_is_not_billed_after_it_ended(collected, truth, usage_window):
    lingering = [
        (job, pod)
        for job in truth["jobs"]
        for pod in job["pods"]
        if pod["completed"]
        and pod["completed"] < usage_window[1].isoformat()
        and (pod["deleted"] is None or pod["deleted"] > pod["completed"])
        and pod["completed"] > usage_window[0].isoformat()
    ]
    assert lingering, "the simulated window should hold Job pods that outlive their run"
    for job, _ in lingering:
        key = (job["namespace"], job["kind"], job["name"])
        expected = quantity(job, "cpu_request_core_seconds", "real")
        tolerance = pod_request_tolerance(job, "cpu") + 1e-6
        assert abs(collected.get(key, {}).get("cpu_request_core_seconds", 0) - expected) <= (
            tolerance
        )


def test_a_host_network_pod_is_not_billed_node_traffic(collected, truth):
    host_jobs = [j for j in truth["jobs"] if any(p["host_network"] for p in j["pods"])]
    assert host_jobs
    for job in host_jobs:
        row = collected.get((job["namespace"], job["kind"], job["name"]), {})
        assert row.get("cpu_core_seconds", 0) > 0
        assert row.get("network_rx_bytes", 0) == 0
        assert row.get("network_tx_bytes", 0) == 0


def usage_rows() -> list[tuple]:
    return sorted(
        HourlyUsage.objects.values_list(
            "job__namespace", "job__kind", "job__name", "hour", "account__name", *QUANTITIES
        )
    )


def test_collecting_again_and_hour_by_hour_gives_identical_rows(
    db, prometheus_settings, usage_window
):
    collect(usage_window)
    first = usage_rows()
    collect(usage_window)
    assert usage_rows() == first
    start, end = usage_window
    hour = start
    while hour < end:
        collect((hour, hour + HOUR))
        hour += HOUR
    assert usage_rows() == first
    assert CollectedHour.objects.count() == 6


def test_every_namespace_maps_to_an_account_or_to_unassigned(collected, truth):
    accounts = defaultdict(set)
    for row in HourlyUsage.objects.values("job__namespace", "account__name"):
        accounts[row["job__namespace"]].add(row["account__name"])
    for namespace, info in truth["namespaces"].items():
        if namespace not in accounts:
            continue
        expected = f"CC {info['cost_center']}" if info.get("cost_center") else "unassigned"
        assert accounts[namespace] == {expected}, namespace


def test_a_run_is_recorded_with_its_queries(collected, usage_window):
    run = CollectionRun.objects.get()
    assert run.status == "succeeded"
    assert run.hours_written == 6
    # About 45 range queries for the chunk, whatever the number of jobs, and raw fetches in
    # the hours that need them (resets, vanished pods, GPU pods ending, claims coming).
    assert 0 < run.queries < 90


def test_a_docker_flavoured_cluster_labelled_in_the_same_prometheus_is_billed_exactly(
    prometheus_settings, api_client, usage_window, docker_cluster
):
    collect(usage_window, cluster="docker-lab")
    collected = usage_by_job(api_client, usage_window, cluster="docker-lab")
    truth = docker_cluster.truth(*usage_window)
    assert collected, "the docker-flavoured cluster should have usage"
    assert set(collected) <= set(truth_jobs(truth))
    for key, job in truth_jobs(truth).items():
        for name in COUNTERS:
            expected = quantity(job, name)
            got = collected.get(key, {}).get(name, 0.0)
            assert got == pytest.approx(expected, rel=1e-9, abs=1e-6), (key, name)
    assert not HourlyUsage.objects.exclude(job__cluster__name="docker-lab").exists()


def test_an_unknown_cluster_is_refused_naming_the_known_ones(prometheus_settings, usage_window):
    with pytest.raises(CommandError, match="--cluster: no cluster named 'nowhere'.*docker-lab"):
        collect(usage_window, cluster="nowhere")


def test_an_admin_mapping_wins_over_the_label_while_it_is_valid(
    db, prometheus_settings, usage_window
):
    cluster = Cluster.objects.create(name="default")
    lab = Account.objects.create(name="Physics lab", wbs_element="P-1234.01")
    start, end = usage_window
    NamespaceAccount.objects.create(
        cluster=cluster,
        namespace="genomics",
        account=lab,
        valid_from=start + 2 * HOUR,
        valid_until=start + 4 * HOUR,
    )
    collect(usage_window)
    hours = defaultdict(set)
    for row in HourlyUsage.objects.filter(job__namespace="genomics"):
        hours[row.account.name].add(row.hour)
    assert hours["Physics lab"] == {start + 2 * HOUR, start + 3 * HOUR}
    assert len(hours) == 2  # the label's cost centre before and after
