"""Load stretches of simulated history into the demo's Prometheus, while it runs or not.

Each stretch becomes TSDB blocks of up to a day (promtool reads its input once per block,
so day-long blocks make the import several times faster than the default two hours),
built in a staging directory and moved into the data directory. A running Prometheus picks
new blocks up within a minute (it reloads its blocks every minute); `visible` tells when.
"""

import json
import shutil
import urllib.parse
import urllib.request
from datetime import timedelta

from simulator.demo.plan import Span
from simulator.prometheus import PrometheusServer, run, simulator_command

QUERY_TIMEOUT = 10
# A counter's first sample in Prometheus counts from zero (a new container). The simulated
# cluster has run since 2020, so each stretch is loaded from an hour earlier: every counter
# then has a sample before the stretch's first hour, as in a Prometheus that ran all along.
WARM_UP = timedelta(hours=1)


def load_span(server: PrometheusServer, span: Span, sim_args: list[str]) -> None:
    """Generate the simulated history of `span` and move its blocks into the data directory."""
    start, end = span[0] - WARM_UP, span[1]
    name = f"{start:%Y%m%dT%H%M%S}-{end:%Y%m%dT%H%M%S}"
    history = server.workdir / f"history-{name}.om"
    staging = server.workdir / f"staging-{name}"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir()
    try:
        window = ["--start", start.isoformat(), "--end", end.isoformat()]
        run(simulator_command("history", *window, "--out", str(history), *sim_args), server.log)
        server.import_openmetrics(history, staging)
        for block in staging.iterdir():
            shutil.move(str(block), server.data_dir / block.name)
    finally:
        history.unlink(missing_ok=True)
        shutil.rmtree(staging, ignore_errors=True)


def visible(prometheus_url: str, span: Span, scrape_interval: int) -> bool:
    """Whether Prometheus serves every scrape of the stretch (its warm-up hour included).

    Other stretches overlap this one's edges, so a sample near an edge proves nothing: each
    node's `machine_cpu_cores` must have (nearly) every sample of the whole stretch.
    """
    start, end = span[0] - WARM_UP, span[1]
    seconds = int((end - start).total_seconds())
    query = urllib.parse.urlencode(
        {"query": f"min(count_over_time(machine_cpu_cores[{seconds}s]))", "time": end.timestamp()}
    )
    try:
        with urllib.request.urlopen(
            f"{prometheus_url}/api/v1/query?{query}", timeout=QUERY_TIMEOUT
        ) as answer:
            result = json.load(answer).get("data", {}).get("result", [])
    except (OSError, ValueError):
        return False
    return bool(result) and float(result[0]["value"][1]) >= seconds // scrape_interval - 1
