"""Benchmark of collect_usage: speed, and accuracy against the simulator's truth.

    .venv/bin/python bench/collect_usage.py [--hours 24] [--runs 3] [--behaviours all]
                                            [--against GIT-REVISION]

Loads `--hours` of simulated history into a fresh Prometheus on a free loopback port,
collects it `--runs` times into a temporary SQLite database, then hour by hour, and prints
two tables: the median time and query count of a run (and whether the rows stayed
identical through the re-runs), and each quantity's cluster total against the
truth, beside what a naive `increase()` per hour (the way OpenCost-style tools read
counters) would have billed for CPU, network and GPU energy (bench/naive_energy.py).
`--behaviours` switches on the simulator's real-exporter behaviours (simulator/behaviours.py).

With `--against`, the collector of that git revision (checked out in a temporary worktree)
and the working tree's collect the same Prometheus in turns, each in its own process and
database, and a third table gives their medians and ratio: measured in one run, so that the
noise of a shared machine falls on both alike.
"""

import argparse
import io
import math
import os
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from naive_energy import naive_energy  # noqa: E402

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
    parser.add_argument("--behaviours", default="", help="comma list, or all")
    parser.add_argument("--against", help="a git revision whose collector to compare with")
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
    from simulator.behaviours import parse_behaviours
    from simulator.cluster import Cluster
    from simulator.prometheus import PrometheusServer, load_history

    workdir = Path(tempfile.mkdtemp(prefix="kubemon-bench-"))
    # One hour of history before the window gives every counter a previous sample.
    start = datetime(2026, 3, 2, tzinfo=UTC)
    end = start + timedelta(hours=args.hours)
    server = PrometheusServer(workdir)
    began = time.monotonic()
    simulator = ["--seed", str(SEED), "--behaviours", args.behaviours]
    load_history(server, start - timedelta(hours=1), end, [simulator], INTERVAL)
    server.start()
    print(f"history loaded in {time.monotonic() - began:.0f} s", flush=True)
    try:
        if args.against:
            compare(args, workdir, server.url, start, end)
        setup_django(workdir, server.url)
        behaviours = parse_behaviours(args.behaviours)
        cluster = Cluster(seed=SEED, scrape_interval=INTERVAL, behaviours=behaviours)
        report(args, server, cluster, start, end)
    finally:
        server.stop()
        shutil.rmtree(workdir, ignore_errors=True)


def compare(args, workdir: Path, url: str, start: datetime, end: datetime):
    """Collect with the revision's collector and the working tree's in turns."""
    other = workdir / "against"
    subprocess.run(
        ["git", "-C", str(REPO), "worktree", "add", "--detach", str(other), args.against],
        check=True,
        capture_output=True,
    )
    try:
        trees = {args.against: other, "working tree": REPO}
        runs = {name: [] for name in trees}
        for _ in range(args.runs):
            for name, tree in trees.items():
                runs[name].append(
                    collect_in(tree, workdir / f"{tree.name}.sqlite3", url, start, end)
                )
    finally:
        subprocess.run(["git", "-C", str(REPO), "worktree", "remove", "--force", str(other)])
    print(f"\n| collector | median seconds ({args.runs} runs, in turns) | queries | usage rows |")
    print("|---|---|---|---|")
    for name, results in runs.items():
        median = statistics.median(r[0] for r in results)
        print(f"| {name} | {median:.2f} | {results[-1][1]} | {results[-1][2]} |")
    old, new = (statistics.median(r[0] for r in runs[name]) for name in trees)
    print(f"\nworking tree / {args.against}: {new / old:.3f}")


def collect_in(tree: Path, db: Path, url: str, start: datetime, end: datetime):
    """(seconds, queries, rows) of one collect_usage of the source tree, in its own process."""
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{db}", "PROMETHEUS_URL": url}
    python = str(REPO / ".venv" / "bin" / "python")
    if not db.exists():
        subprocess.run([python, "manage.py", "migrate", "-v0"], cwd=tree, env=env, check=True)
    window = ["--start", start.isoformat(), "--end", end.isoformat()]
    subprocess.run(
        [python, "manage.py", "collect_usage", *window],
        cwd=tree,
        env=env,
        check=True,
        capture_output=True,
    )
    with sqlite3.connect(db) as connection:
        began, finished, queries = connection.execute(
            "SELECT started_at, finished_at, queries FROM billing_collectionrun"
            " ORDER BY id DESC LIMIT 1"
        ).fetchone()
        (rows,) = connection.execute("SELECT count(*) FROM billing_hourlyusage").fetchone()
    seconds = (datetime.fromisoformat(finished) - datetime.fromisoformat(began)).total_seconds()
    return seconds, queries, rows


def report(args, server, cluster, start, end):
    from django.core.management import call_command
    from django.db.models import Sum

    from billing.models import CollectionRun, HourlyUsage
    from billing.resources import QUANTITIES
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
        elif q == "gpu_energy_joules":
            naive = f"{sum(naive_energy(server.url, start, end).values()) / obs - 1:+.3%}"
        print(
            f"| {q} | {got:.6g} | {obs:.6g} | {real:.6g} | {gap(got, obs)} | {gap(got, real)} "
            f"| {naive} |"
        )


def gap(a: float, b: float) -> str:
    return f"{a / b - 1:+.4%}" if b else "n/a"


if __name__ == "__main__":
    main()
