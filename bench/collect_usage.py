"""Benchmark of collect_usage: speed, and accuracy against the simulator's truth.

    .venv/bin/python bench/collect_usage.py [--hours 24] [--runs 3]

Loads `--hours` of simulated history into a fresh Prometheus on a free loopback port,
collects it `--runs` times into a temporary SQLite database, and prints two tables: the
median time and query count of a run, and each quantity's cluster total against the
truth, beside what a naive `increase()` per hour (the way OpenCost-style tools read
counters) would have billed for CPU and network.
"""

import argparse
import io
import math
import os
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

SEED, INTERVAL = 7, 30
NAIVE = {
    "cpu_core_seconds": 'container_cpu_usage_seconds_total{container!="", image!=""}',
    "network_rx_bytes": 'container_network_receive_bytes_total{pod!=""}',
    "network_tx_bytes": 'container_network_transmit_bytes_total{pod!=""}',
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


def naive_total(client, expr: str, start: datetime, end: datetime) -> float:
    """Sum of increase(expr[1h]) at each hour's end: extrapolated, as peers do it."""
    series = client.query_range(f"sum(increase({expr}[1h]))", start + timedelta(hours=1), end, 3600)
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


def report(args, server, cluster, start, end):
    from django.core.management import call_command
    from django.db.models import Sum

    from billing.models import QUANTITIES, CollectionRun, HourlyUsage
    from promadapter.client import PrometheusClient

    seconds = []
    for _ in range(args.runs):
        began = time.monotonic()
        call_command(
            "collect_usage",
            start=start.isoformat(),
            end=end.isoformat(),
            stdout=io.StringIO(),
        )
        seconds.append(time.monotonic() - began)
    run = CollectionRun.objects.latest("started_at")
    rows = HourlyUsage.objects.count()
    print(f"\n| hours | usage rows | queries per run | median seconds ({args.runs} runs) |")
    print("|---|---|---|---|")
    print(f"| {args.hours} | {rows} | {run.queries} | {statistics.median(seconds):.2f} |")

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
            naive = f"{naive_total(client, NAIVE[q], start, end) / obs - 1:+.3%}"
        print(
            f"| {q} | {got:.6g} | {obs:.6g} | {real:.6g} | {gap(got, obs)} | {gap(got, real)} "
            f"| {naive} |"
        )


def gap(a: float, b: float) -> str:
    return f"{a / b - 1:+.4%}" if b else "n/a"


if __name__ == "__main__":
    main()
