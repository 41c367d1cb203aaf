"""The simulator's workload behaviours: what the exporters show of them, and their truth.

Each test switches on behaviours, finds the objects they shape in the model, and checks the
exporter series (as history writes them, or the live exposition) and the ground truth.
"""

import io
from datetime import UTC, datetime

import pytest

from simulator import exporters
from simulator.catalog import recreation_time
from simulator.cluster import Cluster, epoch

START = datetime(2024, 5, 1, 0, 0, tzinfo=UTC)
A = epoch(START)
B = A + 6 * 3600
POD_BEHAVIOURS = {"sidecar-outlives-main", "init-containers", "unscheduled-pending"}
GPU_BEHAVIOURS = {"mig", "shared-gpu", "idle-gpu-memory", "stale-gpu-labels"}


@pytest.fixture(scope="module")
def pods_cluster():
    return Cluster(seed=7, behaviours=POD_BEHAVIOURS)


@pytest.fixture(scope="module")
def gpu_cluster():
    # gpu-node-1 exclusive (its DCGM target carries the exporter's labels), 2 shared, 3 MIG
    return Cluster(seed=7, gpu_nodes=3, behaviours=GPU_BEHAVIOURS)


def family_series(cluster, kind, family, a=A, b=B, node=None):
    """[(exporter labels, sample times ms, values)] as history writes them for [a, b)."""
    pods, pvcs = cluster.objects(a, b)
    out = []
    for t in cluster.targets():
        if t.kind != kind or (node is not None and t.node != node):
            continue
        times = cluster.scrape_times(t, a, b)
        for labels, index, values in exporters.series(cluster, t, pods, pvcs, family, times):
            idx = range(index, index + len(values)) if isinstance(index, int) else index
            out.append((labels, [times[i] for i in idx], values))
    return out


def of_pod(series, pod):
    return [
        s for s in series if s[0].get("pod") == pod.name and s[0].get("uid", pod.uid) == pod.uid
    ]


def truth_pods(truth) -> dict[str, dict]:
    return {p["uid"]: p for job in truth["jobs"] for p in job["pods"]}


def inside(pod, a=A, b=B) -> bool:
    """The pod's whole life lies in [a, b)."""
    return a <= pod.created and pod.deleted is not None and pod.deleted <= b


def pods_where(cluster, predicate, a=A, b=B):
    pods = [p for p in cluster.objects(a, b)[0] if inside(p, a, b) and predicate(p)]
    assert pods, "the behaviour shaped no pod in the window"
    return pods


# -- sidecar-outlives-main ----------------------------------------------------------------


def test_classic_sidecar_outlives_the_main_container_and_the_pod_completes_with_it(
    pods_cluster,
):
    pods = pods_where(pods_cluster, lambda p: len(p.containers) == 2 and not p.init_containers)
    cpu = family_series(pods_cluster, "cadvisor", "container_cpu_usage_seconds_total")
    truth = truth_pods(pods_cluster.truth(A, B))
    for pod in pods:
        main, side = pod.containers
        main_end, side_end = main.instances[-1].end, side.instances[-1].end
        assert 60 <= side_end - main_end <= 900
        assert pod.completed == side_end
        assert pod.phase_at(main_end + 1) == "Running"
        mine = of_pod(cpu, pod)
        main_times = [t for lab, ts, _ in mine if lab["container"] == "main" for t in ts]
        side_times = [t for lab, ts, _ in mine if lab["container"] == side.name for t in ts]
        assert max(main_times) < main_end * 1000
        assert max(side_times) >= main_end * 1000 + 30_000  # scraped after main ended
        # requests are billed until the pod completes, not until the main container ends
        first = min(i.start for c in pod.containers for i in c.instances)
        expected = sum(c.requests.get("cpu", 0) for c in pod.containers) * (side_end - first)
        billed = truth[pod.uid]["quantities"]["cpu_request_core_seconds"]["real"]
        assert billed == pytest.approx(expected, rel=1e-12)


def test_without_the_behaviour_the_sidecar_ends_with_the_main_container():
    tidy = Cluster(seed=7)
    for pod in pods_where(tidy, lambda p: len(p.containers) == 2):
        assert pod.containers[1].instances[-1].end == pod.containers[0].instances[-1].end


# -- init-containers ----------------------------------------------------------------------


def classic_init(pod):
    return [c for c in pod.init_containers if c.restart_policy == ""]


def native_sidecars(pod):
    return [c for c in pod.init_containers if c.restart_policy == "Always"]


def test_init_containers_are_exported_in_their_own_kube_state_metrics_families(pods_cluster):
    pods = pods_where(pods_cluster, lambda p: p.init_containers and p.node)
    info = family_series(pods_cluster, "ksm", "kube_pod_init_container_info")
    init_req = family_series(pods_cluster, "ksm", "kube_pod_init_container_resource_requests")
    app_req = family_series(pods_cluster, "ksm", "kube_pod_container_resource_requests")
    for pod in pods:
        policies = {lab["container"]: lab["restart_policy"] for lab, _, _ in of_pod(info, pod)}
        assert policies == {c.name: c.restart_policy for c in pod.init_containers}
        requested = {
            (lab["container"], lab["resource"]): v[0] for lab, _, v in of_pod(init_req, pod)
        }
        assert requested == {
            (c.name, r): v for c in pod.init_containers for r, v in c.requests.items()
        }
        app = {lab["container"] for lab, _, _ in of_pod(app_req, pod)}
        assert app.isdisjoint(c.name for c in pod.init_containers)
    assert any(native_sidecars(p) for p in pods) and any(classic_init(p) for p in pods)


def test_a_pod_is_pending_while_its_classic_init_container_runs(pods_cluster):
    pods = pods_where(pods_cluster, lambda p: classic_init(p) and p.node)
    phase = family_series(pods_cluster, "ksm", "kube_pod_status_phase")
    running = family_series(pods_cluster, "ksm", "kube_pod_init_container_status_running")
    cpu = family_series(pods_cluster, "cadvisor", "container_cpu_usage_seconds_total")
    checked = 0
    for pod in pods:
        init = classic_init(pod)[0].instances[0]
        assert 10 <= init.end - init.start <= 120
        pending = {
            t
            for lab, ts, vs in of_pod(phase, pod)
            if lab["phase"] == "Pending"
            for t, v in zip(ts, vs, strict=True)
            if v == 1
        }
        during = [
            t
            for lab, ts, vs in of_pod(running, pod)
            if lab["container"] == classic_init(pod)[0].name
            for t, v in zip(ts, vs, strict=True)
            if v == 1
        ]
        assert all(init.start * 1000 <= t < init.end * 1000 for t in during)
        assert set(during) <= pending
        init_cpu = [lab for lab, _, _ in of_pod(cpu, pod) if lab["container"] == "stage-data"]
        checked += bool(during) and len(init_cpu) == 1
    assert checked


def test_requests_follow_the_init_phase_rule_in_the_truth(pods_cluster):
    pods = pods_where(pods_cluster, lambda p: p.init_containers and p.node)
    truth = truth_pods(pods_cluster.truth(A, B))
    for pod in pods:
        listed = truth[pod.uid]["containers"]
        inits = [c for c in listed if c.get("init")]
        assert [(c["name"], c["restart_policy"]) for c in inits] == [
            (c.name, c.restart_policy) for c in pod.init_containers
        ]
        for res, q in (
            ("cpu", "cpu_request_core_seconds"),
            ("memory", "memory_request_byte_seconds"),
        ):
            first = min(i.start for c in pod.all_containers() for i in c.instances)
            after = sum(c.requests.get(res, 0) for c in pod.containers + native_sidecars(pod))
            if classic_init(pod):
                init = classic_init(pod)[0]
                end = init.instances[0].end
                expected = init.requests[res] * (end - first) + after * (pod.completed - end)
            else:
                expected = after * (pod.completed - first)
            assert truth[pod.uid]["quantities"][q]["real"] == pytest.approx(expected, rel=1e-12)


# -- unscheduled-pending ------------------------------------------------------------------


def test_an_unscheduled_pod_exports_requests_without_node_nor_start_time(pods_cluster):
    pods = pods_where(pods_cluster, lambda p: p.scheduled is not None)
    info = family_series(pods_cluster, "ksm", "kube_pod_info")
    start = family_series(pods_cluster, "ksm", "kube_pod_start_time")
    req = family_series(pods_cluster, "ksm", "kube_pod_container_resource_requests")
    cpu = family_series(pods_cluster, "cadvisor", "container_cpu_usage_seconds_total")
    truth = truth_pods(pods_cluster.truth(A, B))
    for pod in pods:
        assert 30 <= pod.scheduled - pod.created <= 600
        nodes = {lab["node"]: min(ts) for lab, ts, _ in of_pod(info, pod)}
        assert set(nodes) == {"", pod.node} and nodes[pod.node] >= pod.scheduled * 1000
        assert min(t for _, ts, _ in of_pod(start, pod) for t in ts) >= pod.scheduled * 1000
        assert {v[0] for _, _, v in of_pod(start, pod)} == {pod.scheduled}
        if pod.containers[0].requests:
            assert "" in {lab["node"] for lab, _, _ in of_pod(req, pod)}
        assert min(t for _, ts, _ in of_pod(cpu, pod) for t in ts) >= pod.running * 1000
        assert truth[pod.uid]["scheduled"] is not None


def test_a_never_scheduled_pod_is_deleted_pending_and_billed_nothing(pods_cluster):
    a, b = A, A + 86_400
    pods = pods_where(pods_cluster, lambda p: not p.node, a, b)
    info = family_series(pods_cluster, "ksm", "kube_pod_info", a, b)
    start = family_series(pods_cluster, "ksm", "kube_pod_start_time", a, b)
    phase = family_series(pods_cluster, "ksm", "kube_pod_status_phase", a, b)
    truth = truth_pods(pods_cluster.truth(a, b))
    for pod in pods:
        assert 300 <= pod.deleted - pod.created <= 1200
        assert {lab["node"] for lab, _, _ in of_pod(info, pod)} == {""}
        assert of_pod(start, pod) == []
        assert {lab["phase"] for lab, _, vs in of_pod(phase, pod) if 1 in vs} == {"Pending"}
        pt = truth[pod.uid]
        assert pt["node"] is None and pt["scheduled"] is None
        assert pt["running"] is None and pt["completed"] is None
        assert all(v["real"] == 0 for v in pt["quantities"].values())


# -- recreated-pod ------------------------------------------------------------------------


@pytest.mark.parametrize("flavour", ["containerd", "docker"])
def test_the_statefulset_pod_is_recreated_with_a_new_uid_within_the_hour(flavour):
    cluster = Cluster(seed=7, flavour=flavour, behaviours={"recreated-pod"})
    day = A // 86_400
    t = recreation_time(7, day)
    hour = t - t % 3600, t - t % 3600 + 3600
    old, new = sorted(
        (p for p in cluster.objects(*hour)[0] if p.name == "postgres-0"), key=lambda p: p.created
    )
    assert old.uid != new.uid and old.deleted == t and new.created == t + 2
    assert old.phase_at(t - 1) == "Running" and 2 < new.running - t < 12
    cpu = family_series(cluster, "cadvisor", "container_cpu_usage_seconds_total", *hour)
    for pod in (old, new):
        ids = {
            lab["id"]
            for lab, _, _ in cpu
            if lab["pod"] == "postgres-0" and lab["container"] == "postgres"
        }
        uid = pod.uid.replace("-", "_") if flavour == "containerd" else pod.uid
        assert any(uid in i for i in ids)
    truth = cluster.truth(*hour)
    pg = next(j for j in truth["jobs"] if j["name"] == "postgres")
    assert {p["uid"] for p in pg["pods"]} == {old.uid, new.uid}
    billed = pg["quantities"]["cpu_request_core_seconds"]["real"]
    assert billed == pytest.approx(
        2 * (t - hour[0] + hour[1] - new.containers[0].instances[0].start)
    )


# -- GPUs ---------------------------------------------------------------------------------


def gpu_pods(cluster, node):
    return pods_where(cluster, lambda p: p.node == node and p.completed is not None and p.deleted)


def assert_memory_is_the_pods_own_series(quantities, used, label, pod):
    """The truth's GPU memory is its series' samples while it runs (30 s each), not after."""
    samples = sum(
        v * 30
        for lab, ts, vs in used
        if lab.get(label[0]) == label[1]
        for t, v in zip(ts, vs, strict=True)
        if t < pod.completed * 1000
    )
    real = quantities["gpu_memory_mib_seconds"]["real"]
    assert samples == pytest.approx(real, rel=0.02)


def test_mig_slices_are_requested_and_reported_per_gpu_instance(gpu_cluster):
    pods = gpu_pods(gpu_cluster, "gpu-node-3")
    used = family_series(gpu_cluster, "dcgm", "DCGM_FI_DEV_FB_USED", node="gpu-node-3")
    req = family_series(gpu_cluster, "ksm", "kube_pod_container_resource_requests")
    truth = truth_pods(gpu_cluster.truth(A, B))
    assert all("GPU_I_PROFILE" in lab and "GPU_I_ID" in lab for lab, _, _ in used)
    for pod in pods:
        main = pod.containers[0]
        ((resource, count),) = [(r, v) for r, v in main.requests.items() if r.startswith("nvidia")]
        n, mem = resource.removeprefix("nvidia_com_mig_").split("g_")
        assert resource in {lab["resource"] for lab, _, _ in of_pod(req, pod)}
        held = [s for s in used if s[0].get("pod") == pod.name]
        assert {(lab["gpu"], lab["GPU_I_ID"]) for lab, _, _ in held} == {
            (str(g), str(i)) for g, i in main.slices
        }
        for lab, _, values in held:
            assert lab["GPU_I_PROFILE"] == f"{n}g.{mem}"
            assert max(values) <= int(mem.removesuffix("gb")) * 1024
        first = min(i.start for i in main.instances)
        expected = int(n) / 7 * count * (pod.completed - first)
        got = truth[pod.uid]["quantities"]["gpu_seconds"]["real"]
        assert got == pytest.approx(expected, rel=1e-12)


def test_shared_gpu_pods_report_their_own_memory_beside_the_device_total(gpu_cluster):
    pods = gpu_pods(gpu_cluster, "gpu-node-2")
    used = family_series(gpu_cluster, "dcgm", "DCGM_FI_DEV_FB_USED", node="gpu-node-2")
    truth = truth_pods(gpu_cluster.truth(A, B))
    device = {
        lab["gpu"]: dict(zip(ts, vs, strict=True)) for lab, ts, vs in used if "pod" not in lab
    }
    own: dict = {}
    most = 0
    for lab, ts, vs in used:
        if "pod" in lab:
            assert {"vgpu", "pod_uid"} <= set(lab)
            for t, v in zip(ts, vs, strict=True):
                own.setdefault((lab["gpu"], t), []).append(v)
            most = max(
                most,
                len(
                    {
                        lab2["pod"]
                        for lab2, ts2, _ in used
                        if "pod" in lab2 and lab2["gpu"] == lab["gpu"] and set(ts2) & set(ts)
                    }
                ),
            )
    assert most >= 2  # several pods on one device at once
    for (gpu, t), values in own.items():
        idle = device[gpu][t] - sum(values)
        assert 1 <= idle <= 7
    for pod in pods:
        main = pod.containers[0]
        count = main.requests["nvidia_com_gpu_shared"]
        first = min(i.start for i in main.instances)
        q = truth[pod.uid]["quantities"]
        assert q["gpu_seconds"]["real"] == pytest.approx(0.25 * count * (pod.completed - first))
        mine = [lab for lab, _, _ in used if lab.get("pod_uid") == pod.uid]
        assert [lab["pod"] for lab in mine] == [pod.name] * count
        if pod.completed - pod.running >= 1800:
            assert_memory_is_the_pods_own_series(q, used, ("pod_uid", pod.uid), pod)


def test_idle_gpus_report_a_few_mib_under_the_exporters_own_labels(gpu_cluster):
    text = io.StringIO()
    gpu_cluster.history(A, A + 3600, text)
    idle = [
        line
        for line in text.getvalue().splitlines()
        if line.startswith("DCGM_FI_DEV_FB_USED{")
        and 'namespace="gpu-operator"' in line
        and "exported_pod=" not in line  # no workload: only the exporter's own labels
    ]
    assert idle
    assert all(1 <= int(line.rsplit(" ", 2)[1]) <= 7 for line in idle)
    truth = gpu_cluster.truth(A, A + 3600)
    assert all(j["namespace"] != "gpu-operator" for j in truth["jobs"])


def test_a_finished_pods_labels_stay_on_its_gpus_at_idle_memory_for_at_most_20_minutes(gpu_cluster):
    pods = gpu_pods(gpu_cluster, "gpu-node-1")
    used = family_series(gpu_cluster, "dcgm", "DCGM_FI_DEV_FB_USED", node="gpu-node-1")
    truth = truth_pods(gpu_cluster.truth(A, B))
    lingered = 0
    for pod in pods:
        late = [
            (t, v)
            for lab, ts, vs in used
            if lab.get("pod") == pod.name
            for t, v in zip(ts, vs, strict=True)
            if t >= pod.completed * 1000
        ]
        assert all(t < (pod.completed + 1200) * 1000 and 1 <= v <= 7 for t, v in late)
        lingered += bool(late)
        if pod.completed - pod.running >= 1800:
            q = truth[pod.uid]["quantities"]
            assert_memory_is_the_pods_own_series(q, used, ("pod", pod.name), pod)
    assert lingered


def test_without_behaviours_no_workload_behaviour_shows():
    tidy = Cluster(seed=7)
    pods = tidy.objects(A, B)[0]
    assert all(p.node and p.scheduled is None and not p.init_containers for p in pods)
    assert len([p for p in pods if p.name == "postgres-0"]) == 1
    for t in tidy.targets():
        text = tidy.exposition(t, START)
        assert "kube_pod_init_container" not in text and "GPU_I_PROFILE" not in text
        assert "vgpu=" not in text
    idle = [
        v
        for lab, _, vs in family_series(tidy, "dcgm", "DCGM_FI_DEV_FB_USED")
        if "pod" not in lab
        for v in vs
    ]
    assert idle and set(idle) == {0}
