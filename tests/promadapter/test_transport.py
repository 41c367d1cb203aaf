"""The client against a Prometheus, or a proxy in front of it, that answers badly.

Answers that drip in or stall come from a tiny HTTP server on a real 127.0.0.1 socket, because
the deadline is about socket reads; answers of the wrong shape, huge or deeply nested come from
`responses`, since a real Prometheus will not produce them; credentials are checked against the
session's real Prometheus.
"""

import base64
import contextlib
import json
import logging
import time

import pytest
import responses

from promadapter.client import (
    PrometheusBadResponse,
    PrometheusClient,
    PrometheusTimeout,
    PrometheusUnavailable,
)
from promadapter.transport import without_credentials
from simulator.prometheus import free_port
from tests.fixtures.local_http import LocalHTTPServer, QuietHandler

URL = "http://prometheus.test:9090"
QUERY = URL + "/api/v1/query"
RANGE = URL + "/api/v1/query_range"
VECTOR = {"resultType": "vector", "result": [{"metric": {"a": "b"}, "value": [1, "2"]}]}


def client(**kwargs) -> PrometheusClient:
    return PrometheusClient(URL, **{"timeout": 1, "retries": 0, "backoff": 0, **kwargs})


def success(data: dict, **extra) -> dict:
    return {"status": "success", "data": data, **extra}


class SlowServer(LocalHTTPServer):
    """An HTTP server on 127.0.0.1 that answers a valid vector at the pace of `send`."""

    def __init__(self, send, length: bool = True):
        body = json.dumps(success(VECTOR)).encode()
        seen = self.seen = []

        class Handler(QuietHandler):
            def do_POST(self):
                seen.append(dict(self.headers))
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                if length:  # else the answer ends when the connection closes
                    self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                with contextlib.suppress(OSError):  # the client hung up, as it should
                    send(self.wfile, body)

        super().__init__(Handler)


def drip(out, body):
    """One byte every 0.2 s: each read is quick, the whole answer would take minutes."""
    for byte in body:
        out.write(bytes([byte]))
        out.flush()
        time.sleep(0.2)


def stall(out, body):
    """A few bytes at once, a few more 1.5 s later, then nothing for 6 s."""
    out.write(body[:10])
    out.flush()
    time.sleep(1.5)
    out.write(body[10:20])
    out.flush()
    time.sleep(6)


def at_once(out, body):
    out.write(body)


def elapsed(action) -> float:
    started = time.monotonic()
    action()
    return time.monotonic() - started


def test_an_answer_that_drips_in_is_cut_at_the_total_deadline():
    with SlowServer(drip) as server:
        slow = PrometheusClient(server.url, timeout=1, retries=0)
        with pytest.raises(PrometheusTimeout, match="within 1 s"):
            started = time.monotonic()
            slow.query("up")
    # Before the deadline, reads of one byte each every 0.2 s went on for the whole answer.
    assert time.monotonic() - started < 2.5


def test_a_stalled_answer_waits_only_for_the_time_left_not_a_whole_timeout():
    with SlowServer(stall) as server:
        slow = PrometheusClient(server.url, timeout=2, retries=0)
        started = time.monotonic()
        with pytest.raises(PrometheusTimeout):
            slow.query("up")
    # A timeout per read would wait 1.5 s, then two whole seconds after the last bytes.
    assert time.monotonic() - started < 3.0


def test_each_retry_gets_a_deadline_of_its_own():
    with SlowServer(drip) as server:
        slow = PrometheusClient(server.url, timeout=0.5, retries=1, backoff=0)
        with pytest.raises(PrometheusTimeout):
            started = time.monotonic()
            slow.query("up")
    assert 1.0 <= time.monotonic() - started < 1.6
    assert len(server.seen) == 2


@responses.activate
def test_an_answer_beyond_max_bytes_is_a_bad_response():
    huge = {"resultType": "vector", "result": [{"metric": {"x": "y" * 2000}, "value": [1, "1"]}]}
    responses.post(QUERY, json=success(huge))
    with pytest.raises(PrometheusBadResponse, match="PROMETHEUS_MAX_BYTES"):
        client(max_bytes=1000).query("up")


def test_an_answer_beyond_max_bytes_without_a_length_is_cut_while_reading():
    def endless(out, body):
        out.write(b'{"status":"success","data":{"resultType":"vector","result":[')
        for _ in range(10_000):
            out.write(b'{"metric":{},"value":[1,"1"]},' * 100)

    with SlowServer(endless, length=False) as server:
        capped = PrometheusClient(server.url, timeout=10, retries=0, max_bytes=100_000)
        with pytest.raises(PrometheusBadResponse, match="PROMETHEUS_MAX_BYTES"):
            capped.query("up")


@responses.activate
def test_more_series_than_max_series_is_a_bad_response():
    many = [{"metric": {"i": str(i)}, "value": [1, "1"]} for i in range(11)]
    responses.post(QUERY, json=success({"resultType": "vector", "result": many}))
    with pytest.raises(PrometheusBadResponse, match="PROMETHEUS_MAX_SERIES"):
        client(max_series=10).query("up")


@responses.activate
def test_a_range_answer_of_more_points_than_asked_for_is_a_bad_response():
    values = [[t, "1"] for t in range(0, 600, 60)]
    matrix = [{"metric": {"i": str(i)}, "values": values} for i in range(5)]
    responses.post(RANGE, json=success({"resultType": "matrix", "result": matrix}))
    with pytest.raises(PrometheusBadResponse, match="50 points, more than the 20 allowed"):
        client().query_range("up", 0, 540, 60, max_points=20)


@responses.activate
def test_deeply_nested_json_is_a_bad_response_not_a_crash():
    responses.post(QUERY, body="[" * 200_000 + "]" * 200_000)
    with pytest.raises(PrometheusBadResponse, match="not its JSON API"):
        client().query("up")


WRONG_SHAPES = {
    "data is a list": [1, 2],
    "unknown resultType": {"resultType": "table", "result": []},
    "result is an object": {"resultType": "vector", "result": {"a": 1}},
    "vector item without value": {"resultType": "vector", "result": [{"metric": {}}]},
    "value as a number": {"resultType": "vector", "result": [{"metric": {}, "value": [1, 2]}]},
    "labels not strings": {
        "resultType": "vector",
        "result": [{"metric": {"a": 1}, "value": [1, "1"]}],
    },
    "matrix value not a pair": {
        "resultType": "matrix",
        "result": [{"metric": {}, "values": [[1, "1"], [2]]}],
    },
    "time as a string": {
        "resultType": "matrix",
        "result": [{"metric": {}, "values": [["1", "1"]]}],
    },
    "scalar not a pair": {"resultType": "scalar", "result": "1"},
}


@pytest.mark.parametrize("data", WRONG_SHAPES.values(), ids=WRONG_SHAPES.keys())
@responses.activate
def test_valid_json_of_the_wrong_shape_is_a_bad_response(data):
    responses.post(QUERY, json=success(data))
    with pytest.raises(PrometheusBadResponse):
        client().query("up")


@responses.activate
def test_a_range_query_answered_with_a_vector_is_a_bad_response():
    responses.post(RANGE, json=success(VECTOR))
    with pytest.raises(PrometheusBadResponse):
        client().query_range("up", 0, 60, 60)


@responses.activate
def test_a_series_answer_that_is_not_label_sets_is_a_bad_response():
    responses.post(URL + "/api/v1/series", json=success({"a": "b"}))
    with pytest.raises(PrometheusBadResponse):
        client().series("up", 0, 60)


@responses.activate
def test_a_partial_answer_is_retried_then_raised_as_unavailable():
    warning = "remote read: store 10.0.0.3:10901 unreachable"
    responses.post(QUERY, json=success(VECTOR, warnings=[warning]))
    with pytest.raises(PrometheusUnavailable, match="partial data: remote read"):
        client(retries=1).query("up")
    assert len(responses.calls) == 2


@responses.activate
def test_a_victoriametrics_partial_answer_is_unavailable():
    responses.post(QUERY, json=success(VECTOR, isPartial=True))
    with pytest.raises(PrometheusUnavailable, match="partial"):
        client().query("up")


@responses.activate
def test_promql_annotations_are_not_missing_data():
    note = "PromQL info: metric might not be a counter, name does not end in _total"
    responses.post(QUERY, json=success(VECTOR, warnings=[note]))
    assert client().query("up") == VECTOR["result"]


def test_credentials_in_the_url_are_sent_as_basic_auth_and_left_out_of_the_url():
    assert without_credentials("https://kube:s%40cret@prom.example:9090/p") == (
        "https://prom.example:9090/p",
        ("kube", "s@cret"),
    )
    with SlowServer(at_once) as server:
        host = server.url.removeprefix("http://")
        assert PrometheusClient(f"http://kube:s3cret@{host}", retries=0).query("up")
    sent = server.seen[0]["Authorization"]
    assert base64.b64decode(sent.removeprefix("Basic ")) == b"kube:s3cret"


def test_credentials_never_reach_error_messages_or_logs(caplog):
    down = PrometheusClient(f"http://kube:s3cret@127.0.0.1:{free_port()}", retries=1, backoff=0)
    caplog.set_level(logging.DEBUG)
    with pytest.raises(PrometheusUnavailable) as failed:
        down.query("up")
    assert "127.0.0.1" in failed.value.detail
    assert "s3cret" not in failed.value.detail and "s3cret" not in str(failed.value)
    assert caplog.records and not any("s3cret" in r.getMessage() for r in caplog.records)


def test_the_metrics_api_never_echoes_prometheus_credentials(api_client, settings):
    settings.PROMETHEUS_URL = f"http://kube:s3cret@127.0.0.1:{free_port()}"
    settings.PROMETHEUS_RETRIES = 0
    answer = api_client.get("/api/v1/metrics/cpu/usage_rate")
    assert answer.status_code == 502
    assert "127.0.0.1" in answer.content.decode() and b"s3cret" not in answer.content


def test_a_real_prometheus_answers_through_credentials_in_the_url(prometheus):
    host = prometheus.url.removeprefix("http://")
    answer = PrometheusClient(f"http://kube:s3cret@{host}", timeout=10, retries=0).query("1")
    assert answer[1] == "1"
