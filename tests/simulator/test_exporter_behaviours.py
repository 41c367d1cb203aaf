"""The simulator's exporter and Prometheus behaviours show in its history, expositions and truth."""

import io
import re
import shutil
import subprocess
import sys
import threading
import urllib.request
from datetime import UTC, datetime, timedelta

import pytest
from prometheus_client.parser import text_string_to_metric_families

from simulator import ksm
from simulator.behaviours import BEHAVIOURS
from simulator.cluster import Cluster
from simulator.model import Container, Instance, Workload
from simulator.pods import BACKOFF, make_pod
from simulator.server import make_server
from simulator.targets import BLOCK, HOUR, OUTAGES

START = datetime(2026, 3, 2, 0, 0, tzinfo=UTC)
T0 = int(START.timestamp())
MINE = (
    "ksm-restart",
    "ksm-replicas",
    "ha-pair",
    "honor-labels-false",
    "ksm-old",
    "ksm-empty-owners",
    "started-kept",
    "crash-completion",
    "prometheus-outage",
    "exporter-outage",
    "kubelet-outage",
    "long-outage",
)
LABEL = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')


def small(*behaviours, **options) -> Cluster:
    return Cluster(seed=5, nodes=2, gpu_nodes=1, jobs_per_hour=10, behaviours=behaviours, **options)


def history(cluster, start, end) -> list[tuple[str, dict, float, float]]:
    """(family, labels, time, value) of every sample of the OpenMetrics history."""
    buf = io.StringIO()
    cluster.history(start, end, buf)
    out = []
    for line in buf.getvalue().splitlines():
        if line.startswith("#"):
            continue
        head, value, ts = line.rsplit(" ", 2)
        name, _, body = head.partition("{")
        out.append((name, dict(LABEL.findall(body)), float(ts), float(value)))
    return out


def families(cluster, start, end) -> set[str]:
    """The name of every family with a sample in the OpenMetrics history."""
    buf = io.StringIO()
    cluster.history(start, end, buf)
    return {
        line.partition("{")[0].partition(" ")[0]
        for line in buf.getvalue().splitlines()
        if not line.startswith("#")
    }


def exposition(cluster, target, at) -> list:
    text = cluster.exposition(target, at)
    return [s for f in text_string_to_metric_families(text) for s in f.samples]


def ksm_target(cluster):
    return next(t for t in cluster.targets() if t.kind == "ksm")


def test_ksm_restart_gives_two_instances_of_a_pods_requests_in_one_hour():
    cluster = small("ksm-restart")
    hour = START + timedelta(hours=3)
    samples = history(cluster, hour, hour + timedelta(hours=1))
    times: dict[str, list] = {}
    for name, labels, t, _ in samples:
        if (name, labels.get("pod"), labels.get("resource")) == (
            "kube_pod_container_resource_requests",
            "postgres-0",
            "cpu",
        ):
            times.setdefault(labels["instance"], []).append(t)
    assert len(times) == 2
    assert all(re.fullmatch(r"10\.244\.\d+\.\d+:8080", i) for i in times)
    (gap,) = cluster.gaps(ksm_target(cluster), T0 + 3 * HOUR, T0 + 4 * HOUR)
    assert gap.cause == "ksm-restart"
    assert 600 <= gap.start - (T0 + 3 * HOUR) < 3000 and 45 <= gap.end - gap.start <= 90
    old, new = sorted(times.values())
    assert max(old) < gap.start <= gap.end <= min(new)


def test_ksm_restart_changes_nothing_without_the_behaviour():
    cluster = small()
    samples = history(cluster, START, START + timedelta(hours=2))
    instances = {la["instance"] for _, la, _, _ in samples if la["job"] == "kube-state-metrics"}
    assert instances == {"kube-state-metrics:8080"}
    assert cluster.gaps(ksm_target(cluster), T0, T0 + 2 * HOUR) == []


def test_ksm_replicas_export_every_object_from_two_instances_at_two_phases():
    cluster = small("ksm-replicas")
    targets = [t for t in cluster.targets() if t.kind == "ksm"]
    assert [t.labels["instance"] for t in targets] == [
        "kube-state-metrics-0:8080",
        "kube-state-metrics-1:8080",
    ]
    assert targets[0].phase_ms != targets[1].phase_ms
    assert cluster.exposition(targets[0], START) == cluster.exposition(targets[1], START)
    samples = history(cluster, START, START + timedelta(minutes=10))
    instances = {
        la["instance"]
        for n, la, _, _ in samples
        if n == "kube_pod_container_resource_requests" and la["pod"] == "postgres-0"
    }
    assert instances == {"kube-state-metrics-0:8080", "kube-state-metrics-1:8080"}


def test_ha_pair_stores_every_series_twice_replica_0_on_the_truths_grid():
    plain, pair = small(), small("ha-pair")
    end = START + timedelta(minutes=10)
    samples = history(pair, START, end)
    replicas = {la.get("prometheus_replica") for _, la, _, _ in samples}
    assert replicas == {"prometheus-k8s-0", "prometheus-k8s-1"}
    counts: dict[str, dict] = {r: {} for r in replicas}
    for n, la, _, _ in samples:
        key = (n, tuple(sorted((k, v) for k, v in la.items() if k != "prometheus_replica")))
        counts[la["prometheus_replica"]][key] = counts[la["prometheus_replica"]].get(key, 0) + 1
    # a series scraped at least twice by one replica was scraped by the other too
    for one, other in (
        ("prometheus-k8s-0", "prometheus-k8s-1"),
        ("prometheus-k8s-1", "prometheus-k8s-0"),
    ):
        assert {k for k, c in counts[one].items() if c >= 2} <= counts[other].keys()
    grid = {t / 1000 for t in plain.scrape_times(ksm_target(plain), T0, T0 + 600)}
    ksm0 = {
        t
        for _, la, t, _ in samples
        if la["job"] == "kube-state-metrics" and la["prometheus_replica"] == "prometheus-k8s-0"
    }
    ksm1 = {
        t
        for _, la, t, _ in samples
        if la["job"] == "kube-state-metrics" and la["prometheus_replica"] == "prometheus-k8s-1"
    }
    assert ksm0 == grid and not ksm1 & grid


def test_honor_labels_false_renames_the_objects_labels_to_exported():
    samples = history(small("honor-labels-false"), START, START + timedelta(minutes=5))
    req = [la for n, la, _, _ in samples if n == "kube_pod_container_resource_requests"]
    assert {la["namespace"] for la in req} == {"monitoring"}
    assert {la["container"] for la in req} == {"kube-state-metrics"}
    assert {la["service"] for la in req} == {"kube-state-metrics"}
    assert {la["endpoint"] for la in req} == {"http"}
    assert {la["pod"] for la in req} == {req[0]["pod"]}
    assert re.fullmatch(r"kube-state-metrics-\w{10}-\w{5}", req[0]["pod"])
    assert "postgres-0" in {la["exported_pod"] for la in req}
    assert "genomics" in {la["exported_namespace"] for la in req}
    ws = [la for n, la, _, _ in samples if n == "container_memory_working_set_bytes"]
    assert {la["namespace"] for la in ws} == {"kube-system"}
    assert {la["service"] for la in ws} == {"kubelet"}
    assert {la["endpoint"] for la in ws} == {"https-metrics"}
    assert "genomics" in {la.get("exported_namespace") for la in ws}


def test_ksm_old_has_no_last_terminated_timestamp_family():
    name = "kube_pod_container_status_last_terminated_timestamp"
    old = families(small("ksm-old"), START, START + timedelta(hours=6))
    new = families(small(), START, START + timedelta(hours=6))
    assert name in new and name not in old


def test_ksm_empty_owners_drop_the_owner_labels_of_an_ownerless_pod():
    for behaviours, expected in (((), "<none>"), (("ksm-empty-owners",), "")):
        cluster = small(*behaviours)
        samples = exposition(cluster, ksm_target(cluster), START)
        (owner,) = [
            s for s in samples if s.name == "kube_pod_owner" and s.labels["pod"] == "debug-shell"
        ]
        (info,) = [
            s for s in samples if s.name == "kube_pod_info" and s.labels["pod"] == "debug-shell"
        ]
        assert owner.labels["owner_kind"] == owner.labels["owner_name"] == expected
        assert owner.labels["owner_is_controller"] == expected
        assert info.labels["created_by_kind"] == info.labels["created_by_name"] == expected
    stored = history(small("ksm-empty-owners"), START, START + timedelta(minutes=2))
    (owner,) = {
        tuple(sorted(la))
        for n, la, _, _ in stored
        if n == "kube_pod_owner" and la["pod"] == "debug-shell"
    }
    assert "owner_kind" not in owner and "owner_name" not in owner


def completed_and_crashed_pods(cluster, a, b):
    pods, _ = cluster.objects(a, b)
    done = [p for p in pods if p.completed and p.deleted and p.deleted - p.completed > 120]
    crashed = [
        p
        for p in pods
        if p.workload.kind == "Job" and len(p.containers[0].instances) == 2 and p.created >= a
    ]
    return done, crashed


def started(cluster, pod, at) -> list[float]:
    return [
        s.value
        for s in exposition(cluster, ksm_target(cluster), at)
        if s.name == "kube_pod_container_state_started" and s.labels["uid"] == pod.uid
    ]


def test_started_kept_exports_a_terminated_containers_start_until_deletion():
    kept, plain = small("started-kept"), small()
    done, crashed = completed_and_crashed_pods(kept, T0, T0 + 6 * HOUR)
    pod = done[0]
    at = pod.completed + 60
    starts = sorted(c.instances[-1].start for c in pod.containers)
    assert sorted(started(kept, pod, at)) == starts
    assert started(plain, pod, at) == []
    crash = crashed[0].containers[0].instances[0].end
    assert started(kept, crashed[0], crash + BACKOFF // 2) == []  # Waiting in the backoff


def completion(cluster, pod, at) -> list[float]:
    return [
        s.value
        for s in exposition(cluster, ksm_target(cluster), at)
        if s.name == "kube_pod_completion_time" and s.labels["uid"] == pod.uid
    ]


def test_crash_completion_shows_the_crash_time_between_the_crash_and_the_restart():
    cluster, plain = small("crash-completion"), small()
    _, crashed = completed_and_crashed_pods(cluster, T0, T0 + 6 * HOUR)
    pod = crashed[0]
    first, second = pod.containers[0].instances
    assert completion(cluster, pod, first.end + BACKOFF // 2) == [first.end]
    assert completion(cluster, pod, second.start + 1) == []
    assert completion(plain, pod, first.end + BACKOFF // 2) == []
    both = small("crash-completion", "started-kept")
    assert started(both, pod, first.end + BACKOFF // 2) == [first.start]


def test_completion_time_is_the_latest_end_among_terminated_containers():
    """A main container ending before its classic sidecar: KSM's rule, pod still Running."""
    cluster = small()
    node = cluster.nodes[0]
    wl = Workload("genomics", "Job", "with-sidecar", created=T0)
    pod = make_pod(
        5,
        wl,
        "with-sidecar-x",
        node,
        ("Job", "with-sidecar"),
        T0,
        T0 + 10,
        T0 + 1200,
        T0 + 1800,
        "Succeeded",
        [],
    )
    for name, end in (("main", T0 + 600), ("log-shipper", T0 + 1200)):
        inst = Instance(f"{name}-id", T0 + 11, end, 0, 100, 1 << 20)
        pod.containers.append(Container(name, "img", {}, {}, [inst]))
    times = list(range((T0 + 30) * 1000, (T0 + 1800) * 1000, 30_000))
    ((_, index, values),) = ksm.series(cluster, [pod], [], "kube_pod_completion_time", times)
    shown = dict(
        zip((times[i] // 1000 for i in range(index, index + len(values))), values, strict=True)
    )
    assert min(shown) >= T0 + 600 and min(shown) < T0 + 630
    assert {v for t, v in shown.items() if t < T0 + 1200} == {T0 + 600}
    assert {v for t, v in shown.items() if t >= T0 + 1200} == {T0 + 1200}
    assert pod.phase_at(T0 + 900) == "Running"


@pytest.mark.parametrize("outage", sorted(OUTAGES))
def test_each_outage_silences_its_targets_once_per_block(outage):
    cluster = small(outage)
    block = T0 // BLOCK * BLOCK
    silent = {
        t.path: [g for g in cluster.gaps(t, block, block + BLOCK) if g.cause == outage]
        for t in cluster.targets()
    }
    hit = frozenset(path for path, gaps in silent.items() if gaps)
    gaps = {g for gs in silent.values() for g in gs if g.start >= block}
    (gap,) = gaps
    assert gap.end - gap.start == OUTAGES[outage]
    assert 1800 <= gap.start - block < 5 * HOUR
    kinds = {t.path: t.kind for t in cluster.targets()}
    expected = {
        "prometheus-outage": set(kinds),
        "long-outage": set(kinds),
        "exporter-outage": {p for p, k in kinds.items() if k == "ksm"},
    }.get(outage)
    if expected is None:  # kubelet-outage: one node's cAdvisor target
        assert len(hit) == 1 and {kinds[p] for p in hit} == {"cadvisor"}
    else:
        assert hit == expected
    around = datetime.fromtimestamp(gap.start - 120, UTC)
    samples = history(cluster, around, around + timedelta(seconds=gap.end - gap.start + 240))
    paths = {t.labels["instance"]: t.path for t in cluster.targets()}
    inside = {paths[la["instance"]] for _, la, t, _ in samples if gap.start <= t < gap.end}
    outside = {paths[la["instance"]] for _, la, t, _ in samples}
    assert not inside & hit
    assert outside == set(paths.values())


def test_no_behaviour_changes_what_really_happened():
    end = START + timedelta(hours=6)
    base = small().truth(START, end)["totals"]
    for behaviour in MINE:
        totals = small(behaviour).truth(START, end)["totals"]
        assert {q: v["real"] for q, v in totals.items()} == {
            q: v["real"] for q, v in base.items()
        }, behaviour


def test_truth_observed_keeps_bridged_gaps_and_loses_unbridged_ones():
    end = START + timedelta(hours=6)
    short = small("prometheus-outage").truth(START, end)
    long = small("long-outage").truth(START, end)
    for q in ("cpu_request_core_seconds", "memory_request_byte_seconds", "gpu_seconds"):
        assert short["totals"][q]["observed"] == short["totals"][q]["real"] > 0
    (pvc,) = [v for v in short["pvcs"] if v["name"] == "data-postgres-0"]
    assert pvc["quantities"]["storage_byte_seconds"]["gap"] == 0
    ksm_gaps = [g for g in long["scrape_gaps"] if g["kind"] == "ksm"]
    assert ksm_gaps and not any(g["bridged"] for g in ksm_gaps)
    lost = sum(
        (
            min(end, datetime.fromisoformat(g["end"]))
            - max(START, datetime.fromisoformat(g["start"]))
        ).total_seconds()
        for g in ksm_gaps
    )
    assert lost >= 15 * 60
    (pvc,) = [v for v in long["pvcs"] if v["name"] == "data-postgres-0"]
    q = pvc["quantities"]["storage_byte_seconds"]
    assert q["real"] - q["observed"] == pvc["storage_bytes"] * lost
    (postgres,) = [j for j in long["jobs"] if j["name"] == "postgres"]
    cpu = postgres["pods"][0]["containers"][0]["requests"]["cpu"]
    q = postgres["quantities"]["cpu_request_core_seconds"]
    assert q["real"] - q["observed"] == pytest.approx(cpu * lost)
    mem = postgres["quantities"]["memory_byte_seconds"]
    assert 0 < mem["gap"] < mem["real"] * 0.3
    # Through a bridged gap the working set is observed at the mean of the samples around
    # it: what differs from the real integral is the level inside the gap, nothing more.
    (short_postgres,) = [j for j in short["jobs"] if j["name"] == "postgres"]
    short_mem = short_postgres["quantities"]["memory_byte_seconds"]
    assert abs(short_mem["gap"]) < 0.01 * short_mem["real"] < mem["gap"]


def test_scrape_gaps_say_which_target_and_whether_the_collector_bridges_them():
    end = START + timedelta(hours=6)
    gaps = small("prometheus-outage").truth(START, end)["scrape_gaps"]
    outage = [g for g in gaps if g["causes"] == ["prometheus-outage"]]
    assert {g["kind"] for g in outage} == {"cadvisor", "ksm", "dcgm"}
    assert all(g["bridged"] for g in outage)
    assert {(g["start"], g["end"]) for g in outage} == {(outage[0]["start"], outage[0]["end"])}
    assert all(
        g["last_sample_before"] < g["start"] <= g["end"] <= g["first_sample_after"] for g in outage
    )
    strict = small("prometheus-outage", max_bridged_gap=600).truth(START, end)["scrape_gaps"]
    assert not any(g["bridged"] for g in strict if g["causes"] == ["prometheus-outage"])


def test_scrape_config_and_serve_work_with_every_behaviour(tmp_path):
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "simulator",
            "scrape-config",
            "--port",
            "9100",
            "--behaviours",
            "all",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "prometheus_replica" in out and "/kube-state-metrics-1/metrics" in out
    promtool = shutil.which("promtool")
    if promtool:
        (tmp_path / "p.yml").write_text("global: {}\n" + out)
        run = subprocess.run(
            [promtool, "check", "config", str(tmp_path / "p.yml")], capture_output=True, text=True
        )
        assert run.returncode == 0, run.stdout + run.stderr
    cluster = small(*BEHAVIOURS)
    server = make_server(cluster, "127.0.0.1", 0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        base = f"http://127.0.0.1:{server.server_port}"
        for path in {t.path for t in cluster.targets()}:
            with urllib.request.urlopen(base + path, timeout=30) as r:
                assert list(text_string_to_metric_families(r.read().decode()))
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
