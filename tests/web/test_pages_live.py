"""The live metrics page against the real Prometheus fed by the simulator.

The session's Prometheus holds the simulator's history for HISTORY_WINDOW (tests/conftest.py),
so the page is asked for the hour ending 11:00 UTC on that day. Failure modes that a real
server will not produce on demand (a timeout) use `responses`; Prometheus down is a closed port.
"""

import json
import re
import socket
from datetime import timedelta

import pytest
import requests
import responses
from django.contrib.auth.models import Group
from django.urls import reverse

from promadapter.catalog import BY_NAME, NODE
from promadapter.client import PrometheusClient
from web.views.live import CHART_SERIES, LIVE_METRICS

FAKE_URL = "http://prometheus.test:9090"


@pytest.fixture
def end(history_window):
    return history_window[1] - timedelta(hours=1)


def user_in(django_user_model, name: str, group: str | None):
    user = django_user_model.objects.create_user(name)
    if group:
        user.groups.add(Group.objects.get_or_create(name=group)[0])
    return user


@pytest.fixture
def ops_client(client, db, django_user_model):
    client.force_login(user_in(django_user_model, "oscar", "ops"))
    return client


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def prometheus_down(settings):
    settings.PROMETHEUS_URL = f"http://127.0.0.1:{closed_port()}"
    settings.PROMETHEUS_RETRIES = 0
    return settings


@pytest.fixture
def fake_prometheus(settings):
    settings.PROMETHEUS_URL = FAKE_URL
    settings.PROMETHEUS_RETRIES = 0
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


def live(client, **params):
    return client.get(reverse("live"), params)


def table_rows(answer) -> list[list[str]]:
    """The cells of the values table, one list per row (label cells, then the value)."""
    text = answer.content.decode()
    table = text[text.index('<table class="live-values">') : text.index("</table>")]
    body = table[table.index("<tbody>") :]
    return [
        re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)
        for row in re.findall(r"<tr>(.*?)</tr>", body, re.S)
    ]


def values(answer) -> list[str]:
    return re.findall(r'data-value="([^"]*)"', answer.content.decode())


def chart_spec(answer) -> dict:
    text = answer.content.decode()
    found = re.search(r'<script id="live-chart-data" type="application/json">(.*?)</script>', text)
    assert found, "no chart data in the page"
    return json.loads(found[1])


@pytest.mark.parametrize("name", LIVE_METRICS)
def test_each_of_the_13_metrics_shows_data_rows_and_a_chart_with_data(
    ops_client, prometheus_settings, end, name
):
    answer = live(ops_client, metric=name, range="1h", end=end.isoformat())
    assert answer.status_code == 200, answer.content.decode()[-2000:]
    assert values(answer) and all(v != "" for v in values(answer)[:CHART_SERIES])
    spec = chart_spec(answer)
    assert 1 <= len(spec["datasets"]) <= CHART_SERIES
    assert all(any(v is not None for v in d["data"]) for d in spec["datasets"])
    assert all(len(d["data"]) == len(spec["labels"]) for d in spec["datasets"])
    assert spec["y_title"] == BY_NAME[name].unit


def test_the_table_holds_the_latest_value_of_every_series_as_the_metric_api_gives_it(
    ops_client, api_client, prometheus_settings, end
):
    metric = "memory/node_capacity"
    answer = live(ops_client, metric=metric, range="1h", end=end.isoformat())
    api = api_client.get(
        f"/api/v1/metrics/{metric}",
        {"start": (end - timedelta(hours=1)).isoformat(), "end": end.isoformat(), "limit": 1},
    ).json()
    expected = sorted(s["points"][-1][1] for s in api["series"])
    assert sorted(int(v) for v in values(answer)) == expected
    assert f"{expected[-1]:,}</td>" in answer.content.decode()  # whole bytes, no decimals


def test_chart_labels_are_local_times_of_the_range(ops_client, prometheus_settings, end):
    answer = live(ops_client, metric="cpu/usage_rate", range="1h", end=end.isoformat())
    labels = chart_spec(answer)["labels"]
    assert all(re.fullmatch(r"\d\d:\d\d", label) for label in labels)
    # 10:00 to 11:00 UTC on 2 March is 11:00 to 12:00 in Europe/Zurich (UTC+1).
    assert labels[0] == "11:00" and labels[-1] == "12:00"
    assert len(labels) == 61


def test_filters_narrow_the_rows(ops_client, prometheus_settings, end):
    every = live(ops_client, metric="cpu/usage_rate", range="1h", end=end.isoformat())
    rows = table_rows(every)
    # Columns: cluster, namespace, pod, container, node, value.
    namespace = rows[0][1]
    by_namespace = table_rows(
        live(
            ops_client,
            metric="cpu/usage_rate",
            range="1h",
            end=end.isoformat(),
            namespace=namespace,
        )
    )
    assert 0 < len(by_namespace) < len(rows)
    assert all(row[1] == namespace for row in by_namespace)
    pod = by_namespace[0][2]
    by_pod = table_rows(
        live(
            ops_client,
            metric="cpu/usage_rate",
            range="1h",
            end=end.isoformat(),
            namespace=namespace,
            pod=pod,
        )
    )
    assert 0 < len(by_pod) <= len(by_namespace)
    assert all(row[2] == pod for row in by_pod)


def test_a_node_metric_is_filtered_by_node(ops_client, prometheus_settings, end):
    assert BY_NAME["cpu/node_capacity"].scope == NODE
    rows = table_rows(live(ops_client, metric="cpu/node_capacity", end=end.isoformat()))
    node = rows[0][1]
    narrowed = table_rows(
        live(ops_client, metric="cpu/node_capacity", end=end.isoformat(), node=node)
    )
    assert 0 < len(narrowed) < len(rows)
    assert all(row[1] == node for row in narrowed)


@pytest.fixture
def answers_read(monkeypatch) -> list[tuple[str, str, int]]:
    """(endpoint, query, series decoded) of every answer the page's client reads."""
    read = []
    call = PrometheusClient.call

    def counted(self, endpoint, params, method="POST"):
        data = call(self, endpoint, params, method)
        result = data.get("result") if isinstance(data, dict) else data
        read.append((endpoint, params.get("query", ""), len(result or [])))
        return data

    monkeypatch.setattr(PrometheusClient, "call", counted)
    return read


def test_more_series_than_prometheus_max_series_are_counted_not_read(
    ops_client, prometheus_settings, end, answers_read
):
    every = live(ops_client, metric="cpu/usage_rate", end=end.isoformat()).content.decode()
    total = int(re.search(r"of (\d+) series drawn", every)[1])
    assert total > 5
    prometheus_settings.PROMETHEUS_MAX_SERIES = 5
    answers_read.clear()
    answer = live(ops_client, metric="cpu/usage_rate", end=end.isoformat())
    assert answer.status_code == 200
    text = answer.content.decode()
    assert f"{total} series match, more than the 5 this page reads at once" in text
    assert '<table class="live-values">' not in text
    # One answer of one series, the count: neither the latest values nor the range.
    assert answers_read == [("query", answers_read[0][1], 1)]
    assert answers_read[0][1].startswith("count(last_over_time(")


def test_the_page_decodes_no_more_series_than_it_lists_and_draws(
    ops_client, prometheus_settings, end, answers_read, monkeypatch
):
    monkeypatch.setattr("web.views.live.MAX_ROWS", 3)
    answer = live(ops_client, metric="cpu/usage_rate", end=end.isoformat())
    assert answer.status_code == 200
    assert len(table_rows(answer)) == 3
    counts = [n for _, query, n in answers_read if query.startswith("count(")]
    assert counts == [1, 1]  # the series, then the clusters
    latest = [n for endpoint, query, n in answers_read if query.startswith("topk(3,")]
    ranges = [n for endpoint, query, n in answers_read if endpoint == "query_range"]
    assert latest == [3] and ranges and all(n <= CHART_SERIES for n in ranges)
    total = int(re.search(r"of (\d+) series drawn", answer.content.decode())[1])
    assert total > 3
    assert f"The table lists the 3 largest of {total} series" in answer.content.decode()


def test_no_matching_series_is_an_empty_page_not_an_error(ops_client, prometheus_settings, end):
    answer = live(ops_client, metric="memory/rss", end=end.isoformat(), namespace="no-such-ns")
    assert answer.status_code == 200
    assert "No series match" in answer.content.decode()


def test_prometheus_unreachable_is_a_503_page_that_says_so(ops_client, prometheus_down):
    answer = live(ops_client, metric="cpu/usage_rate")
    assert answer.status_code == 503
    text = answer.content.decode()
    assert "Prometheus cannot be reached" in text
    assert "unreachable" in text
    assert 'name="metric"' in text  # the form is still there


def test_a_prometheus_timeout_is_a_503_page_that_says_so(ops_client, fake_prometheus):
    fake_prometheus.post(FAKE_URL + "/api/v1/query", body=requests.ReadTimeout("slow"))
    answer = live(ops_client, metric="memory/usage")
    assert answer.status_code == 503
    assert "Prometheus did not answer in time." in answer.content.decode()


def test_a_malformed_prometheus_answer_is_a_503_not_a_500(ops_client, fake_prometheus):
    fake_prometheus.post(FAKE_URL + "/api/v1/query", body="<html>proxy error</html>")
    assert live(ops_client, metric="uptime").status_code == 503


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"namespace": '"} or vector(1)'}, "namespace"),
        ({"pod": "Pod_With_Caps"}, "pod"),
        ({"node": "a{b}"}, "node"),
        ({"cluster": "ünïcode"}, "cluster"),
        ({"metric": "cpu/node_capacity", "namespace": "ml"}, "namespace"),
        ({"metric": "cpu/limit"}, "metric"),
        ({"range": "7y"}, "range"),
        ({"end": "last tuesday"}, "end"),
    ],
)
def test_a_bad_filter_is_a_400_naming_the_field_and_prometheus_is_not_asked(
    ops_client, fake_prometheus, params, field
):
    answer = live(ops_client, **params)
    assert answer.status_code == 400
    assert f'data-field="{field}"' in answer.content.decode()
    assert len(fake_prometheus.calls) == 0


def test_a_lab_member_gets_403(client, db, django_user_model, fake_prometheus):
    client.force_login(user_in(django_user_model, "alice", None))
    assert live(client).status_code == 403
    assert len(fake_prometheus.calls) == 0


def test_an_anonymous_visitor_is_sent_to_the_login_page(client, db):
    answer = live(client)
    assert answer.status_code == 302
    assert answer["Location"].startswith(reverse("login"))


def test_finance_may_see_live_metrics_too(client, db, django_user_model, fake_prometheus):
    client.force_login(user_in(django_user_model, "fiona", "finance"))
    fake_prometheus.post(
        FAKE_URL + "/api/v1/query",
        json={"status": "success", "data": {"resultType": "vector", "result": []}},
    )
    answer = live(client)
    assert answer.status_code == 200
    assert "No series match" in answer.content.decode()


def test_the_page_reads_only_the_session_and_the_users_roles(
    ops_client, prometheus_down, django_assert_num_queries
):
    # session, user, groups: whatever Prometheus holds.
    with django_assert_num_queries(3):
        assert live(ops_client).status_code == 503
