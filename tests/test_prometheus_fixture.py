"""The session's Prometheus holds the simulator's history and scrapes the live simulator."""

from datetime import timedelta

import pytest

from promadapter.client import PrometheusClient
from tests.conftest import wait_until


@pytest.fixture
def client(prometheus):
    return PrometheusClient(prometheus.url, timeout=10, retries=0)


def instances_started_in(truth, start):
    since = start.isoformat().replace("+00:00", "Z")
    for job in truth["jobs"]:
        for pod in job["pods"]:
            for container in pod["containers"]:
                for instance in container["instances"]:
                    if instance["start"] >= since:
                        yield instance


def container_id(labels: dict) -> str:
    """The container id at the end of cAdvisor's cgroup path (containerd or docker style)."""
    return labels["id"].rsplit("/", 1)[-1].removeprefix("cri-containerd-").removesuffix(".scope")


def test_each_container_counter_ends_at_the_cpu_seconds_the_truth_observed(
    client, cluster, history_window
):
    start, end = history_window
    truth = cluster.truth(start, end)
    answer = client.query(
        'last_over_time(container_cpu_usage_seconds_total{container!="", image!=""}[3599999ms])',
        at=end - timedelta(milliseconds=1),
    )
    last = {container_id(s["metric"]): float(s["value"][1]) for s in answer}
    instances = list(instances_started_in(truth, start))
    # Instances started in the window with a sample in its last hour.
    scraped = [i for i in instances if i["id"] in last]
    assert len(scraped) > 20
    for instance in scraped:
        assert last[instance["id"]] == pytest.approx(
            instance["cpu_core_seconds"]["observed"], rel=1e-12
        ), instance["id"]


def test_recorded_series_cover_the_backfilled_history(client, history_window):
    start, end = history_window
    middle = start + (end - start) / 2
    answer = client.query("count(node_namespace_pod_container:container_memory_rss:max)", middle)
    assert answer and float(answer[0]["value"][1]) > 10


def test_the_live_simulator_is_scraped(client):
    def scraped():
        answer = client.query('up{job="kube-state-metrics"} == 1')
        return bool(answer)

    wait_until(scraped, timeout=90, what="a scrape of the live kube-state-metrics endpoint")
    answer = client.query('count(kube_pod_info{job="kube-state-metrics"})')
    assert float(answer[0]["value"][1]) > 0
