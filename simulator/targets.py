"""Scrape targets, the labels Prometheus attaches to them, and their scrape time grids.

A target is scraped at `k * interval + phase` (integer milliseconds since the epoch), where the
phase is a stable hash of the target (< interval). One cAdvisor target per simulated UTC day is
not scraped for a few minutes (a deterministic scrape gap).
"""

import random
from dataclasses import dataclass, field

from simulator.levels import stable_int
from simulator.model import Node

DAY = 86_400


@dataclass(slots=True)
class Target:
    kind: str  # "cadvisor" | "ksm" | "dcgm"
    path: str  # URL path on the live server
    labels: dict[str, str]  # labels Prometheus attaches (job, instance, ...)
    node: str | None
    phase_ms: int
    interval_ms: int
    gaps: list = field(default_factory=list, repr=False)

    @property
    def name(self) -> str:
        return f"{self.labels['job']}/{self.labels['instance']}"


def make_targets(seed: int, nodes: list[Node], interval: int, cluster_label: str | None):
    """cAdvisor per node, one kube-state-metrics, DCGM per GPU node (first one renames pods)."""
    extra = {"cluster": cluster_label} if cluster_label else {}
    out = []

    def add(kind, path, labels, node=None):
        phase = stable_int(seed, "phase", path) % (interval * 1000)
        out.append(Target(kind, path, {**labels, **extra}, node, phase, interval * 1000))

    for n in nodes:
        add(
            "cadvisor",
            f"/nodes/{n.name}/metrics/cadvisor",
            {
                "job": "kubelet",
                "metrics_path": "/metrics/cadvisor",
                "node": n.name,
                "instance": f"{n.name}:10250",
            },
            n.name,
        )
    add(
        "ksm",
        "/kube-state-metrics/metrics",
        {"job": "kube-state-metrics", "instance": "kube-state-metrics:8080"},
    )
    gpu_nodes = [n for n in nodes if n.gpus]
    for i, n in enumerate(gpu_nodes):
        labels = {"job": "nvidia-dcgm-exporter", "instance": f"{n.name}:9400"}
        if i == 0:  # the ServiceMonitor variant: target carries the exporter pod's own labels
            labels.update(
                namespace="gpu-operator",
                container="nvidia-dcgm-exporter",
                pod=f"nvidia-dcgm-exporter-{stable_int(seed, n.name) % 10**5:05d}",
            )
        add("dcgm", f"/nodes/{n.name}/dcgm/metrics", labels, n.name)
    return out


def gap_of_day(seed: int, nodes: list[Node], day: int) -> tuple[str, int, int] | None:
    """(node, start, end) in epoch seconds of the cAdvisor scrape gap of UTC day `day`."""
    if not nodes:
        return None
    rng = random.Random(f"{seed}:gap:{day}")
    node = nodes[rng.randrange(len(nodes))].name
    start = day * DAY + rng.randrange(3600, 22 * 3600)
    return node, start, start + rng.randint(4, 12) * 60


def gaps_between(seed: int, nodes: list[Node], node: str, a: int, b: int) -> list[tuple[int, int]]:
    """Scrape gaps (ms) of the cAdvisor target of `node` overlapping [a, b) seconds."""
    out = []
    for day in range(a // DAY - 1, b // DAY + 1):
        gap = gap_of_day(seed, nodes, day)
        if gap and gap[0] == node and gap[1] < b and gap[2] > a:
            out.append((gap[1] * 1000, gap[2] * 1000))
    return out


def scrape_times(target: Target, a_ms: int, b_ms: int, gaps) -> list[int]:
    """Scrape times (ms) of `target` in [a_ms, b_ms), minus those inside scrape gaps."""
    step, phase = target.interval_ms, target.phase_ms
    first = -((phase - a_ms) // step) * step + phase  # smallest k*step+phase >= a_ms
    times = range(first, b_ms, step)
    if not gaps:
        return list(times)
    return [t for t in times if not any(g0 <= t < g1 for g0, g1 in gaps)]


def last_scrape_before(target: Target, t_ms: int, not_before_ms: int, gaps) -> int | None:
    """The last scrape time < t_ms and >= not_before_ms outside gaps, or None."""
    step, phase = target.interval_ms, target.phase_ms
    s = ((t_ms - 1 - phase) // step) * step + phase
    while s >= not_before_ms:
        if not any(g0 <= s < g1 for g0, g1 in gaps):
            return s
        s -= step
    return None
