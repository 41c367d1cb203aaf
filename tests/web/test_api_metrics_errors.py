"""Metric API failure modes: clear 4xx for bad requests, 502/504 for Prometheus, never a 500.

No request value reaches Prometheus unless it is a valid Kubernetes name: with `responses`
active and nothing registered, any call to Prometheus would surface as a 502, so a 400 with zero
recorded calls proves the value was stopped before PromQL was built.
"""

import socket

import pytest
import requests
import responses

URL = "http://prometheus.test:9090"
HOSTILE = ['"} or vector(1)', 'ml"', "ml}", "ml\n", "ünïcode", "a{b}", "ml\\", " ml", "ML"]


@pytest.fixture
def fake_prometheus(settings):
    settings.PROMETHEUS_URL = URL
    settings.PROMETHEUS_RETRIES = 0
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.django_db
def test_the_api_requires_authentication(client):
    assert client.get("/api/v1/metrics").status_code in (401, 403)
    assert client.get("/api/v1/metrics/cpu/usage_rate").status_code in (401, 403)


def test_a_lab_user_may_not_read_metrics_of_every_namespace(db, django_user_model):
    from rest_framework.test import APIClient

    lab = APIClient()
    lab.force_authenticate(django_user_model.objects.create_user("alice"))
    assert lab.get("/api/v1/metrics").status_code == 403
    assert lab.get("/api/v1/metrics/cpu/usage_rate").status_code == 403


def test_an_unknown_metric_is_a_404_listing_the_names(api_client):
    answer = api_client.get("/api/v1/metrics/cpu/nonsense")
    assert answer.status_code == 404
    assert "cpu/usage_rate" in answer.json()["metrics"] and len(answer.json()["metrics"]) == 37


@pytest.mark.parametrize("value", HOSTILE)
@pytest.mark.parametrize("param", ["namespace", "pod", "container", "node"])
def test_a_bad_label_value_is_rejected_with_400_before_prometheus_is_asked(
    api_client, fake_prometheus, param, value
):
    answer = api_client.get("/api/v1/metrics/cpu/usage_rate", {param: value})
    assert answer.status_code == 400
    assert answer.json()["param"] == param
    assert len(fake_prometheus.calls) == 0


@pytest.mark.parametrize("value", [*HOSTILE, "", "a" * 254, "lab.", "-lab", "la_b"])
@pytest.mark.parametrize("path", ["/api/v1/metrics/cpu/usage_rate", "/api/v1/metrics"])
def test_a_bad_cluster_is_rejected_with_400_before_prometheus_is_asked(
    api_client, fake_prometheus, path, value
):
    answer = api_client.get(path, {"cluster": value})
    assert answer.status_code == 400
    assert answer.json()["param"] == "cluster" and answer.json()["reason"]
    assert len(fake_prometheus.calls) == 0


@pytest.mark.parametrize(
    ("params", "param"),
    [
        ({"start": "last tuesday"}, "start"),
        ({"end": "2026-02-30T00:00:00Z"}, "end"),
        ({"start": "2026-03-02T12:00:00Z", "end": "2026-03-02T11:00:00Z"}, "start"),
        ({"step": "-1"}, "step"),
        ({"step": "1", "start": "2026-01-01T00:00:00Z", "end": "2026-03-01T00:00:00Z"}, "step"),
        ({"limit": "0"}, "limit"),
        ({"format": "xml"}, "format"),
        ({"container": "app"}, "container"),
    ],
)
def test_a_bad_parameter_is_a_400_saying_which_and_why(api_client, fake_prometheus, params, param):
    metric = "network/rx_rate" if param == "container" else "cpu/usage_rate"
    answer = api_client.get(f"/api/v1/metrics/{metric}", params)
    assert answer.status_code == 400
    assert answer.json()["param"] == param and answer.json()["reason"]
    assert len(fake_prometheus.calls) == 0


def test_prometheus_down_is_a_502_with_a_clear_message(api_client, settings):
    settings.PROMETHEUS_URL = f"http://127.0.0.1:{closed_port()}"
    settings.PROMETHEUS_RETRIES = 0
    answer = api_client.get("/api/v1/metrics/cpu/usage_rate")
    assert answer.status_code == 502
    assert answer.json()["prometheus"] == "unavailable"
    assert "unreachable" in answer.json()["detail"]


def test_a_slow_prometheus_is_a_504(api_client, fake_prometheus):
    fake_prometheus.post(URL + "/api/v1/query", body=requests.ReadTimeout("slow"))
    answer = api_client.get("/api/v1/metrics/memory/usage")
    assert answer.status_code == 504
    assert answer.json()["prometheus"] == "timeout"


def test_a_malformed_prometheus_answer_is_a_502(api_client, fake_prometheus):
    fake_prometheus.post(URL + "/api/v1/query", body="<html>proxy error</html>")
    answer = api_client.get("/api/v1/metrics/memory/usage", {"format": "csv"})
    assert answer.status_code == 502
    assert answer.json()["prometheus"] == "bad_response"


def test_a_prometheus_5xx_is_a_502(api_client, fake_prometheus):
    fake_prometheus.post(URL + "/api/v1/query", status=500, body="oops")
    assert api_client.get("/api/v1/metrics/uptime").status_code == 502


def test_the_catalog_still_lists_the_metrics_when_prometheus_is_down(api_client, settings):
    settings.PROMETHEUS_URL = f"http://127.0.0.1:{closed_port()}"
    settings.PROMETHEUS_RETRIES = 0
    answer = api_client.get("/api/v1/metrics")
    assert answer.status_code == 200
    metrics = {m["name"]: m for m in answer.json()["metrics"]}
    assert len(metrics) == 37
    assert metrics["filesystem/usage"]["available"] is None
    assert metrics["cpu/usage_rate"] == {
        "name": "cpu/usage_rate",
        "description": "CPU usage on all cores in millicores.",
        "unit": "millicores",
        "scope": "container",
        "available": True,
    }
