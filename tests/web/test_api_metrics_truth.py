"""Every seed metric through the API against the simulator, on a real Prometheus.

The truth is what the simulated exporters answered at their scrape times (`Cluster.exposition`),
computed here independently of PromQL: for a recorded value evaluated at E, each exporter's
latest scrape at or before E. Gauges, counters, requests, limits and capacities must match
exactly; rates must equal the counter's slope over the 5-minute window ending at E (what rate()
returns when samples cover the window; containers that started or restarted inside the window are
left out, as are series the exporters did not report at E's scrape).

The session's Prometheus holds two clusters: `cluster` (containerd, series without a cluster
label, so the home cluster "default") and `docker_cluster` (docker, cluster="docker-lab", the one
with per-container filesystem metrics). Every comparison names its cluster with `cluster=`.
"""

import functools
import math
from collections import defaultdict
from datetime import UTC, datetime, timedelta

import pytest
from prometheus_client.parser import text_string_to_metric_families

from promadapter.catalog import BY_NAME, METRICS
from promadapter.client import PrometheusClient
from tests.conftest import DOCKER_CLUSTER

pytestmark = pytest.mark.usefixtures("prometheus_settings")
# The containerd cluster's series carry no cluster label: they are settings.KUBEMON_CLUSTER's.
HOME = "default"
WINDOW = 300
RTOL = 1e-6
# rate() extrapolates to the window edges, by at most one scrape interval (30 s of 300 s), and
# less toward a counter near zero: a rate may differ from the sampled slope by that share.
RATE_RTOL = 0.1


@pytest.fixture(scope="module")
def at(history_window):
    return history_window[1] - timedelta(minutes=90)


def scrapes(cluster, kind: str, end: float, since: float) -> list[tuple[float, object, list]]:
    """Return (time, target, samples) of every scrape of `kind` targets in [since, end]."""
    out = []
    for target in cluster.targets():
        if target.kind != kind:
            continue
        for ms in cluster.scrape_times(target, int(since) - 1, int(end) + 1):
            if since * 1000 <= ms <= end * 1000:
                out.append((ms / 1000, target, scraped(cluster, target.path, ms)))
    return out


@functools.cache
def scraped(cluster, path: str, ms: int) -> list:
    """The samples of one scrape; cached, as the tests' windows overlap and parsing is slow."""
    text = cluster.exposition(path, ms / 1000)
    return [s for f in text_string_to_metric_families(text) for s in f.samples]


def latest(cluster, kind: str, at: float) -> list[tuple[object, list]]:
    """Return each target's samples of its latest scrape at or before `at` (5 min lookback)."""
    by_target = {}
    for t, target, samples in scrapes(cluster, kind, at, at - WINDOW):
        by_target[target.path] = (t, target, samples)
    return [(target, samples) for _, target, samples in by_target.values()]


def pick(samples, name: str, **labels):
    return [
        s
        for s in samples
        if s.name == name and all(s.labels.get(k) == v for k, v in labels.items())
    ]


def is_container(labels) -> bool:
    return labels.get("container") not in ("", "POD", None) and labels.get("image", "") != ""


def newest_instances(samples) -> set[str]:
    """Return the cgroup ids of the newest instance of every container (restarts linger)."""
    newest: dict[tuple, tuple[float, str]] = {}
    for s in pick(samples, "container_start_time_seconds"):
        if is_container(s.labels):
            key = (s.labels["namespace"], s.labels["pod"], s.labels["container"])
            newest[key] = max(newest.get(key, (-1, "")), (s.value, s.labels["id"]))
    return {id_ for _, id_ in newest.values()}


def ksm(cluster, at):
    return [s for _, samples in latest(cluster, "ksm", at) for s in samples]


def active_pods(ksm_samples) -> set[tuple[str, str]]:
    return {
        (s.labels["namespace"], s.labels["pod"])
        for s in pick(ksm_samples, "kube_pod_status_phase")
        if s.labels["phase"] in ("Pending", "Running") and s.value == 1
    }


def container_values(cluster, at, name, factor=1.0, **labels):
    """Return {(ns, pod, container): value} of the newest instances' samples."""
    out = {}
    for _, samples in latest(cluster, "cadvisor", at):
        ids = newest_instances(samples)
        for s in pick(samples, name, **labels):
            if is_container(s.labels) and s.labels["id"] in ids:
                key = (s.labels["namespace"], s.labels["pod"], s.labels["container"])
                out[key] = max(out.get(key, -math.inf), s.value * factor)
    return out


def container_rates(cluster, at, name, factor=1.0, **labels):
    """Return {(ns, pod, container): slope over the window} for instances that span it."""
    series = defaultdict(list)
    for t, _, samples in scrapes(cluster, "cadvisor", at, at - WINDOW):
        for s in pick(samples, name, **labels):
            if is_container(s.labels):
                key = (s.labels["namespace"], s.labels["pod"], s.labels["container"])
                series[key, s.labels["id"]].append((t, s.value))
    by_container = defaultdict(list)
    for (key, _), points in series.items():
        by_container[key].append(sorted(points))
    out = {}
    for key, instances in by_container.items():
        if len(instances) != 1 or len(instances[0]) < 2:
            continue  # a restart inside the window: rate() extrapolation differs, left out
        (t0, v0), (t1, v1) = instances[0][0], instances[0][-1]
        if t0 - (at - WINDOW) < 31 and at - t1 < 31:
            out[key] = (v1 - v0) / (t1 - t0) * factor
    return out


def pod_network(cluster, at, name, rate=False):
    host_network = {
        (s.labels["namespace"], s.labels["pod"])
        for s in pick(ksm(cluster, at), "kube_pod_info")
        if s.labels.get("host_network") == "true"
    }
    totals, first, last = defaultdict(float), {}, {}
    for t, _, samples in scrapes(cluster, "cadvisor", at, at - (WINDOW if rate else 31)):
        for s in pick(samples, name):
            key = (s.labels["namespace"], s.labels["pod"])
            if s.labels.get("pod") and key not in host_network:
                first.setdefault((key, s.labels["interface"]), (t, s.value))
                last[key, s.labels["interface"]] = (t, s.value)
    partial = set()
    for (key, interface), (t1, v1) in last.items():
        t0, v0 = first[key, interface]
        if not rate:
            totals[key] += v1
        elif t0 - (at - WINDOW) < 31 and at - t1 < 31 and t1 > t0:
            totals[key] += (v1 - v0) / (t1 - t0)
        else:
            partial.add(key)  # the sandbox started inside the window
    return {k: v for k, v in totals.items() if k not in partial}


def expected(cluster, metric, at) -> dict:
    """Return {label tuple: value in the API's unit} for metric at evaluation time `at`."""
    n = metric.name
    gauges = {
        "cpu/usage": ("container_cpu_usage_seconds_total", {}),
        "memory/usage": ("container_memory_usage_bytes", {}),
        "memory/working_set": ("container_memory_working_set_bytes", {}),
        "memory/rss": ("container_memory_rss", {}),
        "memory/cache": ("container_memory_cache", {}),
        "memory/page_faults": (
            "container_memory_failures_total",
            {"failure_type": "pgfault", "scope": "container"},
        ),
        "memory/major_page_faults": (
            "container_memory_failures_total",
            {"failure_type": "pgmajfault", "scope": "container"},
        ),
    }
    rates = {
        "cpu/usage_rate": ("container_cpu_usage_seconds_total", {}),
        "memory/page_faults_rate": (
            "container_memory_failures_total",
            {"failure_type": "pgfault", "scope": "container"},
        ),
        "memory/major_page_faults_rate": (
            "container_memory_failures_total",
            {"failure_type": "pgmajfault", "scope": "container"},
        ),
    }
    network = {
        "network/rx": "container_network_receive_bytes_total",
        "network/tx": "container_network_transmit_bytes_total",
        "network/rx_errors": "container_network_receive_errors_total",
        "network/tx_errors": "container_network_transmit_errors_total",
    }
    if n in gauges:
        return container_values(cluster, at, gauges[n][0], metric.factor, **gauges[n][1])
    if n in rates:
        return container_rates(cluster, at, rates[n][0], metric.factor, **rates[n][1])
    if n in network:
        return pod_network(cluster, at, network[n])
    if n.startswith("network/") and n.endswith("_rate"):
        return pod_network(cluster, at, network[n.removesuffix("_rate")], rate=True)
    if n == "uptime":
        starts = container_values(cluster, at, "container_start_time_seconds")
        return {k: (at - v) * 1000 for k, v in starts.items()}
    samples = ksm(cluster, at)
    if n in ("cpu/request", "cpu/limit", "memory/request", "memory/limit"):
        family = "kube_pod_container_resource_" + ("requests" if "request" in n else "limits")
        active = active_pods(samples)
        return {
            (s.labels["namespace"], s.labels["pod"], s.labels["container"]): s.value * metric.factor
            for s in pick(samples, family, resource=n.split("/")[0])
            if (s.labels["namespace"], s.labels["pod"]) in active
        }
    if n.endswith(("node_capacity", "node_allocatable")):
        family = "kube_node_status_" + n.split("node_")[1]
        return {
            (s.labels["node"],): s.value * metric.factor
            for s in pick(samples, family, resource=n.split("/")[0])
        }
    if n.endswith("node_reservation"):
        resource, active = n.split("/")[0], active_pods(samples)
        requested = defaultdict(float)
        for s in pick(samples, "kube_pod_container_resource_requests", resource=resource):
            if (s.labels["namespace"], s.labels["pod"]) in active and s.labels.get("node"):
                requested[s.labels["node"]] += s.value
        return {
            (s.labels["node"],): requested[s.labels["node"]] / s.value
            for s in pick(samples, "kube_node_status_allocatable", resource=resource)
        }
    if n == "gpu/usage":
        out = defaultdict(float)
        for _, dcgm in latest(cluster, "dcgm", at):
            for s in pick(dcgm, "DCGM_FI_DEV_FB_USED"):
                if s.labels.get("pod"):
                    out[s.labels["namespace"], s.labels["pod"], s.labels["container"]] += s.value
        return dict(out)
    return None  # node utilization and filesystem: checked separately


def key_of(metric, labels) -> tuple:
    if metric.scope == "node":
        return (labels["node"],)
    if metric.scope == "pod":
        return (labels["namespace"], labels["pod"])
    return (labels["namespace"], labels["pod"], labels["container"])


def evaluation_time(metric, at, cluster_name=HOME) -> float:
    """Return the time of the recorded sample that a query at `at` returns in the cluster."""
    expr = metric.promql({}, cluster_name, HOME)
    found = PrometheusClient().query(f"max(timestamp({expr}))", at=at)
    assert found, f"no recorded {metric.record} at {at} in {cluster_name}"
    return float(found[0]["value"][1])


def api_values(api_client, metric, at, cluster_name=HOME) -> dict:
    t = at.isoformat()
    params = {"start": t, "end": t, "cluster": cluster_name}
    answer = api_client.get(f"/api/v1/metrics/{metric.name}", params)
    assert answer.status_code == 200, answer.content
    body = answer.json()
    assert body["unit"] == metric.unit and body["available"] is True
    return {key_of(metric, s["labels"]): s["points"][-1][1] for s in body["series"]}


def assert_matches(got: dict, truth: dict, rtol: float) -> None:
    """Most true keys are answered, and every common value agrees within rtol."""
    common = set(truth) & set(got)
    assert truth, "the simulator has no value to compare with"
    assert len(common) >= 0.8 * len(truth), (sorted(truth)[:5], sorted(got)[:5])
    wrong = {
        k: (got[k], truth[k])
        for k in common
        if not math.isclose(got[k], truth[k], rel_tol=rtol, abs_tol=RTOL)
    }
    assert not wrong, f"{len(wrong)} of {len(common)} differ, e.g. {list(wrong.items())[:3]}"


CHECKED = [m.name for m in METRICS if not m.optional and "utilization" not in m.name]


@pytest.mark.parametrize("name", CHECKED)
def test_the_api_matches_the_simulator(api_client, cluster, at, name):
    metric = BY_NAME[name]
    evaluated = evaluation_time(metric, at)
    truth = expected(cluster, metric, evaluated)
    got = api_values(api_client, metric, at)
    assert_matches(got, truth, RATE_RTOL if name.endswith("_rate") else RTOL)


FILESYSTEM = [m.name for m in METRICS if m.optional]


def test_filesystem_metrics_under_containerd_are_unavailable_not_errors(api_client, at, cluster):
    if cluster.flavour != "containerd":
        pytest.skip("only containerd lacks per-container filesystem statistics")
    t = at.isoformat()
    for name in FILESYSTEM:
        params = {"start": t, "end": t, "cluster": HOME}
        answer = api_client.get(f"/api/v1/metrics/{name}", params)
        assert answer.status_code == 200
        assert answer.json()["available"] is False and answer.json()["series"] == []
        assert HOME in answer.json()["reason"]


def test_filesystem_metrics_under_docker_are_available(api_client, at, docker_cluster):
    assert docker_cluster.flavour == "docker"
    t = at.isoformat()
    for name in FILESYSTEM:
        params = {"start": t, "end": t, "cluster": DOCKER_CLUSTER}
        body = api_client.get(f"/api/v1/metrics/{name}", params).json()
        assert body["available"] is True and body["series"], name
        assert {s["labels"]["cluster"] for s in body["series"]} == {DOCKER_CLUSTER}


def root_free_bytes(samples) -> float:
    """Return the node filesystem's free bytes: the root cgroup's limit minus its usage."""
    limit = pick(samples, "container_fs_limit_bytes", id="/")[0].value
    return limit - pick(samples, "container_fs_usage_bytes", id="/")[0].value


def filesystem_expected(docker_cluster, metric, at) -> dict:
    """Return {(ns, pod, container): value} of a filesystem metric from the cAdvisor scrapes."""
    if metric.name != "filesystem/available":
        return container_values(docker_cluster, at, metric.record.split(":")[1])
    # cAdvisor has no "available": the rule takes it from the root cgroup of the pod's node.
    out = {}
    for _, samples in latest(docker_cluster, "cadvisor", at):
        free = root_free_bytes(samples)
        for s in pick(samples, "container_fs_usage_bytes"):
            if is_container(s.labels):
                out[s.labels["namespace"], s.labels["pod"], s.labels["container"]] = free
    return out


@pytest.mark.parametrize("name", FILESYSTEM)
def test_filesystem_metrics_of_docker_containers_match_the_simulator(
    api_client, docker_cluster, at, name
):
    metric = BY_NAME[name]
    evaluated = evaluation_time(metric, at, DOCKER_CLUSTER)
    truth = filesystem_expected(docker_cluster, metric, evaluated)
    assert_matches(api_values(api_client, metric, at, DOCKER_CLUSTER), truth, RTOL)


def allocatable(sim, at, resource: str) -> dict[str, float]:
    samples = ksm(sim, at)
    return {
        s.labels["node"]: s.value
        for s in pick(samples, "kube_node_status_allocatable", resource=resource)
    }


def node_cpu_utilization(sim, at) -> dict:
    """Return {(node,): root cgroup CPU slope over the window / allocatable cores}."""
    points = defaultdict(list)
    for t, target, samples in scrapes(sim, "cadvisor", at, at - WINDOW):
        for s in pick(samples, "container_cpu_usage_seconds_total", id="/"):
            points[target.node].append((t, s.value))
    cores, out = allocatable(sim, at, "cpu"), {}
    for node, series in points.items():
        (t0, v0), (t1, v1) = min(series), max(series)
        # A scrape gap at either edge makes rate() extrapolate differently: left out.
        if t0 - (at - WINDOW) < 31 and at - t1 < 31:
            out[(node,)] = (v1 - v0) / (t1 - t0) / cores[node]
    return out


def node_memory_utilization(sim, at) -> dict:
    """Return {(node,): root cgroup memory usage / allocatable bytes} of the latest scrapes."""
    memory = allocatable(sim, at, "memory")
    return {
        (target.node,): pick(samples, "container_memory_usage_bytes", id="/")[0].value
        / memory[target.node]
        for target, samples in latest(sim, "cadvisor", at)
    }


@pytest.mark.parametrize("cluster_name", [HOME, DOCKER_CLUSTER])
@pytest.mark.parametrize("name", ["cpu/node_utilization", "memory/node_utilization"])
def test_node_utilization_is_root_cgroup_usage_over_allocatable(
    api_client, cluster, docker_cluster, at, name, cluster_name
):
    sim = cluster if cluster_name == HOME else docker_cluster
    metric = BY_NAME[name]
    evaluated = evaluation_time(metric, at, cluster_name)
    if name == "cpu/node_utilization":
        truth, rtol = node_cpu_utilization(sim, evaluated), RATE_RTOL
    else:
        truth, rtol = node_memory_utilization(sim, evaluated), RTOL
    got = api_values(api_client, metric, at, cluster_name)
    assert_matches(got, truth, rtol)
    assert all(0 < v < 1.5 for v in got.values())


def test_limit_returns_the_latest_points_and_csv_has_one_row_per_point(api_client, at):
    start = (at - timedelta(minutes=30)).isoformat()
    params = {"start": start, "end": at.isoformat(), "step": "60", "limit": "3"}
    params["cluster"] = "default"
    body = api_client.get("/api/v1/metrics/cpu/usage_rate", params).json()
    assert body["series"] and all(len(s["points"]) <= 3 for s in body["series"])
    full = [s for s in body["series"] if len(s["points"]) == 3]
    last = at.astimezone(UTC).isoformat().replace("+00:00", "Z")
    assert full and full[0]["points"][-1][0] == last
    csv = api_client.get("/api/v1/metrics/cpu/usage_rate", {**params, "format": "csv"})
    assert csv.status_code == 200 and csv["Content-Type"].startswith("text/csv")
    rows = csv.content.decode().splitlines()
    points = sum(len(s["points"]) for s in body["series"])
    assert rows[0].startswith("metric,unit,") and len(rows) == 1 + points


def test_the_catalog_lists_37_metrics_with_filesystem_availability(api_client):
    metrics = api_client.get("/api/v1/metrics").json()["metrics"]
    assert len(metrics) == 37
    assert all(isinstance(m["available"], bool) for m in metrics)


def test_a_filter_narrows_the_series(api_client, at):
    t = at.isoformat()
    everything = api_client.get("/api/v1/metrics/memory/working_set", {"start": t, "end": t}).json()
    one = everything["series"][0]["labels"]
    narrowed = api_client.get(
        "/api/v1/metrics/memory/working_set",
        {"start": t, "end": t, "namespace": one["namespace"], "pod": one["pod"]},
    ).json()
    assert narrowed["series"] and all(s["labels"]["pod"] == one["pod"] for s in narrowed["series"])
    assert datetime.fromisoformat(narrowed["end"]) == at
