"""Simulated clusters of the collection benchmark, backfilled once into a cached Prometheus.

A size is a set of simulator parameters over a window of hours. Its TSDB lands in
~/.cache/kubemon-bench/<size>-<hours>h-<key>/, where the key hashes the parameters, the
simulator's and the rules' sources: a later run finds it and only starts Prometheus on it.

History is generated and imported in pieces of a few hours, two at a time, so that the
OpenMetrics text of a large day (tens of GB) never sits on disk at once.
"""

import hashlib
import shutil
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from simulator.prometheus import REPO_DIR, PrometheusServer, run, simulator_command

CACHE = Path.home() / ".cache" / "kubemon-bench"
START = datetime(2026, 3, 2, tzinfo=UTC)
LEAD = timedelta(hours=1)  # history before the window: every counter has a previous sample
PIECE_HOURS = 2
INTERVAL = 30


@dataclass(frozen=True)
class Size:
    name: str
    nodes: int
    gpu_nodes: int
    jobs_per_hour: int
    steady_pods: int
    hours: int = 24
    seed: int = 5

    def simulator_args(self) -> list[str]:
        return [
            *("--seed", str(self.seed), "--nodes", str(self.nodes)),
            *("--gpu-nodes", str(self.gpu_nodes), "--jobs-per-hour", str(self.jobs_per_hour)),
            *("--steady-pods", str(self.steady_pods), "--scrape-interval", str(INTERVAL)),
        ]

    @property
    def window(self) -> tuple[datetime, datetime]:
        return START, START + timedelta(hours=self.hours)


SIZES = {
    size.name: size
    for size in (
        Size("small", nodes=4, gpu_nodes=2, jobs_per_hour=30, steady_pods=100, hours=6),
        Size("day-1k", nodes=10, gpu_nodes=2, jobs_per_hour=200, steady_pods=1000),
        Size("day-2k", nodes=20, gpu_nodes=4, jobs_per_hour=400, steady_pods=2000),
        # The school's GPU platforms at full size, for the hourly CronJob's one hour.
        Size("hour-10k", nodes=100, gpu_nodes=20, jobs_per_hour=2000, steady_pods=10000, hours=1),
    )
}


def sources_key(size: Size) -> str:
    """A hash of what the stored TSDB depends on: the parameters, simulator and rules."""
    digest = hashlib.sha256(repr(size).encode())
    for path in sorted((REPO_DIR / "simulator").glob("*.py")):
        digest.update(path.read_bytes())
    for path in sorted((REPO_DIR / "prometheus" / "rules").glob("*.yml")):
        digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


def cached_server(size: Size, progress=print) -> PrometheusServer:
    """A started Prometheus holding the size's history, backfilled first if not cached."""
    home = CACHE / f"{size.name}-{size.hours}h-{sources_key(size)}"
    if not (home / "complete").exists():
        shutil.rmtree(home, ignore_errors=True)
        backfill(PrometheusServer(home), size, progress)
        (home / "complete").touch()
    server = PrometheusServer(home)
    server.start(timeout=600)
    return server


def backfill(server: PrometheusServer, size: Size, progress) -> None:
    start, end = size.window
    # Pieces on the 2-hour grid of Prometheus blocks, so that no two imports overlap.
    pieces, at = [(start - LEAD, start)], start
    while at < end:
        pieces.append((at, min(at + timedelta(hours=PIECE_HOURS), end)))
        at += timedelta(hours=PIECE_HOURS)

    def load(index: int, a: datetime, b: datetime) -> None:
        history = server.workdir / f"history-{index}.om"
        window = ["--start", a.isoformat(), "--end", b.isoformat()]
        run(
            simulator_command("history", *window, "--out", str(history), *size.simulator_args()),
            server.log,
        )
        server.import_openmetrics(history)
        history.unlink()
        progress(f"{size.name}: history {a:%H:%M}-{b:%H:%M} imported")

    with ThreadPoolExecutor(max_workers=2) as pool:
        for done in [pool.submit(load, i, a, b) for i, (a, b) in enumerate(pieces)]:
            done.result()
    server.start(timeout=600)
    try:
        progress(f"{size.name}: recording rules")
        server.record_rules(start - LEAD, end, INTERVAL)
    finally:
        server.stop()
