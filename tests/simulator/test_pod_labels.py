"""kube_pod_labels as kube-state-metrics emits it, and the users it tells, added to the simulator
without changing any other sample or the truth (the users come from a hash, not the random
stream that places jobs and levels)."""

import hashlib
import io
import json
import threading
import urllib.request
from collections import defaultdict
from datetime import UTC, datetime

import pytest
from prometheus_client.parser import text_string_to_metric_families

from simulator.behaviours import parse_behaviours
from simulator.cluster import Cluster
from simulator.ksm import FAMILIES
from simulator.server import make_server

START = datetime(2026, 3, 2, 6, tzinfo=UTC)
END = datetime(2026, 3, 2, 6, 20, tzinfo=UTC)
# Digests of the window's history without the families added since (kube_pod_labels, the
# GPU power, energy and engine activity), and of its truth without what they added (the
# jobs' users, GPU energy, busy and idle seconds), recorded with the simulator of the commit
# before kube_pod_labels existed (seed 1 with no behaviour, seed 28 with all). A deliberate
# change of the simulator's other samples re-records them; adding families never may.
BEFORE_USERS = {
    "": (
        "dac5628c69f1e529ef175d3ff19c3fbdcc20f16719d0f6385a00621fdf4cdc70",
        "7a49dad9406c76d89cb2f131229c42e31092d04c7ae2808b4f9af248f6e24ce1",
    ),
    "all": (
        "9c85200b6ad0d55e2ed73e2ec6404361d3d6dd6b77d850ca6e71f14be6f395d0",
        "683bacfc5a9f9aedb52947d304568cb2668d094594cbeaeaa877285bdac47be8",
    ),
}
SEEDS = {"": 1, "all": 28}
LABELS_FAMILY = ("kube_pod_labels", "# HELP kube_pod_labels", "# TYPE kube_pod_labels")
ADDED_FAMILIES = tuple(
    prefix + name
    for name in (
        "kube_pod_labels",
        "DCGM_FI_DEV_POWER_USAGE",
        "DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION",
        "DCGM_FI_PROF_GR_ENGINE_ACTIVE",
    )
    for prefix in ("", "# HELP ", "# TYPE ")
)
ADDED_TRUTH = {
    "user",
    "gpu_energy",
    "gpu_energy_estimate",
    "gpu_idle_percent",
    "gpu_energy_joules",
    "gpu_busy_seconds",
    "gpu_idle_seconds",
}


def small_cluster(behaviours: str) -> Cluster:
    return Cluster(
        seed=SEEDS[behaviours],
        nodes=2,
        gpu_nodes=2,
        jobs_per_hour=30,
        behaviours=parse_behaviours(behaviours),
        scrape_interval=30,
    )


def history(cluster: Cluster) -> str:
    buf = io.StringIO()
    cluster.history(START, END, buf)
    return buf.getvalue()


@pytest.fixture(scope="module")
def cluster():
    return small_cluster("")


@pytest.fixture(scope="module")
def truth(cluster):
    return cluster.truth(START, END)


def ksm_samples(cluster: Cluster, at: datetime, family: str) -> list:
    target = next(t for t in cluster.targets() if t.kind == "ksm")
    text = cluster.exposition(target, at)
    return [s for f in text_string_to_metric_families(text) for s in f.samples if s.name == family]


@pytest.mark.parametrize("behaviours", ["", "all"])
def test_the_other_samples_and_the_truth_are_those_of_the_simulator_before_users(behaviours):
    cluster = small_cluster(behaviours)
    lines = [line for line in history(cluster).splitlines() if not line.startswith(ADDED_FAMILIES)]
    assert len(lines) > 100_000
    truth = json.loads(
        json.dumps(cluster.truth(START, END)),
        object_hook=lambda d: {k: v for k, v in d.items() if k not in ADDED_TRUTH},
    )
    if behaviours:  # `all` has grown two GPU behaviours since, that change nothing here
        for grown in ("driver-reload", "gpu-handover"):
            truth["parameters"]["behaviours"].remove(grown)
    digests = (
        hashlib.sha256("\n".join(lines).encode()).hexdigest(),
        hashlib.sha256(json.dumps(truth, sort_keys=True).encode()).hexdigest(),
    )
    assert digests == BEFORE_USERS[behaviours]


def test_every_pod_has_one_series_with_its_ids_and_only_the_allowlisted_label(cluster):
    at = datetime(2026, 3, 2, 6, 10, tzinfo=UTC)
    labels = ksm_samples(cluster, at, "kube_pod_labels")
    info = ksm_samples(cluster, at, "kube_pod_info")
    ids = [(s.labels["namespace"], s.labels["pod"], s.labels["uid"]) for s in labels]
    assert sorted(ids) == sorted(
        (s.labels["namespace"], s.labels["pod"], s.labels["uid"]) for s in info
    )
    assert len(set(ids)) == len(ids)
    assert {s.value for s in labels} == {1.0}
    shapes = {tuple(s.labels) for s in labels}
    assert shapes == {("namespace", "pod", "uid"), ("namespace", "pod", "uid", "label_user")}


def test_the_family_has_kube_state_metrics_help_and_type():
    assert (
        "kube_pod_labels",
        "gauge",
        "[STABLE] Kubernetes labels converted to Prometheus labels.",
    ) in FAMILIES


def test_only_pods_of_jobs_carry_a_user_and_a_jobs_pods_share_it(cluster, truth):
    users = defaultdict(set)
    for job in truth["jobs"]:
        if job["kind"] != "Job":
            assert job["user"] is None, job["name"]
        users[job["user"] is None].add(job["name"])
    assert len(users[False]) >= 10
    assert users[True]  # some Jobs were submitted without the label
    by_pod = {(p["name"], p["uid"]): job["user"] for job in truth["jobs"] for p in job["pods"]}
    seen = 0
    for line in history(cluster).splitlines():
        if line.startswith("kube_pod_labels{"):
            labels = dict(
                part.split("=", 1)
                for part in line[line.index("{") + 1 : line.index("}")].split(",")
            )
            user = labels.get("label_user", "").strip('"') or None
            assert by_pod[(labels["pod"].strip('"'), labels["uid"].strip('"'))] == user
            seen += 1
    assert seen > 1000


def test_each_namespace_draws_its_users_from_a_small_pool(truth):
    pools = defaultdict(set)
    for job in truth["jobs"]:
        if job["user"]:
            pools[job["namespace"]].add(job["user"])
    assert pools
    assert all(1 <= len(users) <= 3 for users in pools.values())
    assert len(set().union(*pools.values())) > 3


def test_the_live_endpoint_serves_the_family(cluster):
    server = make_server(cluster)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        path = next(t.path for t in cluster.targets() if t.kind == "ksm")
        url = f"http://127.0.0.1:{server.server_port}{path}"
        with urllib.request.urlopen(url, timeout=10) as answer:
            text = answer.read().decode()
    finally:
        server.shutdown()
        server.server_close()
    assert "# TYPE kube_pod_labels gauge" in text
    assert "label_user=" in text
