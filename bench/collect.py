"""Benchmark of collect_usage at cluster scale, against the bound and a naive peer.

    .venv/bin/python bench/collect.py [--sizes small,day-1k] [--runs 3] [--hours N]
                                      [--database-url postgres://...] [--no-peer]

For each size (bench/backfill.py: simulated clusters backfilled once into a cached
Prometheus), collect_usage runs `--runs` times in a child process on a fresh database
(PostgreSQL by default), and one table gives the median of: wall time, peak RSS, queries,
seconds waiting on Prometheus (CollectionRun.query_seconds), seconds in the database (every
SQL statement timed), rows. Then:

- the bound: the last run's HTTP requests replayed with the answers read and thrown away,
  as many at a time as the collector asks (KUBEMON_COLLECT_CONCURRENCY), plus a COPY of
  its rows into a table of the same shape: what reading the data once and writing it once
  costs. The ratio is collection / bound.
- the naive peer (bench/naive_peer.py): what a quick script with prometheus-api-client and
  pandas makes of CPU, memory and network, its time, peak RSS and error against the truth.

`--hours` cuts every size's window to its first N hours (the backfill is cached per window).
"""

import argparse
import dataclasses
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from backfill import SIZES, cached_server  # noqa: E402

PYTHON = str(REPO / ".venv" / "bin" / "python")
DEFAULT_DB = "postgres://postgres@127.0.0.1:5432/kubemon_bench_collect"


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sizes", default="small,day-1k")
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--hours", type=int, default=None)
    p.add_argument("--database-url", default=DEFAULT_DB)
    p.add_argument("--no-peer", action="store_true", help="skip the naive peer")
    return p.parse_args()


def child(args: list[str], env: dict) -> tuple[dict, float, int]:
    """(JSON the child printed last, wall seconds, peak RSS in MiB) of a bench child."""
    began = time.monotonic()
    process = subprocess.Popen(
        [PYTHON, *args], cwd=REPO, env={**os.environ, **env}, stdout=subprocess.PIPE, text=True
    )
    out = process.stdout.read()
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.monotonic() - began
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode:
        raise SystemExit(f"{args[0]} failed ({process.returncode})")
    return json.loads(out.strip().splitlines()[-1]), wall, usage.ru_maxrss // 1024


def measure(size, server, database_url: str, runs: int, workdir: Path) -> dict:
    start, end = size.window
    env = {"DATABASE_URL": database_url, "PROMETHEUS_URL": server.url}
    child(["bench/collect_child.py", "fresh"], env)
    results = []
    for _ in range(runs):
        log = workdir / "requests.json"
        window = [start.isoformat(), end.isoformat()]
        got, _, rss = child(["bench/collect_child.py", "collect", *window, str(log)], env)
        results.append({**got, "rss": rss})
    bound, _, _ = child(["bench/collect_child.py", "bound", str(log)], env)

    def median(key):
        return statistics.median(r[key] for r in results)

    return {
        "size": size,
        "wall": median("wall"),
        "rss": median("rss"),
        "queries": results[-1]["queries"],
        "prometheus": median("query_seconds"),
        "db": median("db_seconds"),
        "rows": results[-1]["rows"],
        "identical": all(r["digest"] == results[0]["digest"] for r in results),
        "bound": bound["replay"] + bound["copy"],
        "replay": bound["replay"],
        "copy": bound["copy"],
        "totals": results[-1]["totals"],
    }


def peer(size, server) -> dict:
    start, end = size.window
    args = ["bench/naive_peer.py", server.url, start.isoformat(), end.isoformat()]
    got, wall, rss = child(args, {})
    return {"wall": wall, "rss": rss, "totals": got}


def truth_totals(size) -> dict:
    """The simulator's exact totals of the window, computed once and cached beside the TSDB."""
    from backfill import CACHE, sources_key

    path = CACHE / f"{size.name}-{size.hours}h-{sources_key(size)}" / "truth.json"
    if not path.exists():
        from simulator.cluster import Cluster

        args = dict(seed=size.seed, nodes=size.nodes, gpu_nodes=size.gpu_nodes)
        cluster = Cluster(**args, jobs_per_hour=size.jobs_per_hour, steady_pods=size.steady_pods)
        path.write_text(json.dumps(cluster.truth(*size.window)["totals"]))
    return json.loads(path.read_text())


def report(m: dict, naive: dict | None, truth: dict) -> None:
    size = m["size"]
    print(f"\n### {size.name}: {size.simulator_args()} over {size.hours} h\n")
    print(
        "| wall (median) | peak RSS | queries | waiting on Prometheus | in the database | rows "
        "| rows identical across runs |"
    )
    print("|---|---|---|---|---|---|---|")
    print(
        f"| {m['wall']:.2f} s | {m['rss']} MiB | {m['queries']} | {m['prometheus']:.2f} s "
        f"| {m['db']:.2f} s | {m['rows']} | {'yes' if m['identical'] else 'NO'} |"
    )
    print(
        f"\nbound: {m['bound']:.2f} s (replay {m['replay']:.2f} s + COPY {m['copy']:.2f} s); "
        f"collection / bound = {m['wall'] / m['bound']:.2f}"
    )
    print("\n| quantity | collected vs truth | naive peer vs truth |")
    print("|---|---|---|")
    for q in ("cpu_core_seconds", "memory_byte_seconds", "network_rx_bytes"):
        real = truth[q]["observed"]
        ours = f"{m['totals'][q] / real - 1:+.4%}"
        theirs = f"{naive['totals'][q] / real - 1:+.2%}" if naive else "n/a"
        print(f"| {q} | {ours} | {theirs} |")
    if naive:
        print(
            f"\nnaive peer: {naive['wall']:.1f} s, peak RSS {naive['rss']} MiB; "
            f"collection is {naive['wall'] / m['wall']:.1f}x faster"
        )


def main():
    args = parse_args()
    for name in args.sizes.split(","):
        size = SIZES[name]
        if args.hours:
            size = dataclasses.replace(size, hours=args.hours)
        began = time.monotonic()
        server = cached_server(size, lambda text: print(text, file=sys.stderr, flush=True))
        print(f"{name}: Prometheus ready in {time.monotonic() - began:.0f} s", file=sys.stderr)
        try:
            with tempfile.TemporaryDirectory(prefix="kubemon-bench-") as workdir:
                m = measure(size, server, args.database_url, args.runs, Path(workdir))
            naive = None if args.no_peer else peer(size, server)
        finally:
            server.stop()
        report(m, naive, truth_totals(size))


if __name__ == "__main__":
    main()
