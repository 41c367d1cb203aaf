"""The Grafana dashboards: generated from code, and every query answers with data.

Each panel's queries run as Grafana would run them, as range queries with the dashboard's
variables replaced by values their own queries return: the cluster, usage and GPU
dashboards over the usage window of the session's Prometheus (simulator history and
recorded series), the pipeline dashboard over the last minute of the app's own metrics,
scraped live from a test server while it collects a cluster.
"""

import contextlib
import json
import math
import re
import socket
import threading
import time
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import pytest
import yaml
from django.core.management import call_command

from dashboards.files import CONFIGMAP, OUT_DIR, rendered
from promadapter.client import PrometheusClient, PrometheusError
from tests.conftest import RECORDED_SCENARIOS, SCRAPE_INTERVAL, scenario_cluster, wait_until

DASHBOARDS = sorted(p.name for p in OUT_DIR.glob("*.json"))
SIMULATED = ["kubemon-cluster-overview.json", "kubemon-gpu.json", "kubemon-usage.json"]
# A simulated cluster with GPU nodes and every quantity billed, and a GPU namespace of it.
# The job is the first value its variable lists there.
CHOSEN = {"cluster": "sc-stale-gpu-labels", "namespace": "ml-lab"}
# Grafana's built-in variables for a 6-hour range over series scraped every 30 s.
SIMULATED_BUILTINS = {"__rate_interval": f"{4 * SCRAPE_INTERVAL}s", "__range": "6h"}
STEP = 60
# The app is scraped every second (simulator/prometheus.py, job kubemon).
LIVE_BUILTINS = {"__rate_interval": "4s", "__range": "1m"}
# A collection with a gap in it: this cluster's Prometheus scrapes nothing from 07:55 to
# 08:05 on the usage window's day, a gap collection bridges.
PIPELINE_CLUSTER = "sc-prometheus-outage"
PIPELINE_HOURS = (datetime(2026, 3, 2, 7, tzinfo=UTC), datetime(2026, 3, 2, 9, tzinfo=UTC))
# Simulated clusters where a GPU's power and energy are repeated on several series: MIG
# instances, time-sliced pods, an HA pair read without deduplication; and a driver reload.
REPEATED = ["sc-mig", "sc-shared-gpu", "sc-ha-pair", "sc-driver-reload"]
JOULES_PER_KWH = 3.6e6
# The largest error allowed per node and hour against the simulator's truth (see the tests).
ENERGY_TOLERANCE = 0.01
POWER_TOLERANCE = 0.2
LABEL_VALUES = re.compile(r"label_values\((?P<series>.+), *(?P<label>\w+)\)")
# A variable's name starts with a letter or _: `$1` is a label_replace() capture group,
# which Grafana leaves as it is (no variable has that name).
VARIABLE = re.compile(r"\$\{(\w+)\}|\$([A-Za-z_]\w*)")


def load(name: str) -> dict:
    return json.loads((OUT_DIR / name).read_text())


def panels(dashboard: dict) -> list[dict]:
    """The panels that show data: every panel but the rows."""
    return [p for p in dashboard["panels"] if p["type"] != "row"]


def query_variables(dashboard: dict) -> list[dict]:
    return [v for v in dashboard["templating"]["list"] if v["type"] == "query"]


def substitute(expr: str, values: dict[str, str]) -> str:
    def value(match: re.Match) -> str:
        name = match.group(1) or match.group(2)
        assert name in values, f"no value for ${name} in {expr}"
        return values[name]

    return VARIABLE.sub(value, expr)


def label_values(client, query: str, start, end) -> list[str]:
    """What Grafana's label_values(series, label) lists over [start, end]."""
    match = LABEL_VALUES.fullmatch(query)
    assert match, f"not a label_values() query: {query}"
    params = {"match[]": match["series"], "start": start.timestamp(), "end": end.timestamp()}
    return client.call(f"label/{match['label']}/values", params, method="GET")


def has_numbers(matrix: list[dict]) -> bool:
    """True when some series has a finite value: NaN and ±Inf draw nothing."""
    return any(math.isfinite(float(v)) for s in matrix for _, v in s["values"])


def choose_values(client, dashboard: dict, chosen: dict, start, end) -> dict[str, str]:
    """Each query variable's value, in order: the chosen one, else the first it lists.

    Fails when a variable's own query lists nothing, or not the chosen value.
    """
    values = {}
    for variable in query_variables(dashboard):
        name = variable["name"]
        listed = label_values(client, substitute(variable["query"], values), start, end)
        assert listed, f"${name} lists nothing: {variable['query']}"
        values[name] = chosen.get(name, listed[0])
        assert values[name] in listed, f"${name} does not list {values[name]!r}: {listed}"
    return values


def silent_targets(client, dashboard: dict, values: dict, start, end, step) -> list[str]:
    """Every target of the dashboard that errors or draws nothing, with the reason."""
    silent = []
    for panel in panels(dashboard):
        for target in panel["targets"]:
            expr = substitute(target["expr"], values)
            try:
                matrix = client.query_range(expr, start, end, step)
            except PrometheusError as e:  # reported with the others, not alone
                silent.append(f"{panel['title']} {target['refId']}: {e}\n  {expr}")
                continue
            if not has_numbers(matrix):
                silent.append(f"{panel['title']} {target['refId']}: no data\n  {expr}")
    return silent


def test_the_committed_files_are_what_the_generator_writes():
    files = rendered()
    assert sorted(files) == sorted([*DASHBOARDS, CONFIGMAP])
    for name, text in files.items():
        assert (OUT_DIR / name).read_text() == text, f"{name}: run `python -m dashboards`"


def test_the_configmap_holds_every_dashboard_under_the_sidecar_label():
    text = (OUT_DIR / CONFIGMAP).read_text()
    configmap = yaml.safe_load(text)
    assert configmap["kind"] == "ConfigMap"
    assert configmap["metadata"]["labels"] == {"grafana_dashboard": "1"}
    assert {name: json.loads(data) for name, data in configmap["data"].items()} == {
        name: load(name) for name in DASHBOARDS
    }
    assert len(text.encode()) < 1024 * 1024  # what a ConfigMap may hold


@pytest.mark.parametrize("name", DASHBOARDS)
def test_every_panel_has_a_unique_id_a_title_a_unit_and_a_query(name):
    dashboard = load(name)
    ids = [p["id"] for p in dashboard["panels"]]
    assert panels(dashboard)
    assert len(ids) == len(set(ids))
    for panel in panels(dashboard):
        assert panel["title"], panel
        assert panel["fieldConfig"]["defaults"]["unit"], panel["title"]
        assert panel["targets"], panel["title"]
        for target in panel["targets"]:
            assert target["datasource"] == {"type": "prometheus", "uid": "${datasource}"}


def test_the_scenarios_chosen_here_are_loaded_with_their_recorded_series():
    """The session's Prometheus records the rules over some scenarios only (conftest.py)."""
    assert {CHOSEN["cluster"], PIPELINE_CLUSTER, *REPEATED} <= RECORDED_SCENARIOS


@pytest.mark.parametrize("name", DASHBOARDS)
def test_the_datasource_is_a_prometheus_variable_and_cluster_has_all(name):
    variables = {v["name"]: v for v in load(name)["templating"]["list"]}
    assert variables["datasource"]["type"] == "datasource"
    assert variables["datasource"]["query"] == "prometheus"
    assert variables["cluster"]["includeAll"] and variables["cluster"]["allValue"] == ".*"


@pytest.mark.parametrize("name", SIMULATED)
def test_every_query_returns_data_on_the_simulated_clusters(prometheus, usage_window, name):
    client = PrometheusClient(prometheus.url)
    dashboard = load(name)
    start, end = usage_window
    values = choose_values(client, dashboard, CHOSEN, start, end)
    values |= SIMULATED_BUILTINS | {"__interval": f"{STEP}s"}
    silent = silent_targets(client, dashboard, values, start, end, STEP)
    assert not silent, f"{name} with {values}:\n" + "\n".join(silent)


@pytest.fixture
def scraped_app(prometheus, live_server):
    """The test server's /metrics, scraped every second by the session's Prometheus.

    Prometheus keeps its connection to the server open once it stops scraping (keep-alive),
    and the server serves each connection in a thread of its own: the fixture closes them and
    waits for their threads, so that none outlives the test. Else one ends when Prometheus
    does, at the end of the session, and closes the database connections from its thread:
    on SQLite, the test database's in-memory connection, no longer shared by then (an error).
    """
    server = live_server.thread.httpd
    opened = []  # each connection the server accepts, and the thread that serves it
    serve = server.process_request_thread

    def tracked(request, client_address):
        opened.append((request, threading.current_thread()))
        serve(request, client_address)

    server.process_request_thread = tracked
    prometheus.scrape_app(f"127.0.0.1:{urlsplit(live_server.url).port}")
    client = PrometheusClient(prometheus.url)
    wait_until(lambda: client.query('up{job="kubemon"} == 1'), 30, "Prometheus to scrape the app")
    yield client
    prometheus.scrape_app(None)
    # Stale once the target's scrape loop has ended: no scrape is under way any more.
    wait_until(lambda: not client.query('up{job="kubemon"}'), 30, "the app's scrapes to stop")
    del server.process_request_thread
    for request, thread in opened:
        with contextlib.suppress(OSError):  # already closed by the server
            request.shutdown(socket.SHUT_RDWR)
        thread.join(timeout=10)
        assert not thread.is_alive(), "a connection to the test server is still served"


@pytest.mark.django_db(transaction=True)
def test_every_pipeline_query_returns_data_once_the_app_has_collected(
    prometheus_settings, scraped_app
):
    client = scraped_app
    start = datetime.now(UTC)
    first, end = (t.isoformat() for t in PIPELINE_HOURS)
    call_command("collect_usage", start=first, end=end, cluster=PIPELINE_CLUSTER)
    # Scrapes every second saw the run's Prometheus requests; the first after it, its end.
    runs = f'kubemon_collection_runs_total{{cluster="{PIPELINE_CLUSTER}"}} > 0'
    wait_until(lambda: client.query(runs), 30, "the app's collection run in Prometheus")
    # A range query's last step may fall up to a step before its end: a scrape a second
    # later puts that scrape inside the range.
    later = f'timestamp(up{{job="kubemon"}}) > {time.time() + 1}'
    wait_until(lambda: client.query(later), 30, "a scrape of the app a second later")
    end = datetime.now(UTC)
    dashboard = load("kubemon-pipeline.json")
    values = choose_values(client, dashboard, {"cluster": PIPELINE_CLUSTER}, start, end)
    values |= LIVE_BUILTINS | {"__interval": "1s"}
    silent = silent_targets(client, dashboard, values, start, end, 1)
    assert not silent, f"with {values}:\n" + "\n".join(silent)


def panel_expr(name: str, title: str, cluster: str) -> str:
    (panel,) = [p for p in panels(load(name)) if p["title"] == title]
    return substitute(panel["targets"][0]["expr"], {"cluster": cluster})


def hourly(client, expr: str, window) -> dict[str, list[float]]:
    """Per node, the values of `expr` at the end of each hour of the window."""
    start, end = window
    answer = client.query_range(expr, start + timedelta(hours=1), end, 3600)
    return {s["metric"]["Hostname"]: [float(v) for _, v in s["values"]] for s in answer}


def node_hours_kwh(label: str, window) -> dict[str, list[float]]:
    """The simulator's truth: each GPU node's energy per hour of the window (kWh)."""
    nodes = scenario_cluster(label).truth(*window)["gpu_energy"]["nodes"]
    return {
        node: [h["total_energy_joules"] / JOULES_PER_KWH for h in truth["hours"]]
        for node, truth in nodes.items()
    }


def worst_error(got: dict[str, list[float]], truth: dict[str, list[float]]) -> float:
    assert got.keys() == truth.keys()
    return max(
        abs(g / t - 1) for node in truth for g, t in zip(got[node], truth[node], strict=True)
    )


@pytest.mark.parametrize("label", REPEATED)
def test_the_gpu_energy_panel_gives_each_nodes_hour_within_one_percent_where_a_naive_sum_does_not(
    prometheus, usage_window, label
):
    """Each GPU's counter once (by UUID), resets counted from 0: within 1 % of the hour's
    energy (0.52 % at most here); summing every series' increase is not, in some hour."""
    client = PrometheusClient(prometheus.url)
    truth = node_hours_kwh(label, usage_window)
    expr = panel_expr("kubemon-gpu.json", "GPU energy per node, last hour", label)
    assert worst_error(hourly(client, expr, usage_window), truth) < ENERGY_TOLERANCE
    naive = (
        "sum by (Hostname) (increase(DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION"
        f'{{cluster="{label}"}}[1h])) / 3.6e9'
    )
    assert worst_error(hourly(client, naive, usage_window), truth) > ENERGY_TOLERANCE


@pytest.mark.parametrize("label", REPEATED)
def test_the_gpu_power_panel_counts_each_gpu_once(prometheus, usage_window, label):
    """The power per node averaged over each hour against the hour's energy. The backfilled
    history has no staleness markers, so a holder's series that ended keeps its last value
    for Prometheus' 5-minute lookback, which the max per GPU may pick: up to 16.3 % over
    here (a live Prometheus marks the series stale at once). Summing every series is off by
    more in some hour of each cluster, by 100 % and more on MIG and HA pairs."""
    client = PrometheusClient(prometheus.url)
    truth = node_hours_kwh(label, usage_window)
    expr = panel_expr("kubemon-gpu.json", "GPU power per node", label)
    mean = f"avg_over_time(({expr})[1h:{SCRAPE_INTERVAL}s]) / 1000"
    assert worst_error(hourly(client, mean, usage_window), truth) < POWER_TOLERANCE
    naive = f'sum by (Hostname) (DCGM_FI_DEV_POWER_USAGE{{cluster="{label}"}})'
    naive_mean = f"avg_over_time(({naive})[1h:{SCRAPE_INTERVAL}s]) / 1000"
    assert worst_error(hourly(client, naive_mean, usage_window), truth) > POWER_TOLERANCE
