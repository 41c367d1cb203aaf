"""collect_usage and the metrics API on a second PromQL engine, VictoriaMetrics.

One VictoriaMetrics (Debian's `victoria-metrics`) serves this module, loaded through its
import API with the same simulated history that the session's Prometheus holds for one small
cluster: the simulator's OpenMetrics, limited to the metrics the collection reads, timestamps
turned into milliseconds. The single binary has no rule engine: vmalert (same package) replays
the recording rules over the history, as promtool does for the session's Prometheus, so that
the metrics API finds its recorded series. VictoriaMetrics' range windows are left-open like
Prometheus 3's, and it reports no version: the collector must find that out by probing
(promadapter.windows).
"""

import json
import re
import shutil
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest
import requests
from django.core.management import call_command

from billing.collection import energy
from billing.collection.run import range_windows_left_open
from billing.models import CollectedHour, CollectionRun, HourlyUsage
from billing.resources import QUANTITIES
from promadapter import usage
from promadapter.client import PrometheusClient
from simulator.prometheus import free_port, rule_files, simulator_command
from tests.conftest import RECORDED_SCENARIOS, SCRAPE_INTERVAL, scenario_args, wait_until

CLUSTER = "sc-recreated-pod"  # a StatefulSet with a claim, recreated during the window
# A few minutes past the hour collected: the GPU energy read takes the first samples after
# an hour's end (billing/collection/energy_reads.py), which the session's Prometheus holds.
HISTORY = (datetime(2026, 3, 2, 5, tzinfo=UTC), datetime(2026, 3, 2, 7, 5, tzinfo=UTC))
START, END = "2026-03-02T06:00:00+00:00", "2026-03-02T07:00:00+00:00"
# The metrics the collection reads, every raw name its PromQL (and the GPU energy reads)
# mention; the recording rules of the request metrics tested below read no others.
METRICS = {
    name
    for module in (usage, energy)
    for name in re.findall(
        r"(?<![:\w])(kube_\w+|container_\w+|DCGM_\w+)", Path(module.__file__).read_text()
    )
}

pytestmark = pytest.mark.skipif(
    shutil.which("victoria-metrics") is None,
    reason="needs Debian's victoria-metrics package (make test installs it)",
)


def prometheus_text(openmetrics: Path):
    """The samples of METRICS in Prometheus' text format (ms timestamps), in 1 MB pieces."""
    piece, size = [], 0
    with openmetrics.open("rb") as lines:
        for line in lines:
            name = line.split(b"{", 1)[0].split(b" ", 1)[0].decode()
            if line.startswith(b"#") or name not in METRICS:
                continue
            sample, _, seconds = line.rstrip(b"\n").rpartition(b" ")
            piece.append(b"%s %d\n" % (sample, round(float(seconds) * 1000)))
            size += len(piece[-1])
            if size > 1 << 20:
                yield b"".join(piece)
                piece, size = [], 0
    yield b"".join(piece)


@pytest.fixture(scope="module")
def victoria_metrics(tmp_path_factory):
    """A VictoriaMetrics on 127.0.0.1 holding CLUSTER's history, as a base URL."""
    workdir = tmp_path_factory.mktemp("victoria-metrics")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    args = [
        "victoria-metrics",
        f"-storageDataPath={workdir / 'data'}",
        f"-httpListenAddr=127.0.0.1:{port}",
        "-retentionPeriod=100y",  # the simulated history lies in the past
        "-search.disableCache",  # answers must reflect the import just made
    ]
    with (workdir / "vm.log").open("w") as log:
        process = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_until(lambda: ready(url), 30, "VictoriaMetrics")
        history = workdir / "history.om"
        window = ["--start", HISTORY[0].isoformat(), "--end", HISTORY[1].isoformat()]
        subprocess.run(
            simulator_command("history", *window, "--out", str(history), *scenario_args(CLUSTER)),
            check=True,
            capture_output=True,
        )
        imported = requests.post(
            f"{url}/api/v1/import/prometheus", data=prometheus_text(history), timeout=120
        )
        assert imported.status_code == 204, imported.text
        requests.get(f"{url}/internal/force_flush", timeout=30)
        replay_rules(url, workdir / "vmalert.log")
        yield url
    finally:
        process.terminate()
        process.wait(timeout=30)


def replay_rules(url: str, log: Path) -> None:
    """Evaluate the project's recording rules over HISTORY into VictoriaMetrics (vmalert)."""
    args = [
        "vmalert",
        *(f"-rule={path}" for path in rule_files()),
        f"-datasource.url={url}",
        f"-remoteWrite.url={url}",
        f"-replay.timeFrom={HISTORY[0].isoformat()}",
        f"-replay.timeTo={HISTORY[1].isoformat()}",
        "-replay.rulesDelay=0s",
        "-replay.disableProgressBar",
        f"-evaluationInterval={SCRAPE_INTERVAL}s",
    ]
    with log.open("w") as out:
        subprocess.run(args, stdout=out, stderr=subprocess.STDOUT, check=True, timeout=120)
    requests.get(f"{url}/internal/force_flush", timeout=30)


def ready(url: str) -> bool:
    try:
        return requests.get(f"{url}/health", timeout=2).status_code == 200
    except requests.RequestException:
        return False


def collected(settings, url: str) -> dict[tuple, tuple]:
    """Every job-hour of CLUSTER that collect_usage stores from the engine at url."""
    settings.PROMETHEUS_URL = url
    call_command("collect_usage", start=START, end=END, cluster=CLUSTER)
    assert CollectionRun.objects.get().status == "succeeded"
    fields = ("job__namespace", "job__kind", "job__name", "hour", *QUANTITIES)
    rows = {row[:4]: row[4:] for row in HourlyUsage.objects.values_list(*fields)}
    for model in (HourlyUsage, CollectedHour, CollectionRun):
        model.objects.all().delete()
    return rows


def test_collect_usage_finds_left_open_windows_on_victoriametrics_and_closed_on_prometheus_2(
    db, victoria_metrics, prometheus
):
    # `db` only keeps this module's tests together (pytest-django runs tests without db
    # first), so that VictoriaMetrics is loaded once.
    at = datetime.fromisoformat(END)
    # VictoriaMetrics has no version: taken for Prometheus 2, it would lose edge samples.
    assert PrometheusClient(victoria_metrics, retries=0).buildinfo().get("version") is None
    assert range_windows_left_open(PrometheusClient(victoria_metrics, retries=0), at) is True
    assert range_windows_left_open(PrometheusClient(prometheus.url, retries=0), at) is False


def test_collect_usage_on_victoriametrics_equals_the_prometheus_run(
    db, prometheus_settings, victoria_metrics
):
    on_prometheus = collected(prometheus_settings, prometheus_settings.PROMETHEUS_URL)
    on_victoria_metrics = collected(prometheus_settings, victoria_metrics)
    assert any(key[1] == "PersistentVolumeClaim" for key in on_prometheus)
    assert on_victoria_metrics == on_prometheus


def edges_apart(points: list, other: list, step: int) -> bool:
    """Whether two answers of one series agree but for a step at either edge.

    Prometheus evaluates a rule group at an offset hashed from the group's name and file
    (rules.Group.EvalTimestamp, which promtool's backfill uses too), vmalert at multiples of
    the interval: their recorded samples are taken up to an interval apart, so a pod that
    starts or stops between the two shows from one step earlier or later on one engine.
    """
    values, others = dict(points), dict(other)
    common = values.keys() & others.keys()
    first, last = (datetime.fromisoformat(t).timestamp() for t in (points[0][0], points[-1][0]))
    first_other, last_other = (
        datetime.fromisoformat(t).timestamp() for t in (other[0][0], other[-1][0])
    )
    return (
        all(values[t] == others[t] for t in common)
        and abs(first - first_other) <= step
        and abs(last - last_other) <= step
        and len(common) >= min(len(points), len(other)) - 1
    )


def test_the_cluster_read_here_is_loaded_with_its_recorded_series():
    """The session's Prometheus records the rules over some scenarios only (conftest.py)."""
    assert CLUSTER in RECORDED_SCENARIOS


@pytest.mark.parametrize("metric", ["cpu/request", "memory/request"])
def test_the_metrics_api_on_victoriametrics_answers_the_points_it_answers_on_prometheus(
    prometheus_settings, api_client, victoria_metrics, metric
):
    step = 300
    params = {"cluster": CLUSTER, "start": START, "end": END, "step": step}
    answers = []
    for url in (prometheus_settings.PROMETHEUS_URL, victoria_metrics):
        prometheus_settings.PROMETHEUS_URL = url
        answer = api_client.get(f"/api/v1/metrics/{metric}", params)
        assert answer.status_code == 200, answer.content
        answers.append(
            {json.dumps(s["labels"], sort_keys=True): s["points"] for s in answer.json()["series"]}
        )
    on_prometheus, on_victoria_metrics = answers
    both = on_prometheus.keys() & on_victoria_metrics.keys()
    assert len(both) >= 20
    differing = {
        key: (on_victoria_metrics[key], on_prometheus[key])
        for key in both
        if not edges_apart(on_victoria_metrics[key], on_prometheus[key], step)
    }
    assert not differing, f"{len(differing)} series differ, e.g. {next(iter(differing.items()))}"
    # A pod that one engine's evaluations missed ran less than an interval: its recorded
    # sample shows for the 5-minute lookback, two points at most (docs/collection.md).
    alone = {**on_prometheus, **on_victoria_metrics}
    assert all(len(alone[key]) <= 2 for key in alone.keys() - both)
