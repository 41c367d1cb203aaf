"""Benchmark: time to write one simulated day of history for a few cluster sizes.

    .venv/bin/python bench/simulator_history.py [--runs 3] [--hours 24]

Prints one row per size: container instances running in the window, series, samples, median
seconds of `--runs` runs, and the file size in MB.
"""

import argparse
import os
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

from simulator.cluster import Cluster  # noqa: E402

SIZES = [  # (nodes, gpu_nodes, jobs_per_hour)
    (2, 1, 5),
    (4, 2, 30),
    (8, 2, 60),
]


def containers(cluster: Cluster, a: int, b: int) -> int:
    """Container instances that run at some point of [a, b)."""
    pods, _ = cluster.objects(a, b)
    return sum(
        1
        for p in pods
        for c in p.containers
        for i in c.instances
        if i.start < b and (i.end is None or i.end > a)
    )


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--hours", type=int, default=24)
    args = p.parse_args()
    start = datetime(2024, 5, 1, tzinfo=UTC)
    end = start + timedelta(hours=args.hours)
    print(
        f"{'nodes':>5} {'jobs/h':>6} {'containers':>10} {'series':>8} {'samples':>10} "
        f"{'seconds':>8} {'MB':>8}"
    )
    for nodes, gpu_nodes, jph in SIZES:
        times, stats = [], {}
        for _ in range(args.runs):
            cluster = Cluster(seed=1, nodes=nodes, gpu_nodes=gpu_nodes, jobs_per_hour=jph)
            with tempfile.NamedTemporaryFile("w", suffix=".om") as fh:
                t0 = time.perf_counter()
                stats = cluster.history(start, end, fh.name)
                times.append(time.perf_counter() - t0)
        n = containers(cluster, int(start.timestamp()), int(end.timestamp()))
        print(
            f"{nodes + gpu_nodes:>5} {jph:>6} {n:>10} {stats['series']:>8} "
            f"{stats['samples']:>10} {statistics.median(times):>8.1f} "
            f"{stats['bytes'] / 1e6:>8.0f}",
            flush=True,
        )


if __name__ == "__main__":
    main()
