"""The Prometheus client: retries, timeouts, chunking, typed errors.

`responses` fakes only what a real Prometheus will not do on demand (timeouts, 5xx, malformed
answers); "Prometheus down" is a real closed port on 127.0.0.1.
"""

import json
import socket
from urllib.parse import parse_qs

import pytest
import requests
import responses

from promadapter.client import (
    POINTS_PER_CHUNK,
    PrometheusBadResponse,
    PrometheusClient,
    PrometheusTimeout,
    PrometheusUnavailable,
    chunks,
)

URL = "http://prometheus.test:9090"
QUERY = URL + "/api/v1/query"
RANGE = URL + "/api/v1/query_range"


def client(**kwargs) -> PrometheusClient:
    return PrometheusClient(URL, timeout=1, retries=2, backoff=0, **kwargs)


def success(result, result_type="vector"):
    return {"status": "success", "data": {"resultType": result_type, "result": result}}


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_prometheus_down_raises_unavailable_after_the_retries():
    down = PrometheusClient(f"http://127.0.0.1:{closed_port()}", timeout=1, retries=1, backoff=0)
    with pytest.raises(PrometheusUnavailable, match="unreachable"):
        down.query("up")


@responses.activate
def test_a_timeout_is_retried_then_raised_as_prometheus_timeout():
    responses.post(QUERY, body=requests.ReadTimeout("slow"))
    with pytest.raises(PrometheusTimeout, match="within 1 s"):
        client().query("up")
    assert len(responses.calls) == 3


@responses.activate
def test_a_5xx_is_retried_and_a_later_success_is_returned():
    responses.post(QUERY, status=503, body="overloaded")
    responses.post(QUERY, json=success([{"metric": {}, "value": [1, "1"]}]))
    assert client().query("up") == [{"metric": {}, "value": [1, "1"]}]
    assert len(responses.calls) == 2


@responses.activate
def test_persistent_5xx_raises_unavailable():
    responses.post(QUERY, status=502, body="<html>bad gateway</html>")
    with pytest.raises(PrometheusUnavailable, match="HTTP 502"):
        client().query("up")
    assert len(responses.calls) == 3


@responses.activate
def test_malformed_json_raises_bad_response_without_retrying():
    responses.post(QUERY, status=200, body="{not json")
    with pytest.raises(PrometheusBadResponse):
        client().query("up")
    assert len(responses.calls) == 1


@responses.activate
def test_a_success_without_a_result_list_raises_bad_response():
    responses.post(QUERY, json={"status": "success", "data": {"resultType": "vector"}})
    with pytest.raises(PrometheusBadResponse):
        client().query("up")


@responses.activate
def test_a_rejected_query_raises_bad_response_with_prometheus_message():
    responses.post(
        QUERY, status=400, json={"status": "error", "errorType": "bad_data", "error": "parse error"}
    )
    with pytest.raises(PrometheusBadResponse, match="parse error"):
        client().query("up{")


@responses.activate
def test_a_query_timeout_inside_prometheus_raises_prometheus_timeout():
    body = {"status": "error", "errorType": "timeout", "error": "query timed out"}
    responses.post(QUERY, status=503, json=body)
    with pytest.raises(PrometheusTimeout, match="timed out"):
        client().query("up")


@responses.activate
def test_headers_and_bearer_token_are_sent():
    responses.post(QUERY, json=success([]))
    client(headers={"X-Scope-OrgID": "epfl"}, bearer_token="s3cret").query("up", at=10)
    sent = responses.calls[0].request
    assert sent.headers["X-Scope-OrgID"] == "epfl"
    assert sent.headers["Authorization"] == "Bearer s3cret"
    assert parse_qs(sent.body) == {"query": ["up"], "time": ["10.000"]}


def test_chunks_cover_the_range_on_one_grid_without_overlap():
    pieces = chunks(0, 25_000 * 60, 60)
    assert pieces[0] == (0, (POINTS_PER_CHUNK - 1) * 60)
    points = [t for a, b in pieces for t in range(int(a), int(b) + 1, 60)]
    assert points == list(range(0, 25_000 * 60 + 1, 60))


@responses.activate
def test_a_long_range_query_is_chunked_and_series_are_joined():
    def answer(request):
        form = parse_qs(request.body)
        start, end = float(form["start"][0]), float(form["end"][0])
        assert (end - start) / 60 + 1 <= POINTS_PER_CHUNK
        values = [[start + 60 * i, "1"] for i in range(int((end - start) / 60) + 1)]
        return 200, {}, json.dumps(success([{"metric": {"a": "b"}, "values": values}], "matrix"))

    responses.add_callback(responses.POST, RANGE, callback=answer)
    matrix = client().query_range("x", 0, 25_000 * 60, 60)
    assert len(responses.calls) == 3
    assert len(matrix) == 1 and len(matrix[0]["values"]) == 25_001


@responses.activate
def test_raw_samples_asks_for_a_range_vector_at_the_end_time():
    responses.post(QUERY, json=success([], "matrix"))
    client().raw_samples('x{a="b"}', 100, 400)
    assert parse_qs(responses.calls[0].request.body)["query"] == ['x{a="b"}[300000ms]']


@responses.activate
def test_series_sends_every_match():
    responses.post(URL + "/api/v1/series", json={"status": "success", "data": [{"a": "b"}]})
    assert client().series(["x", "y"], 0, 60) == [{"a": "b"}]
    assert parse_qs(responses.calls[0].request.body)["match[]"] == ["x", "y"]
