"""Tests of the synthetic cluster: exporter formats, determinism, truth consistency, CLI, server."""

import io
import json
import shutil
import subprocess
import sys
import threading
import urllib.request
from datetime import UTC, datetime, timedelta

import pytest
from prometheus_client.openmetrics.parser import text_string_to_metric_families as om_families
from prometheus_client.parser import text_string_to_metric_families

from simulator.cluster import Cluster
from simulator.server import make_server

START = datetime(2024, 5, 1, 10, 0, tzinfo=UTC)
T0 = int(START.timestamp())


@pytest.fixture(scope="module")
def cluster():
    return Cluster(seed=7)


def history_text(cluster, start, end) -> str:
    buf = io.StringIO()
    cluster.history(start, end, buf)
    return buf.getvalue()


def samples_by_series(text: str) -> dict[str, list[tuple[str, str]]]:
    """Series text -> [(timestamp, value)] from an OpenMetrics history."""
    out: dict[str, list] = {}
    for line in text.splitlines():
        if line.startswith("#"):
            continue
        head, value, ts = line.rsplit(" ", 2)
        out.setdefault(head, []).append((ts, value))
    return out


def exposition_samples(cluster, path_kind: str, at: datetime, node: str | None = None):
    for t in cluster.targets():
        if t.kind == path_kind and (node is None or t.node == node):
            text = cluster.exposition(t, at)
            return [s for f in text_string_to_metric_families(text) for s in f.samples]
    raise LookupError(path_kind)


def test_every_live_exposition_parses_with_prometheus_client(cluster):
    for target in cluster.targets():
        text = cluster.exposition(target, START)
        names = {f.name for f in text_string_to_metric_families(text)}
        expected = {
            "cadvisor": "container_cpu_usage_seconds",
            "ksm": "kube_pod_info",
            "dcgm": "DCGM_FI_DEV_FB_USED",
        }[target.kind]
        assert expected in names, target.path


def test_history_parses_as_openmetrics_with_one_header_per_family(cluster):
    text = history_text(cluster, START, START + timedelta(minutes=3))
    assert text.endswith("# EOF\n")
    families = list(om_families(text))
    names = [f.name for f in families]
    assert len(names) == len(set(names))
    assert "container_cpu_usage_seconds" in names and "kube_pod_status_phase" in names
    sample = next(f for f in families if f.name == "container_cpu_usage_seconds").samples[0]
    assert sample.name == "container_cpu_usage_seconds_total"
    assert sample.timestamp is not None and 1.7e9 < float(sample.timestamp) < 1.8e9


def test_same_seed_gives_byte_identical_history_exposition_and_truth():
    end = START + timedelta(minutes=5)
    a, b = Cluster(seed=3), Cluster(seed=3)
    assert history_text(a, START, end) == history_text(b, START, end)
    for ta, tb in zip(a.targets(), b.targets(), strict=True):
        assert a.exposition(ta, START) == b.exposition(tb, START)
    assert json.dumps(a.truth(START, end)) == json.dumps(b.truth(START, end))


def test_different_seed_gives_different_history_and_truth():
    end = START + timedelta(minutes=5)
    assert history_text(Cluster(seed=3), START, end) != history_text(Cluster(seed=4), START, end)
    assert Cluster(seed=3).truth(START, end) != Cluster(seed=4).truth(START, end)


@pytest.mark.parametrize(
    "start",
    [START, datetime(2024, 5, 1, 23, 53, tzinfo=UTC)],
    ids=["inside-a-day", "across-midnight"],
)
def test_splitting_a_window_gives_the_same_samples_as_the_whole_window(cluster, start):
    mid, end = start + timedelta(minutes=7), start + timedelta(minutes=13)
    whole = samples_by_series(history_text(cluster, start, end))
    first = samples_by_series(history_text(cluster, start, mid))
    second = samples_by_series(history_text(cluster, mid, end))
    joined = {k: first.get(k, []) + second.get(k, []) for k in set(first) | set(second)}
    assert joined == whole


def _instances(truth):
    for job in truth["jobs"]:
        for pod in job["pods"]:
            for c in pod["containers"]:
                for inst in c["instances"]:
                    yield pod, c, inst


def test_last_cadvisor_cpu_sample_of_each_instance_equals_truth_observed(cluster):
    start, end = START, START + timedelta(minutes=20)
    truth = cluster.truth(start, end)
    # history from an hour earlier holds the last sample before the window too
    series = samples_by_series(history_text(cluster, start - timedelta(hours=1), end))
    cpu = {}
    for head, samples in series.items():
        if head.startswith("container_cpu_usage_seconds_total{") and 'container="' in head:
            iid = head.split('name="', 1)[1].split('"', 1)[0]
            cpu[iid] = [(float(ts), float(v)) for ts, v in samples]
    checked = 0
    for _, _, inst in _instances(truth):
        samples = cpu.get(inst["id"], [])
        inside = [v for ts, v in samples if T0 <= ts < T0 + 1200]
        before = [v for ts, v in samples if ts < T0]
        expected = (inside[-1] - (before[-1] if before else 0.0)) if inside else 0.0
        assert inst["cpu_core_seconds"]["observed"] == pytest.approx(expected, rel=1e-9, abs=1e-9)
        checked += 1
    assert checked > 20


def test_truth_observed_does_not_exceed_real(cluster):
    truth = cluster.truth(START, START + timedelta(hours=1))
    for q in ("cpu_core_seconds", "memory_byte_seconds", "network_rx_bytes"):
        total = truth["totals"][q]
        assert 0 < total["observed"] <= total["real"]
        assert total["gap"] == pytest.approx(total["real"] - total["observed"])
    for _, _, inst in _instances(truth):
        if inst["start"] >= truth["window"]["start"]:  # no sample before the window
            assert inst["cpu_core_seconds"]["observed"] <= inst["cpu_core_seconds"]["real"]
    assert truth["namespaces"]["sandbox"]["account"] == "unassigned"
    assert all(j["account"] == "unassigned" for j in truth["jobs"] if j["namespace"] == "sandbox")


def test_pod_cgroup_series_are_sums_of_sandbox_and_containers(cluster):
    samples = exposition_samples(cluster, "cadvisor", START, "node-1")
    ws = [s for s in samples if s.name == "container_memory_working_set_bytes"]
    pods = {s.labels["pod"] for s in ws if s.labels["pod"]}
    assert len(pods) > 3
    for pod in pods:
        mine = [s for s in ws if s.labels["pod"] == pod]
        cgroup = [s.value for s in mine if s.labels["image"] == ""]
        parts = [s.value for s in mine if s.labels["image"] != ""]
        assert cgroup == [sum(parts)]
    net = [s for s in samples if s.name == "container_network_receive_bytes_total"]
    assert all(
        s.labels["image"] == "registry.k8s.io/pause:3.9" or s.labels["id"] == "/" for s in net
    )


def test_host_network_pod_network_is_not_billed_but_reported_raw(cluster):
    samples = exposition_samples(cluster, "cadvisor", START, "node-2")
    rx = {
        s.labels["pod"]: s.value
        for s in samples
        if s.name == "container_network_receive_bytes_total"
    }
    agent = next(p for p in rx if p.startswith("node-agent-"))
    assert rx[agent] == rx[""]  # the hostNetwork sandbox sees the node's interface counters
    truth = cluster.truth(START, START + timedelta(minutes=10))
    agent_pods = [p for j in truth["jobs"] if j["name"] == "node-agent" for p in j["pods"]]
    assert agent_pods and all(p["host_network"] for p in agent_pods)
    for p in agent_pods:
        assert p["quantities"]["network_rx_bytes"] == {"real": 0.0, "observed": 0.0}
        assert p["raw_node_network"]["network_rx_bytes"]["real"] > 0
    info = exposition_samples(cluster, "ksm", START)
    assert {s.labels["host_network"] for s in info if s.name == "kube_pod_info"} == {
        "true",
        "false",
    }


def test_completed_job_pods_export_requests_but_no_cadvisor_series(cluster):
    pods, _ = cluster.objects(T0, T0 + 3600)
    pod = next(
        p
        for p in pods
        if p.completed
        and p.deleted
        and p.deleted - p.completed > 120
        and p.containers[0].requests
        and p.completed > T0
    )
    at = datetime.fromtimestamp(pod.completed + 60, UTC)
    ksm = [s for s in exposition_samples(cluster, "ksm", at) if s.labels.get("pod") == pod.name]
    names = {s.name for s in ksm}
    assert {
        "kube_pod_info",
        "kube_pod_container_resource_requests",
        "kube_pod_completion_time",
    } <= names
    phase = {s.labels["phase"]: s.value for s in ksm if s.name == "kube_pod_status_phase"}
    assert phase[pod.final_phase] == 1 and phase["Running"] == 0
    assert "kube_pod_container_state_started" not in names
    cadv = exposition_samples(cluster, "cadvisor", at, pod.node)
    assert not [s for s in cadv if s.labels.get("pod") == pod.name]


def test_restart_produces_a_new_series_starting_near_zero(cluster):
    pods, _ = cluster.objects(T0, T0 + 6 * 3600)
    pod, inst = next(
        (p, c.instances[1])
        for p in pods
        for c in p.containers
        if len(c.instances) > 1
        and c.instances[1].start > T0
        and c.instances[1].end
        and c.instances[1].end - c.instances[1].start > 120
    )
    old = next(c.instances[0] for c in pod.containers if inst in c.instances)
    start = datetime.fromtimestamp(inst.start - 300, UTC)
    series = samples_by_series(history_text(cluster, start, start + timedelta(minutes=10)))
    cpu = {h: s for h, s in series.items() if h.startswith("container_cpu_usage_seconds_total")}
    new = next(s for h, s in cpu.items() if f'name="{inst.id}"' in h)
    first_ts, first_value = float(new[0][0]), float(new[0][1])
    assert first_ts >= inst.start and first_value <= (first_ts - inst.start) * inst.cpu_m / 1000
    before = next(s for h, s in cpu.items() if f'name="{old.id}"' in h)
    assert float(before[-1][0]) < old.end <= first_ts


def test_dcgm_series_carry_exported_labels_only_on_the_renaming_target(cluster):
    text = history_text(cluster, START, START + timedelta(minutes=2))
    fb = [line for line in text.splitlines() if line.startswith("DCGM_FI_DEV_FB_USED{")]
    one = [x for x in fb if 'Hostname="gpu-node-1"' in x]
    two = [x for x in fb if 'Hostname="gpu-node-2"' in x]
    assert all('pod="nvidia-dcgm-exporter-' in x for x in one)
    assert any("exported_pod=" in x for x in one + two)
    assert not any("exported_pod=" in x for x in two)


def test_promtool_accepts_a_small_history_file(cluster, tmp_path):
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.skip("promtool is not installed (Debian package `prometheus`)")
    path = tmp_path / "h.om"
    cluster.history(START, START + timedelta(minutes=5), str(path))
    run = subprocess.run(
        [
            promtool,
            "tsdb",
            "create-blocks-from",
            "openmetrics",
            str(path),
            str(tmp_path / "blocks"),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 0, run.stderr
    assert list((tmp_path / "blocks").iterdir())


def test_scrape_config_is_valid_prometheus_configuration(tmp_path):
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.skip("promtool is not installed (Debian package `prometheus`)")
    out = subprocess.run(
        [sys.executable, "-m", "simulator", "scrape-config", "--port", "9100"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "honor_timestamps: false" in out and "__metrics_path__" in out
    (tmp_path / "p.yml").write_text("global: {}\n" + out)
    run = subprocess.run(
        [promtool, "check", "config", str(tmp_path / "p.yml")], capture_output=True, text=True
    )
    assert run.returncode == 0, run.stdout + run.stderr


def test_cli_errors_name_the_bad_option():
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "simulator",
            "history",
            "--start",
            "yesterday",
            "--end",
            "2024-05-01T00:00:00Z",
            "--out",
            "/dev/null",
        ],
        capture_output=True,
        text=True,
    )
    assert run.returncode == 2 and "--start" in run.stderr
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "simulator",
            "truth",
            "--start",
            "2024-05-01T00:00:00Z",
            "--end",
            "2024-05-01T00:01:00Z",
            "--scrape-interval",
            "7",
        ],
        capture_output=True,
        text=True,
    )
    assert run.returncode == 2 and "--scrape-interval" in run.stderr


def test_serve_answers_on_a_free_local_port(cluster):
    server = make_server(cluster, "127.0.0.1", 0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        base = f"http://127.0.0.1:{server.server_port}"
        with urllib.request.urlopen(base + "/", timeout=10) as r:
            listing = json.load(r)
        assert {t["kind"] for t in listing} == {"cadvisor", "ksm", "dcgm"}
        with urllib.request.urlopen(base + listing[0]["path"], timeout=10) as r:
            assert r.headers["Content-Type"].startswith("text/plain; version=0.0.4")
            names = {f.name for f in text_string_to_metric_families(r.read().decode())}
        assert "container_cpu_usage_seconds" in names
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def test_docker_flavour_has_pod_infra_containers_and_container_filesystems():
    cluster = Cluster(seed=7, flavour="docker", nodes=1, gpu_nodes=0)
    samples = exposition_samples(cluster, "cadvisor", START)
    net = [s for s in samples if s.name == "container_network_receive_bytes_total"]
    assert {s.labels["container"] for s in net} == {"POD", ""}
    fs = {s.labels["container"] for s in samples if s.name == "container_fs_usage_bytes"}
    assert "" in fs and len(fs) > 1
    ids = {s.labels["id"] for s in samples if s.labels.get("container")}
    assert all(i.startswith("/kubepods/") for i in ids)


def test_containerd_flavour_has_filesystem_series_only_for_the_root_cgroup(cluster):
    samples = exposition_samples(cluster, "cadvisor", START, "node-1")
    assert {s.labels["id"] for s in samples if s.name == "container_fs_usage_bytes"} == {"/"}


def test_cluster_label_is_added_to_every_stored_series():
    cluster = Cluster(seed=7, nodes=1, gpu_nodes=1, cluster_label="alpha")
    text = history_text(cluster, START, START + timedelta(minutes=1))
    lines = [x for x in text.splitlines() if not x.startswith("#")]
    assert lines and all('cluster="alpha"' in x for x in lines)
