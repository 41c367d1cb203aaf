"""The `cluster` parameter of the metric API against the session's two-cluster Prometheus.

`cluster` (containerd) has no cluster label, so it is the home cluster ("default", from
settings.KUBEMON_CLUSTER); `docker_cluster` is labelled cluster="docker-lab". Without the
parameter both come back, told apart by their `cluster` label.
"""

from datetime import timedelta
from urllib.parse import parse_qs

import pytest
import responses

from tests.conftest import DOCKER_CLUSTER

pytestmark = pytest.mark.usefixtures("prometheus_settings")
METRIC = "/api/v1/metrics/memory/working_set"


@pytest.fixture(scope="module")
def when(history_window):
    t = (history_window[1] - timedelta(minutes=90)).isoformat()
    return {"start": t, "end": t}


def clusters_of(body) -> set[str | None]:
    return {s["labels"].get("cluster") for s in body["series"]}


def test_without_a_cluster_every_clusters_series_come_back_with_their_label(api_client, when):
    body = api_client.get(METRIC, when).json()
    assert body["cluster"] is None
    # The session's Prometheus also holds one small cluster per exporter behaviour.
    scenarios = {c for c in clusters_of(body) if c and c.startswith("sc-")}
    assert clusters_of(body) - scenarios == {None, DOCKER_CLUSTER}


def test_the_home_cluster_is_the_series_without_a_cluster_label(api_client, when):
    body = api_client.get(METRIC, {**when, "cluster": "default"}).json()
    assert body["cluster"] == "default" and body["series"]
    assert clusters_of(body) == {None}


def test_another_cluster_is_its_labelled_series_only(api_client, when):
    body = api_client.get(METRIC, {**when, "cluster": DOCKER_CLUSTER}).json()
    assert body["series"] and clusters_of(body) == {DOCKER_CLUSTER}


def test_a_cluster_prometheus_does_not_know_has_no_series(api_client, when):
    body = api_client.get(METRIC, {**when, "cluster": "nowhere"}).json()
    assert body["series"] == [] and body["available"] is True


def test_the_home_cluster_name_is_matched_literally_not_as_a_regex(api_client, when, settings):
    # Unescaped, the "." of "docker.lab" would match the "-" of docker-lab's series.
    settings.KUBEMON_CLUSTER = "docker.lab"
    body = api_client.get(METRIC, {**when, "cluster": "docker.lab"}).json()
    assert body["series"] and clusters_of(body) == {None}


def test_the_home_cluster_may_also_be_labelled(api_client, when, settings):
    # A Prometheus where the home cluster's series carry its name as well as none at all.
    settings.KUBEMON_CLUSTER = DOCKER_CLUSTER
    body = api_client.get(METRIC, {**when, "cluster": DOCKER_CLUSTER}).json()
    # The session's Prometheus also holds one small cluster per exporter behaviour.
    scenarios = {c for c in clusters_of(body) if c and c.startswith("sc-")}
    assert clusters_of(body) - scenarios == {None, DOCKER_CLUSTER}


def test_the_catalog_tells_filesystem_availability_in_the_named_cluster(api_client):
    # Only the containerd cluster is scraped live (docker-lab is history), and "available"
    # is about now: the home cluster has no filesystem series.
    metrics = api_client.get("/api/v1/metrics", {"cluster": "default"}).json()
    available = {m["name"]: m["available"] for m in metrics["metrics"]}
    assert metrics["cluster"] == "default"
    assert available["filesystem/usage"] is False and available["cpu/usage_rate"] is True


def test_the_catalog_asks_prometheus_about_the_named_cluster_only(api_client, settings):
    settings.PROMETHEUS_URL, settings.PROMETHEUS_RETRIES = "http://prometheus.test:9090", 0
    record = "node_namespace_pod_container_device:container_fs_usage_bytes:max"
    sample = {"metric": {"__name__": record}, "value": [1772452800, "1"]}
    answer = {"status": "success", "data": {"resultType": "vector", "result": [sample]}}
    with responses.RequestsMock() as fake:
        fake.post("http://prometheus.test:9090/api/v1/query", json=answer)
        metrics = api_client.get("/api/v1/metrics", {"cluster": DOCKER_CLUSTER}).json()["metrics"]
        sent = parse_qs(fake.calls[0].request.body)["query"][0]
    assert 'cluster="docker-lab"' in sent
    available = {m["name"]: m["available"] for m in metrics}
    assert available["filesystem/usage"] is True and available["filesystem/limit"] is False
