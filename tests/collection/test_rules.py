"""The rules of collection as pure functions: running time, effective requests, GPU weights,
data gaps, and what real scrapes do to labels (billing/collection/: facts, gaps, gpus,
series)."""

from datetime import UTC, datetime

import pytest

from billing.collection.attribution import usage_by_job
from billing.collection.facts import Hour, InstanceFacts, PodFacts
from billing.collection.gaps import Gap, Gaps, existence_seconds, gaps_in
from billing.collection.gpus import gpu_weight, parse_weights
from billing.collection.series import object_labels, one_replica, pod_uid_of_cgroup

HOUR = datetime(2026, 3, 2, 10, tzinfo=UTC)
H0 = HOUR.timestamp()
GI = 1024**3


def pod(**facts) -> PodFacts:
    return PodFacts("lab", "p", "u", **facts)


def test_a_completion_time_while_the_pod_still_runs_is_not_its_end():
    # The main container finished at +600 s; a sidecar keeps the pod Running.
    p = pod(seen_active=True, active_at_end=True, app_start=H0 - 60, completion=H0 + 600)
    assert p.running_seconds(H0) == 3600


def test_a_pod_ends_at_its_completion_once_its_phase_is_terminal():
    p = pod(seen_active=True, active_at_end=True, app_start=H0 - 60, completion=H0 + 900)
    p.terminal = True
    assert p.running_seconds(H0) == 900


def test_a_crash_before_the_restart_does_not_end_a_running_pod():
    p = pod(seen_active=True, active_at_end=False, app_start=H0 - 60, completion=H0 + 100)
    assert p.running_seconds(H0) == 3600


def test_the_init_phase_bills_the_largest_classic_init_container():
    p = pod(
        seen_active=True,
        active_at_end=True,
        init_starts={"fetch": H0 + 100, "migrate": H0 + 160, "proxy": H0 + 100},
        app_start=H0 + 400,
        requests={"cpu": 1.0},
        init_requests={"fetch": {"cpu": 4.0}, "migrate": {"cpu": 2.0}, "proxy": {"cpu": 0.5}},
        sidecars={"proxy"},
    )
    seconds = p.request_seconds(H0)
    # init phase 300 s at 4 cores, then 3200 s at 1 core + the 0.5-core native sidecar
    assert seconds["cpu"] == pytest.approx(4.0 * 300 + 1.5 * 3200)


def test_a_pod_still_initialising_at_the_end_of_the_hour_bills_its_init_request():
    p = pod(
        seen_active=True,
        active_at_end=True,
        init_starts={"fetch": H0 + 3000},
        init_requests={"fetch": {"memory": 8 * GI}},
        requests={"memory": 1 * GI},
    )
    assert p.request_seconds(H0)["memory"] == 8 * GI * 600


def test_an_unscheduled_pending_pod_is_not_billed():
    assert pod(requests={"cpu": 2.0}).request_seconds(H0) == {}


def test_gpu_weights_default_to_slices_of_seven_and_a_quarter_for_shared_gpus():
    assert gpu_weight("nvidia_com_gpu", {}) == 1
    assert gpu_weight("nvidia_com_mig_3g_40gb", {}) == pytest.approx(3 / 7)
    assert gpu_weight("nvidia_com_mig_1g_10gb", {}) == pytest.approx(1 / 7)
    assert gpu_weight("nvidia_com_gpu_shared", {}) == 0.25
    assert gpu_weight("cpu", {}) == 0
    weights = parse_weights("nvidia.com/gpu.shared=1/8, nvidia_com_mig_3g_40gb=0.5")
    assert gpu_weight("nvidia_com_gpu_shared", weights) == 0.125
    assert gpu_weight("nvidia_com_mig_3g_40gb", weights) == 0.5


@pytest.mark.parametrize("text", ["nvidia_com_gpu", "=1", "nvidia_com_gpu=-1", "x=1/0", "x=abc"])
def test_a_bad_gpu_weight_is_refused_naming_the_setting(text):
    with pytest.raises(ValueError, match="KUBEMON_GPU_WEIGHTS"):
        parse_weights(text)


def test_gpu_seconds_are_weighted_per_resource():
    hour = Hour()
    hour.pods[("lab", "p", "u")] = pod(
        seen_active=True,
        active_at_end=True,
        app_start=H0 - 10,
        requests={"nvidia_com_mig_2g_20gb": 2.0, "nvidia_com_gpu_shared": 1.0},
    )
    usage = usage_by_job(HOUR, hour, 30)[("lab", "Pod", "p")].quantities
    assert usage["gpu_seconds"] == pytest.approx((2 * 2 / 7 + 0.25) * 3600)


def test_gpu_memory_is_billed_only_to_pods_that_requested_a_gpu():
    hour = Hour()
    hour.pods[("gpu-operator", "dcgm", "e")] = PodFacts(
        "gpu-operator", "dcgm", "e", seen_active=True, active_at_end=True, app_start=H0 - 10
    )
    hour.gpu_memory[("gpu-operator", "dcgm")] = [(120 * 5.0, 120)]
    assert ("gpu-operator", "Pod", "dcgm") not in usage_by_job(HOUR, hour, 30)


def test_gpu_memory_counts_only_samples_inside_the_pods_run():
    hour = Hour()
    hour.pods[("lab", "p", "u")] = pod(
        seen_active=True,
        terminal=True,
        app_start=H0 - 10,
        completion=H0 + 600,
        requests={"nvidia_com_gpu": 1.0},
    )
    running = [(H0 + 15 + 30 * k, 40_000.0) for k in range(20)]
    stale = [(H0 + 615 + 30 * k, 4.0) for k in range(40)]  # labels kept after the end
    hour.gpu_memory[("lab", "p")] = [(sum(v for _, v in running + stale), 60)]
    hour.gpu_samples[("lab", "p")] = {("gpu", "0"): running + stale}
    usage = usage_by_job(HOUR, hour, 30)[("lab", "Pod", "p")].quantities
    assert usage["gpu_memory_mib_seconds"] == pytest.approx(40_000.0 * 600)


def test_a_restarted_container_is_billed_memory_for_each_instance_life_only():
    hour = Hour()
    hour.pods[("lab", "p", "u")] = pod(seen_active=True, active_at_end=True, app_start=H0 - 100)
    hour.terminations[("lab", "p", "main")] = {H0 + 1200.0}
    hour.instances["old"] = InstanceFacts("lab", "p", "u", "main", 40 * 100.0, 40, H0 - 100)
    hour.instances["new"] = InstanceFacts(
        "lab", "p", "u", "main", 79 * 200.0, 79, H0 + 1230, live_at_end=True
    )
    usage = usage_by_job(HOUR, hour, 30)[("lab", "Pod", "p")].quantities
    assert usage["memory_byte_seconds"] == pytest.approx(100.0 * 1200 + 200.0 * 2370)


def test_a_pod_recreated_under_the_same_name_is_told_apart_by_its_uid():
    hour = Hour()
    hour.pods[("lab", "db-0", "old")] = PodFacts(
        "lab", "db-0", "old", seen_active=True, app_start=H0 - 999, vanished=H0 + 1800
    )
    hour.pods[("lab", "db-0", "new")] = PodFacts(
        "lab", "db-0", "new", seen_active=True, active_at_end=True, app_start=H0 + 1810
    )
    hour.instances["a"] = InstanceFacts("lab", "db-0", "old", "db", 60 * 10.0, 60, H0 - 999)
    hour.instances["b"] = InstanceFacts("lab", "db-0", "new", "db", 60 * 30.0, 60, H0 + 1810, True)
    usage = usage_by_job(HOUR, hour, 30)[("lab", "Pod", "db-0")].quantities
    assert usage["memory_byte_seconds"] == pytest.approx(10.0 * 1800 + 30.0 * 1790)


def test_gaps_are_found_between_samples_further_apart_than_two_intervals():
    times = [0, 30, 60, 90, 750, 780, 4800]
    gaps = gaps_in("kubelet", "node-1", times, 30, 3600)
    assert [(g.start, g.end, g.bridged) for g in gaps] == [(90, 750, True), (780, 4800, False)]
    assert gaps[0].exporter == "kubelet node-1"
    assert gaps[0].hidden == (105, 735)
    assert gaps_in("ksm", "", [0, 30, 90, 120], 30, 3600) == []  # one missed scrape


def test_an_unbridged_gap_flags_its_hours_and_hides_its_time():
    gaps = Gaps([Gap("kubelet", "node-1", H0 - 600, H0 + 5400, False, 30)])
    assert gaps.flag(H0, H0 + 3600) == "kubelet node-1 silent 100 min"
    assert gaps.flag(H0 + 7200, H0 + 10800) == ""
    assert gaps.hidden_seconds("kubelet", "node-1", H0, H0 + 3600, False) == 3600
    assert gaps.hidden_seconds("kubelet", "node-2", H0, H0 + 3600, False) == 0


def test_a_claim_exists_through_a_bridged_gap_but_not_through_its_absence():
    gaps = Gaps([Gap("ksm", "", H0 + 600, H0 + 1200, True, 30)])
    seen = [H0 + 30 * k for k in range(21)] + [H0 + 1200 + 30 * k for k in range(80)]
    bridged = existence_seconds(seen, H0, H0 + 3600, 30, lambda a, b: gaps.bridges("ksm", a, b))
    assert bridged == pytest.approx(3600 - 30 + 15)  # from the first sample - 15 s
    absent = existence_seconds(seen, H0, H0 + 3600, 30, lambda a, b: False)
    assert absent == pytest.approx(3600 - 30 + 15 - 600 + 30)


def test_exported_labels_are_moved_back_to_the_objects_own():
    labels = {"namespace": "monitoring", "pod": "ksm-1", "exported_namespace": "lab",
              "exported_pod": "p", "uid": "u"}  # fmt: skip
    assert object_labels(labels) == {"namespace": "lab", "pod": "p", "uid": "u"}
    plain = {"namespace": "lab", "pod": "p"}
    assert object_labels(plain) is plain


def test_an_ha_pair_read_without_deduplication_counts_one_replica():
    points = [
        (HOUR, {"id": "a", "prometheus_replica": "prom-1"}, 11.0),
        (HOUR, {"id": "a", "prometheus_replica": "prom-0"}, 10.0),
        (HOUR, {"id": "b", "prometheus_replica": "prom-1"}, 5.0),
    ]
    kept = sorted(one_replica(points, ("prometheus_replica",)), key=lambda p: p[1]["id"])
    assert [(p[1]["id"], p[2]) for p in kept] == [("a", 10.0), ("b", 5.0)]


@pytest.mark.parametrize(
    "cgroup",
    [
        "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod"
        "1c0e7a4d_52b8_4f63_9a5e_0f6b2f6f1a2b.slice/cri-containerd-ab12.scope",
        "/kubepods/burstable/pod1c0e7a4d-52b8-4f63-9a5e-0f6b2f6f1a2b/ab12",
    ],
)
def test_the_pod_uid_is_read_from_both_cgroup_drivers(cgroup):
    assert pod_uid_of_cgroup(cgroup) == "1c0e7a4d-52b8-4f63-9a5e-0f6b2f6f1a2b"


def test_a_claim_exists_from_its_creation_time_when_kube_state_metrics_gives_it():
    seen = [H0 + 620 + 30 * k for k in range(40)]
    plain = existence_seconds(seen, H0, H0 + 3600, 30, lambda a, b: False)
    exact = existence_seconds(seen, H0, H0 + 3600, 30, lambda a, b: False, created=H0 + 601)
    assert plain == pytest.approx(40 * 30)
    assert exact == pytest.approx(40 * 30 - 15 + 19)
