"""Per-pod arithmetic of collection and the owner of each pod: pure functions."""

import math
from datetime import UTC, datetime

import pytest

from billing.collection.attribution import gauge_integral, job_of, usage_by_job
from billing.collection.facts import Hour, PodFacts, counter_increase

HOUR = datetime(2026, 3, 2, 10, tzinfo=UTC)
H0 = HOUR.timestamp()


def test_a_counter_without_reset_increases_by_its_last_value_minus_the_previous_one():
    assert counter_increase(100.0, [110.0, 125.5]) == 25.5


def test_a_new_series_counts_from_zero():
    assert counter_increase(0.0, [3.0, 7.0]) == 7.0


def test_a_reset_adds_the_value_after_it():
    assert counter_increase(100.0, [120.0, 5.0, 9.0]) == 20.0 + 5.0 + 4.0


def test_a_reset_at_the_start_of_the_hour_is_seen():
    assert counter_increase(100.0, [4.0]) == 4.0


def pod(**facts) -> PodFacts:
    return PodFacts("lab", "p", "u", **facts)


def test_a_pod_running_through_the_hour_runs_3600_seconds():
    assert pod(seen_active=True, active_at_end=True, start=H0 - 50).running_seconds(H0) == 3600


def test_a_completed_pod_stops_at_its_completion_time():
    p = pod(seen_active=True, start=H0 + 100, completion=H0 + 400, terminal=True)
    assert p.running_seconds(H0) == 300


def test_running_starts_at_the_first_container_not_at_pod_acceptance():
    p = pod(seen_active=True, start=H0 + 100, app_start=H0 + 130, completion=H0 + 400)
    p.terminal = True
    assert p.running_seconds(H0) == 270


def test_a_pod_too_short_to_be_seen_running_is_billed_from_its_times():
    assert pod(start=H0 + 10, completion=H0 + 25, terminal=True).running_seconds(H0) == 15


def test_a_pod_that_completed_before_the_hour_is_not_billed_although_it_still_exports():
    assert pod(start=H0 - 900, completion=H0 - 300, terminal=True).running_seconds(H0) == 0


def test_a_pod_that_never_ran_is_not_billed():
    assert pod(start=H0 - 900).running_seconds(H0) == 0


def test_a_pod_that_vanished_runs_until_its_estimated_deletion():
    p = pod(seen_active=True, start=H0 - 60, vanished=H0 + 615)
    assert p.running_seconds(H0) == 615


def test_gauge_integral_is_the_mean_sample_times_the_running_time():
    assert gauge_integral(total=10 * 300.0, count=10, seconds=290, interval=30) == 300.0 * 290


def test_job_of_resolves_deployments_and_cronjobs():
    hour = Hour()
    hour.replicaset_owner[("lab", "web-5d9f")] = ("Deployment", "web")
    hour.job_parent[("lab", "backup-290000")] = ("CronJob", "backup")
    assert job_of(pod(owner_kind="ReplicaSet", owner_name="web-5d9f"), hour)[:2] == (
        "Deployment",
        "web",
    )
    assert job_of(pod(owner_kind="Job", owner_name="backup-290000"), hour) == (
        "Job",
        "backup-290000",
        "CronJob",
        "backup",
    )
    assert job_of(pod(owner_kind="<none>", owner_name="<none>"), hour)[:2] == ("Pod", "p")
    assert job_of(pod(owner_kind="ReplicaSet", owner_name="orphan-1"), hour)[:2] == (
        "ReplicaSet",
        "orphan-1",
    )


def test_a_host_network_pod_is_billed_cpu_but_not_network():
    hour = Hour()
    hour.pods[("lab", "agent", "u")] = PodFacts(
        "lab", "agent", "u", seen_active=True, active_at_end=True, host_network=True
    )
    hour.counters["cpu_core_seconds"][("lab", "agent")] = [12.0]
    hour.counters["network_rx_bytes"][("lab", "agent")] = [1e9]
    usage = usage_by_job(HOUR, hour, 30)
    quantities = usage[("lab", "Pod", "agent")].quantities
    assert quantities["cpu_core_seconds"] == 12.0
    assert quantities["network_rx_bytes"] == 0


def test_usage_of_a_pod_unknown_to_kube_state_metrics_is_kept_on_the_pod():
    hour = Hour()
    hour.counters["cpu_core_seconds"][("lab", "ghost")] = [2.0, 3.0]
    assert usage_by_job(HOUR, hour, 30)[("lab", "Pod", "ghost")].quantities[
        "cpu_core_seconds"
    ] == pytest.approx(5.0)


def test_job_totals_do_not_depend_on_the_order_of_their_parts():
    parts = [0.1, 1e16, 0.2, -1e16, 701.110642, 1e-9]
    first, second = Hour(), Hour()
    first.counters["cpu_core_seconds"][("lab", "p")] = parts
    second.counters["cpu_core_seconds"][("lab", "p")] = parts[::-1]
    totals = [
        usage_by_job(HOUR, hour, 30)[("lab", "Pod", "p")].quantities["cpu_core_seconds"]
        for hour in (first, second)
    ]
    assert totals[0] == totals[1] == math.fsum(parts)
