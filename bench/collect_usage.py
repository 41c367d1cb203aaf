"""Benchmark of collect_usage: speed, and accuracy against the simulator's truth.

    .venv/bin/python bench/collect_usage.py [--hours 24] [--runs 3]

Loads `--hours` of simulated history into a fresh Prometheus on a free loopback port,
collects it `--runs` times into a temporary SQLite database, then hour by hour, and prints
two tables: the median time and query count of a run (and whether the rows stayed
identical through the re-runs), and each quantity's cluster total against the
truth, beside what a naive `increase()` per hour (the way OpenCost-style tools read
counters) would have billed for CPU and network.
"""

import argparse
import io
import math
import os
import shutil
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

SEED, INTERVAL = 7, 30
# The series the collector reads, through increase(); hostNetwork pods left out of network
# as the collector does, so the comparison shows extrapolation alone.
HOST_NETWORK = ' unless on (namespace, pod) kube_pod_info{host_network="true"}'
NAIVE = {
    "cpu_core_seconds": ('container_cpu_usage_seconds_total{container!="", image!=""}', ""),
    "network_rx_bytes": ('container_network_receive_bytes_total{pod!=""}', HOST_NETWORK),
    "network_tx_bytes": ('container_network_transmit_bytes_total{pod!=""}', HOST_NETWORK),
}


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--hours", type=int, default=24)
    parser.add_argument("--runs", type=int, default=3)
    return parser.parse_args()


def setup_django(workdir: Path, prometheus_url: str):
    os.environ["DJANGO_SETTINGS_MODULE"] = "kubemon.settings"
    os.environ["DATABASE_URL"] = f"sqlite:///{workdir / 'bench.sqlite3'}"
    os.environ["PROMETHEUS_URL"] = prometheus_url
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def naive_total(client, selector: str, unless: str, start: datetime, end: datetime) -> float:
    """Sum of increase(selector[1h]) at each hour's end: extrapolated, as peers do it."""
    expr = f"sum(increase({selector}[1h]){unless})"
    series = client.query_range(expr, start + timedelta(hours=1), end, 3600)
    return math.fsum(float(v) for s in series for _, v in s["values"])


def main():
    args = parse_args()
    from simulator import Cluster
    from simulator.prometheus import PrometheusServer, load_history

    workdir = Path(tempfile.mkdtemp(prefix="kubemon-bench-"))
    # One hour of history before the window gives every counter a previous sample.
    start = datetime(2026, 3, 2, tzinfo=UTC)
    end = start + timedelta(hours=args.hours)
    server = PrometheusServer(workdir)
    began = time.monotonic()
    load_history(server, start - timedelta(hours=1), end, [["--seed", str(SEED)]], INTERVAL)
    server.start()
    print(f"history loaded in {time.monotonic() - began:.0f} s", flush=True)
    try:
        setup_django(workdir, server.url)
        report(args, server, Cluster(seed=SEED, scrape_interval=INTERVAL), start, end)
    finally:
        server.stop()
        shutil.rmtree(workdir, ignore_errors=True)


def report(args, server, cluster, start, end):
    from django.core.management import call_command
    from django.db.models import Sum

    from billing.models import QUANTITIES, CollectionRun, HourlyUsage
    from promadapter.client import PrometheusClient

    def collect(first, last):
        call_command(
            "collect_usage", start=first.isoformat(), end=last.isoformat(), stdout=io.StringIO()
        )

    def snapshot():
        return sorted(HourlyUsage.objects.values_list("job_id", "hour", *QUANTITIES))

    seconds, rows = [], None
    for _ in range(args.runs):
        began = time.monotonic()
        collect(start, end)
        seconds.append(time.monotonic() - began)
        rows = rows or snapshot()
    run = CollectionRun.objects.latest("started_at")
    again = snapshot()
    hour = start
    while hour < end:
        collect(hour, hour + timedelta(hours=1))
        hour += timedelta(hours=1)
    same = "yes" if again == rows == snapshot() else "NO"
    print(
        f"\n| hours | usage rows | queries per run | median seconds ({args.runs} runs) |"
        " rows identical after re-runs and hour by hour |"
    )
    print("|---|---|---|---|---|")
    print(
        f"| {args.hours} | {len(rows)} | {run.queries} | {statistics.median(seconds):.2f} "
        f"| {same} |"
    )

    truth = cluster.truth(start, end)["totals"]
    totals = HourlyUsage.objects.aggregate(**{q: Sum(q) for q in QUANTITIES})
    client = PrometheusClient(server.url)
    print(
        "\n| quantity | collected | truth observed | truth real | collected vs observed |"
        " collected vs real | naive increase() vs observed |"
    )
    print("|---|---|---|---|---|---|---|")
    for q in QUANTITIES:
        got, obs, real = totals[q], truth[q]["observed"], truth[q]["real"]
        naive = ""
        if q in NAIVE:
            naive = f"{naive_total(client, *NAIVE[q], start, end) / obs - 1:+.3%}"
        print(
            f"| {q} | {got:.6g} | {obs:.6g} | {real:.6g} | {gap(got, obs)} | {gap(got, real)} "
            f"| {naive} |"
        )


def gap(a: float, b: float) -> str:
    return f"{a / b - 1:+.4%}" if b else "n/a"


if __name__ == "__main__":
    main()
