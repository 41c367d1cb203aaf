"""Fixtures shared by the whole suite: the simulated cluster and one real Prometheus.

One Prometheus serves the session: it holds the simulator's history for HISTORY_WINDOW
(raw series plus the project's recorded series, backfilled) and scrapes the live
simulator endpoint.
"""

import subprocess
import time
import urllib.request
from datetime import UTC, datetime

import pytest

from simulator.behaviours import BEHAVIOURS, parse_behaviours
from simulator.cluster import Cluster
from simulator.prometheus import PrometheusServer, free_port, load_history, simulator_command
from tests.fixtures import edge_cluster

pytest_plugins = [
    "tests.fixtures.browser",
    "tests.fixtures.oidc_provider",
    "tests.fixtures.smtp_server",
]

SEED = 7
SCRAPE_INTERVAL = 30
# The backfilled history starts an hour before the usage window, so that every counter has
# its last sample before the window, as in a Prometheus that has been running for long.
HISTORY_WINDOW = (datetime(2026, 3, 2, 5, tzinfo=UTC), datetime(2026, 3, 2, 12, tzinfo=UTC))
USAGE_WINDOW = (datetime(2026, 3, 2, 6, tzinfo=UTC), datetime(2026, 3, 2, 12, tzinfo=UTC))
SIMULATOR_ARGS = ["--seed", str(SEED), "--scrape-interval", str(SCRAPE_INTERVAL)]
# A second, smaller cluster in the same Prometheus: the docker/CRI-O flavour of cAdvisor
# (infra container "POD", per-container filesystem metrics), its series labelled cluster=.
DOCKER_CLUSTER = "docker-lab"
DOCKER_ARGS = [
    *("--seed", "11", "--nodes", "2", "--gpu-nodes", "0", "--jobs-per-hour", "8"),
    *("--flavour", "docker", "--cluster-label", DOCKER_CLUSTER),
    *("--scrape-interval", str(SCRAPE_INTERVAL)),
]

# One small cluster per real-exporter behaviour (simulator/behaviours.py), and one with them
# all, each labelled cluster="sc-<name>" in the same Prometheus.
# Seed 28 recreates its StatefulSet pod at 08:17 on the day of the usage window. The
# clusters are small (one CPU node, one GPU node) but for the one with every behaviour:
# with MIG and shared GPUs both on, a third GPU node keeps whole GPUs too.
SCENARIOS = {f"sc-{name}": name for name in BEHAVIOURS} | {"sc-all": "all"}
# The scenarios whose recorded series tests read (the dashboards', VictoriaMetrics'): the project's
# recording rules are evaluated over these and the two clusters above only, the other
# scenarios being imported after, raw. Evaluating the rules over every cluster was the
# longest step of the session's set-up.
RECORDED_SCENARIOS = {
    *("sc-stale-gpu-labels", "sc-prometheus-outage", "sc-recreated-pod"),
    *("sc-mig", "sc-shared-gpu", "sc-ha-pair", "sc-driver-reload"),
}


def scenario_parameters(label: str) -> dict:
    if label == "sc-all":
        return {"seed": 28, "nodes": 2, "gpu_nodes": 3, "jobs_per_hour": 10}
    if label == "sc-crash-completion":  # seen only when a scrape falls in a 10 s backoff
        return {"seed": 28, "nodes": 1, "gpu_nodes": 1, "jobs_per_hour": 30}
    return {"seed": 28, "nodes": 1, "gpu_nodes": 1, "jobs_per_hour": 8}


def scenario_args(label: str) -> list[str]:
    p = scenario_parameters(label)
    return [
        *("--seed", str(p["seed"]), "--nodes", str(p["nodes"])),
        *("--gpu-nodes", str(p["gpu_nodes"]), "--jobs-per-hour", str(p["jobs_per_hour"])),
        *("--behaviours", SCENARIOS[label], "--cluster-label", label),
        *("--scrape-interval", str(SCRAPE_INTERVAL)),
    ]


def scenario_cluster(label: str) -> Cluster:
    """The simulated cluster of a scenario, as backfilled into the session's Prometheus."""
    return Cluster(
        **scenario_parameters(label),
        behaviours=parse_behaviours(SCENARIOS[label]),
        cluster_label=label,
        scrape_interval=SCRAPE_INTERVAL,
    )


def wait_until(predicate, timeout: float, what: str, interval: float = 0.1):
    """Poll `predicate` until it returns something truthy, and return that."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if result := predicate():
            return result
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


@pytest.fixture(scope="session", autouse=True)
def fast_password_hashing():
    """Users log in hundreds of times in the tests: a fast hasher, as Django's docs advise.

    Set before any password is hashed or checked, so that no hasher list is cached yet.
    """
    from django.conf import settings

    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def no_api_rates_counted():
    """Each test starts with no API call counted against a rate (web/api/throttles.py).

    The counts live in the cache, which outlives a test's database: without this, a test
    could be throttled for the calls of the tests before it.
    """
    from django.core.cache import cache

    cache.clear()


@pytest.fixture(scope="session")
def cluster():
    return Cluster(seed=SEED, scrape_interval=SCRAPE_INTERVAL)


@pytest.fixture(scope="session")
def docker_cluster():
    return Cluster(
        seed=11,
        nodes=2,
        gpu_nodes=0,
        jobs_per_hour=8,
        flavour="docker",
        cluster_label=DOCKER_CLUSTER,
        scrape_interval=SCRAPE_INTERVAL,
    )


@pytest.fixture(scope="session")
def history_window():
    return HISTORY_WINDOW


@pytest.fixture(scope="session")
def usage_window():
    return USAGE_WINDOW


def answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as answer:
            return answer.status == 200
    except OSError:
        return False


@pytest.fixture(scope="session")
def live_simulator():
    """The simulator's live scrape endpoint on 127.0.0.1, as a base URL."""
    port = free_port()
    process = subprocess.Popen(
        simulator_command("serve", "--port", str(port), *SIMULATOR_ARGS),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until(lambda: answers(url + "/"), 30, "the simulator's live endpoint")
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture(scope="session")
def prometheus(tmp_path_factory, live_simulator):
    """A real Prometheus with the history of HISTORY_WINDOW and a live scrape.

    It holds two simulated clusters: `cluster` (containerd, series without a cluster
    label, as in a single-cluster Prometheus) and `docker_cluster` (cluster="docker-lab"),
    the hand-made cluster of tests/fixtures/edge_cluster.py (cluster="edge-lab"), and one small
    cluster per real-exporter behaviour (SCENARIOS, cluster="sc-<behaviour>"), recorded series
    for the first two and RECORDED_SCENARIOS only.
    """
    server = PrometheusServer(tmp_path_factory.mktemp("prometheus"))
    port = live_simulator.rsplit(":", 1)[1]
    scrape = subprocess.run(
        simulator_command("scrape-config", "--port", port, *SIMULATOR_ARGS),
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    server.write_config(scrape, SCRAPE_INTERVAL)
    edge = server.workdir / "edge.om"
    edge.write_text(edge_cluster.openmetrics())
    server.import_openmetrics(edge)
    recorded = [SIMULATOR_ARGS, DOCKER_ARGS, *map(scenario_args, sorted(RECORDED_SCENARIOS))]
    load_history(server, *HISTORY_WINDOW, recorded, SCRAPE_INTERVAL)
    raw = [scenario_args(label) for label in sorted(SCENARIOS) if label not in RECORDED_SCENARIOS]
    load_history(server, *HISTORY_WINDOW, raw, SCRAPE_INTERVAL, rules=False)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def prometheus_settings(settings, prometheus):
    settings.PROMETHEUS_URL = prometheus.url
    return settings


@pytest.fixture
def api_client(db, django_user_model):
    """An API client logged in as an ops user (staff: sees every account)."""
    from rest_framework.test import APIClient

    client = APIClient()
    client.force_authenticate(django_user_model.objects.create_user("olivia", is_staff=True))
    return client
