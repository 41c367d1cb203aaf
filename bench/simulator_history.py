"""Benchmark: seconds and peak memory of `python -m simulator history` per cluster size and window.

    .venv/bin/python bench/simulator_history.py [--sizes day-2k-like ...] [--hours 1 2] [--runs 3]

Each run is a child process writing the history of [START, START + hours) at a 30 s scrape
interval to a temporary file, removed after the run; its peak RSS is the child's own (os.wait4).
Prints one row per size and window: series, samples, file size in MB, and the medians of
`--runs` runs of the wall seconds and the peak RSS in MiB.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
START = datetime(2026, 3, 2, tzinfo=UTC)
SIZES = {  # name: (nodes, gpu_nodes, jobs_per_hour, steady_pods)
    "3-nodes": (2, 1, 5, 0),
    "6-nodes": (4, 2, 30, 0),
    "10-nodes": (8, 2, 60, 0),
    "day-2k-like": (20, 4, 400, 2000),  # bench/backfill.py's day-2k, seed 1
}


def command(size: str, hours: int, out: Path) -> list[str]:
    nodes, gpu_nodes, jobs_per_hour, steady_pods = SIZES[size]
    end = START + timedelta(hours=hours)
    return [
        *(sys.executable, "-m", "simulator", "history"),
        *("--start", START.isoformat(), "--end", end.isoformat(), "--out", str(out)),
        *("--nodes", str(nodes), "--gpu-nodes", str(gpu_nodes)),
        *("--jobs-per-hour", str(jobs_per_hour), "--steady-pods", str(steady_pods)),
        *("--scrape-interval", "30"),
    ]


def run_once(size: str, hours: int, directory: Path) -> tuple[float, float, dict, int]:
    """(seconds, peak RSS in MiB, the writer's stats, file bytes) of one child run."""
    out, err = directory / "history.om", directory / "stderr.txt"
    with err.open("w") as stderr:
        t0 = time.perf_counter()
        child = subprocess.Popen(command(size, hours, out), cwd=REPO, stderr=stderr)
        _, status, usage = os.wait4(child.pid, 0)  # the child's own rusage, not all children's
        seconds = time.perf_counter() - t0
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode:
        raise SystemExit(f"{size} {hours} h failed:\n{err.read_text()}")
    size_bytes = out.stat().st_size
    out.unlink()
    stats = json.loads(err.read_text().splitlines()[-1])
    return seconds, usage.ru_maxrss / 1024, stats, size_bytes


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sizes", nargs="+", choices=SIZES, default=["day-2k-like"])
    p.add_argument("--hours", nargs="+", type=int, default=[1, 2])
    p.add_argument("--runs", type=int, default=3)
    args = p.parse_args()
    print(
        f"{'size':<12} {'hours':>5} {'series':>8} {'samples':>11} {'MB':>7} "
        f"{'seconds':>8} {'peak RSS MiB':>12}"
    )
    with tempfile.TemporaryDirectory(prefix="simulator-history-") as tmp:
        for size in args.sizes:
            for hours in args.hours:
                runs = [run_once(size, hours, Path(tmp)) for _ in range(args.runs)]
                _, _, stats, size_bytes = runs[-1]
                print(
                    f"{size:<12} {hours:>5} {stats['series']:>8} {stats['samples']:>11} "
                    f"{size_bytes / 1e6:>7.0f} {statistics.median(r[0] for r in runs):>8.1f} "
                    f"{statistics.median(r[1] for r in runs):>12.0f}",
                    flush=True,
                )


if __name__ == "__main__":
    main()
