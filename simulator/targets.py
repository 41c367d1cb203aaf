"""Scrape targets, the labels Prometheus attaches to them, their scrape time grids and gaps.

A target is scraped at `k * interval + phase` (integer milliseconds since the epoch), where the
phase is a stable hash of the target (< interval). One cAdvisor target per simulated UTC day is
not scraped for a few minutes (a deterministic scrape gap). Behaviours (simulator/behaviours.py)
add targets (a second kube-state-metrics, an HA Prometheus twin of every target), target
labels (honor_labels false), label changes over time (a restarted kube-state-metrics on a new
pod IP) and more gaps (outages, restarts); every gap is a `Gap` in epoch seconds.
"""

import random
from dataclasses import dataclass

from simulator.levels import pod_suffix, stable_int
from simulator.model import Node

DAY = 86_400
HOUR = 3600
BLOCK = 6 * HOUR  # outages happen once per UTC 6-hour block
HA_REPLICAS = ("prometheus-k8s-0", "prometheus-k8s-1")
# (behaviour, length in seconds): outages at a seeded time in [30 min, 5 h) of each block
OUTAGES = {
    "prometheus-outage": 600,
    "exporter-outage": 900,
    "kubelet-outage": 1200,
    "long-outage": 4500,
}
OUTAGE_KINDS = {  # which targets an outage silences (None: every target)
    "prometheus-outage": None,
    "long-outage": None,
    "exporter-outage": "ksm",
    "kubelet-outage": "cadvisor",
}


@dataclass(slots=True)
class Target:
    kind: str  # "cadvisor" | "ksm" | "dcgm"
    path: str  # URL path on the live server
    labels: dict[str, str]  # labels Prometheus attaches (job, instance, ...)
    node: str | None
    phase_ms: int
    interval_ms: int
    ha_replica: int = 0  # which Prometheus of an HA pair scrapes it (0: the truth's grid)

    @property
    def name(self) -> str:
        return f"{self.labels['job']}/{self.labels['instance']}"


@dataclass(frozen=True, slots=True, order=True)
class Gap:
    start: int  # epoch seconds, first instant without scrapes
    end: int  # epoch seconds, scrapes resume at or after it
    cause: str  # "cadvisor-gap", "ksm-restart" or an outage behaviour name


def make_targets(
    seed: int,
    nodes: list[Node],
    interval: int,
    cluster_label: str | None,
    behaviours=frozenset(),
):
    """cAdvisor per node, kube-state-metrics (one or two), DCGM per GPU node (first renames).

    With `ha-pair`, every target is followed by its twin scraped by the second Prometheus.
    """
    extra = {"cluster": cluster_label} if cluster_label else {}
    step = interval * 1000
    out = []

    def add(kind, path, labels, node=None, phase=None):
        if phase is None:
            phase = stable_int(seed, "phase", path) % step
        out.append(Target(kind, path, {**labels, **extra}, node, phase, step))

    for n in nodes:
        labels = {
            "job": "kubelet",
            "metrics_path": "/metrics/cadvisor",
            "node": n.name,
            "instance": f"{n.name}:10250",
        }
        if "honor-labels-false" in behaviours:  # the kube-prometheus kubelet ServiceMonitor
            labels.update(namespace="kube-system", service="kubelet", endpoint="https-metrics")
        add("cadvisor", f"/nodes/{n.name}/metrics/cadvisor", labels, n.name)
    replicas = 2 if "ksm-replicas" in behaviours else 1
    phases = []
    for r in range(replicas):
        path = "/kube-state-metrics/metrics" if r == 0 else f"/kube-state-metrics-{r}/metrics"
        phase = distinct_phase(stable_int(seed, "phase", path) % step, phases, step)
        phases.append(phase)
        add("ksm", path, ksm_labels(seed, r, replicas, None, behaviours), phase=phase)
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
    if "ha-pair" in behaviours:
        out = [twin for t in out for twin in ha_twins(seed, t)]
    return out


def distinct_phase(phase: int, taken: list[int], step: int) -> int:
    """`phase`, moved by half an interval if another target of the set already has it."""
    return (phase + step // 2) % step if phase in taken else phase


def ha_twins(seed: int, t: Target) -> list[Target]:
    """The target as scraped by each Prometheus of an HA pair (replica 1: another phase)."""
    phase1 = stable_int(seed, "phase", t.path, HA_REPLICAS[1]) % t.interval_ms
    phase1 = distinct_phase(phase1, [t.phase_ms], t.interval_ms)
    return [
        Target(
            t.kind,
            t.path,
            {**t.labels, "prometheus_replica": name},
            t.node,
            t.phase_ms if k == 0 else phase1,
            t.interval_ms,
            k,
        )
        for k, name in enumerate(HA_REPLICAS)
    ]


def ksm_labels(seed: int, replica: int, replicas: int, generation, behaviours) -> dict:
    """Target labels of kube-state-metrics replica `replica` in pod generation `generation`.

    `generation` is the UTC hour of the restart that started the pod (None: the live, never
    restarted pod). A restarted pod has a new IP, so a new `instance`, and a new name.
    """
    if generation is not None:
        rng = random.Random(f"{seed}:ksm-ip:{replica}:{generation}")
        # the parity of the last octet follows the generation: consecutive pods never share an IP
        last = 2 + 2 * rng.randrange(125) + generation % 2
        instance = f"10.244.{rng.randrange(8)}.{last}:8080"
    elif replicas > 1:
        instance = f"kube-state-metrics-{replica}:8080"
    else:
        instance = "kube-state-metrics:8080"
    labels = {"job": "kube-state-metrics", "instance": instance}
    if "honor-labels-false" in behaviours:  # a ServiceMonitor without honorLabels: true
        labels.update(
            namespace="monitoring",
            pod="kube-state-metrics-"
            f"{pod_suffix(seed, 'ksm', length=10)}-{pod_suffix(seed, 'ksm', replica, generation)}",
            container="kube-state-metrics",
            service="kube-state-metrics",
            endpoint="http",
        )
    return labels


def ksm_replica(t: Target) -> int:
    """0 for the first kube-state-metrics, 1 for the second (`ksm-replicas`)."""
    return 0 if t.path == "/kube-state-metrics/metrics" else 1


def ksm_restart(seed: int, replica: int, hour: int) -> Gap:
    """The downtime of a kube-state-metrics replica's restart in UTC hour `hour`."""
    rng = random.Random(f"{seed}:ksm-restart:{replica}:{hour}")
    start = hour * HOUR + rng.randrange(600, 3000)
    return Gap(start, start + rng.randint(45, 90), "ksm-restart")


def segments(seed: int, t: Target, behaviours, a: int, b: int) -> list[tuple[dict, int, int]]:
    """(target labels, from, to) epoch seconds covering [a, b): one per KSM pod generation.

    Without `ksm-restart` (or for other kinds), the target's labels over the whole window.
    A generation lives from the end of its restart's downtime to the next restart.
    """
    if t.kind != "ksm" or "ksm-restart" not in behaviours:
        return [(t.labels, a, b)]
    replica = ksm_replica(t)
    replicas = 2 if "ksm-replicas" in behaviours else 1
    extra = {k: v for k, v in t.labels.items() if k in ("cluster", "prometheus_replica")}
    out = []
    for h in range(a // HOUR - 1, b // HOUR + 1):
        lo, hi = ksm_restart(seed, replica, h).end, ksm_restart(seed, replica, h + 1).start
        if lo < b and hi > a:
            labels = {**ksm_labels(seed, replica, replicas, h, behaviours), **extra}
            out.append((labels, max(lo, a), min(hi, b)))
    return out


def gap_of_day(seed: int, nodes: list[Node], day: int) -> tuple[str, int, int] | None:
    """(node, start, end) in epoch seconds of the cAdvisor scrape gap of UTC day `day`."""
    if not nodes:
        return None
    rng = random.Random(f"{seed}:gap:{day}")
    node = nodes[rng.randrange(len(nodes))].name
    start = day * DAY + rng.randrange(3600, 22 * 3600)
    return node, start, start + rng.randint(4, 12) * 60


def outage(seed: int, nodes: list[Node], name: str, block: int) -> tuple[str | None, Gap]:
    """(node or None, gap) of outage behaviour `name` in UTC 6-hour block `block`."""
    rng = random.Random(f"{seed}:{name}:{block}")
    start = block * BLOCK + rng.randrange(1800, 5 * HOUR)
    node = nodes[rng.randrange(len(nodes))].name if name == "kubelet-outage" and nodes else None
    return node, Gap(start, start + OUTAGES[name], name)


def target_gaps(seed, nodes, behaviours, t: Target, a: int, b: int) -> list[Gap]:
    """Gaps of target `t` overlapping [a, b) epoch seconds, sorted by start."""
    out = []
    if t.kind == "cadvisor":
        for day in range(a // DAY - 1, b // DAY + 1):
            gap = gap_of_day(seed, nodes, day)
            if gap and gap[0] == t.node:
                out.append(Gap(gap[1], gap[2], "cadvisor-gap"))
    if t.kind == "ksm" and "ksm-restart" in behaviours:
        out += [ksm_restart(seed, ksm_replica(t), h) for h in range(a // HOUR - 1, b // HOUR + 1)]
    for name in sorted(OUTAGES.keys() & behaviours):
        if OUTAGE_KINDS[name] not in (None, t.kind):
            continue
        for block in range(a // BLOCK - 1, b // BLOCK + 1):
            node, gap = outage(seed, nodes, name, block)
            if node is None or node == t.node:
                out.append(gap)
    return sorted(g for g in out if g.start < b and g.end > a)


def scrape_times(target: Target, a_ms: int, b_ms: int, gaps) -> list[int]:
    """Scrape times (ms) of `target` in [a_ms, b_ms), minus those inside gaps (ms pairs)."""
    step, phase = target.interval_ms, target.phase_ms
    first = -((phase - a_ms) // step) * step + phase  # smallest k*step+phase >= a_ms
    times = range(first, b_ms, step)
    if not gaps:
        return list(times)
    return [t for t in times if not any(g0 <= t < g1 for g0, g1 in gaps)]


def last_scrape_before(target: Target, t_ms: int, not_before_ms: int, gaps) -> int | None:
    """The last scrape time < t_ms and >= not_before_ms outside gaps (ms pairs), or None."""
    step, phase = target.interval_ms, target.phase_ms
    s = ((t_ms - 1 - phase) // step) * step + phase
    while s >= not_before_ms:
        if not any(g0 <= s < g1 for g0, g1 in gaps):
            return s
        s -= step
    return None


def first_scrape_from(target: Target, t_ms: int, gaps) -> int:
    """The first scrape time >= t_ms outside gaps (ms pairs)."""
    step, phase = target.interval_ms, target.phase_ms
    s = -((phase - t_ms) // step) * step + phase
    while any(g0 <= s < g1 for g0, g1 in gaps):
        s += step
    return s
