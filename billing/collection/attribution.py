"""Turn one hour of facts into usage per job: pure functions, no I/O.

A job is the workload that owns the pods: a ReplicaSet's Deployment, a Job (with its
CronJob as parent), a StatefulSet, a DaemonSet, or the Pod itself when it has no owner.
A PersistentVolumeClaim is billed as its own item. Time-based quantities use each pod's
running interval (billing.collection.facts); what an unbridged data gap hid is left out.
"""

import math
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property

from billing.collection.energy import hour_energy
from billing.collection.facts import Hour, InstanceFacts, PodFacts
from billing.collection.gaps import overlap
from billing.collection.gpus import gpu_weight
from billing.resources import QUANTITIES

NO_OWNER = ("", "<none>")


@dataclass
class JobUsage:
    """A job's parts of each quantity in one hour, added up exactly by `quantities`.

    math.fsum rounds the exact sum once, so the total does not depend on the order the
    parts came in: collecting a window twice, or hour by hour, stores identical numbers.
    """

    parent_kind: str = ""
    parent_name: str = ""
    user: str = ""  # who ran it: its pods' user label, the latest started pod's
    gpu_energy_estimated: bool = False  # a MIG slice's or time-sliced share (energy.py)
    parts: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))

    @property
    def quantities(self) -> dict[str, float]:
        return {q: math.fsum(self.parts.get(q, ())) for q in QUANTITIES}


def job_of(pod: PodFacts, hour: Hour) -> tuple[str, str, str, str]:
    """Return (kind, name, parent_kind, parent_name) of the job that owns the pod."""
    kind, name = pod.owner_kind, pod.owner_name
    if kind in NO_OWNER or not name:
        return "Pod", pod.pod, "", ""
    if kind == "ReplicaSet":
        owner_kind, owner_name = hour.replicaset_owner.get((pod.namespace, name), ("", ""))
        if owner_kind not in NO_OWNER and owner_name:
            return owner_kind, owner_name, "", ""
    if kind == "Job":
        parent_kind, parent_name = hour.job_parent.get((pod.namespace, name), ("", ""))
        if parent_kind not in NO_OWNER and parent_name:
            return "Job", name, parent_kind, parent_name
    return kind, name, "", ""


def pods_by_name(hour: Hour) -> dict[tuple[str, str], PodFacts]:
    """Index pods by (namespace, pod) as cAdvisor names them, preferring the latest run."""
    index: dict[tuple[str, str], PodFacts] = {}
    for pod in sorted(hour.pods.values(), key=lambda p: (p.seen_active, p.start or 0)):
        index[(pod.namespace, pod.pod)] = pod
    return index


def gauge_integral(total: float, count: float, seconds: float | None, interval: int) -> float:
    """Integrate a gauge from the sum and number of its samples in the hour.

    The mean sample times the running time. Without a known running time the samples
    stand for one interval each.
    """
    if count <= 0:
        return 0.0
    if seconds is None:
        return total * interval
    return total / count * seconds


def instance_end(inst: InstanceFacts, pod: PodFacts, hour: Hour, start: float, hi: float, interval):
    """When a container instance that stopped reporting before the hour's end ended.

    kube-state-metrics knows exact ends: the pod's, the completion time (the latest FinishedAt, also
    while the pod runs on), a restarted container's previous end, the start of the next
    init container or of the app containers. The end taken is the one of those nearest to
    what the instance's samples cover from `start`, with or without the gaps of its kubelet
    (the samples do not say on which side of a gap they lie); without one near, what the
    samples alone cover.
    """
    covered = start + inst.count * interval
    # Only a gap that ended while the pod ran may have samples of the instance after it.
    gaps = [g for g in hour.gaps.of("kubelet", pod.node) if g.end <= hi]
    bridged = covered + sum(overlap(start, hi, *g.hidden) for g in gaps if g.bridged)
    through_all = covered + sum(overlap(start, hi, *g.hidden) for g in gaps)
    candidates = {
        hi,
        pod.completion,
        pod.first_completion,
        pod.app_start,
        *pod.init_starts.values(),
        *hour.terminations.get((inst.namespace, inst.pod, inst.container), ()),
        # A series that stopped at a gap of its kubelet was last seen before the gap.
        *(g.hidden[0] for g in hour.gaps.of("kubelet", pod.node)),
    }
    distances = {
        t: min(abs(t - covered), abs(t - bridged), abs(t - through_all))
        for t in candidates
        if t is not None and t > start
    }
    # Samples place an end within about an interval; the exact ends differ by more.
    near = [t for t, distance in distances.items() if distance <= 1.5 * interval]
    return min(near, key=distances.get) if near else covered


def requested_gpu(pod: PodFacts, weights: dict[str, float]) -> bool:
    resources = set(pod.requests).union(*pod.init_requests.values())
    return any(gpu_weight(r, weights) > 0 for r in resources)


class Attribution:
    """The usage of every job in one hour."""

    def __init__(
        self, hour_start: datetime, hour: Hour, interval: int, weights=None, idle_percent=5.0
    ):
        self.h0 = hour_start.timestamp()
        self.hour = hour
        self.interval = interval
        self.weights = weights or {}
        self.idle_percent = idle_percent
        self.idle_energy: dict[str, float] = {}  # joules of GPUs no pod held, per node
        self.jobs: dict[tuple, JobUsage] = {}
        self.by_name = pods_by_name(hour)
        self.by_uid = {p.uid: p for p in hour.pods.values() if p.uid}

    def add(self, namespace: str, pod_name: str, quantity: str, value: float, pod=None):
        pod = pod or self.by_name.get((namespace, pod_name)) or PodFacts(namespace, pod_name, "")
        kind, name, parent_kind, parent_name = job_of(pod, self.hour)
        job = self.jobs.get((namespace, kind, name))
        if job is None:  # made only when new: this runs for every value of every pod
            job = self.jobs[(namespace, kind, name)] = JobUsage(parent_kind, parent_name)
        job.parts[quantity].append(value)

    def usage(self) -> dict[tuple, JobUsage]:
        for pod in self.hour.pods.values():
            self.add_requests(pod)
        self.add_counters()
        for cgroup, inst in self.hour.instances.items():
            self.add_memory(cgroup, inst)
        for key, series in self.hour.gpu_memory.items():
            self.add_gpu_memory(key, series)
        for (namespace, claim), (size, seconds) in self.hour.pvcs.items():
            job = self.jobs.setdefault((namespace, "PersistentVolumeClaim", claim), JobUsage())
            job.parts["storage_byte_seconds"].append(size * seconds)
        self.add_gpu_energy()
        self.add_users()
        return {key: job for key, job in self.jobs.items() if any(job.quantities.values())}

    def add_gpu_energy(self):
        """GPU energy, busy and idle seconds of the pods that held GPUs; the rest of the
        GPUs' energy is the node's idle energy (self.idle_energy, joules per node)."""
        holders = {(ns, pod) for d in self.hour.gpu_devices.values() for _, _, ns, pod in d.holders}
        intervals = {
            key: pod.gauge_interval(self.h0)
            for key in holders
            if (pod := self.by_name.get(key)) is not None and requested_gpu(pod, self.weights)
        }
        per_pod, idle = hour_energy(
            self.hour.gpu_devices,
            intervals,
            self.h0,
            self.weights,
            self.idle_percent,
            lambda node, lo, hi, count: self.gauge_seconds("dcgm", node, lo, hi, count),
            self.hidden_by_a_long_gap,
        )
        self.idle_energy = {node: math.fsum(parts) for node, parts in idle.items()}
        for (namespace, pod_name), found in per_pod.items():
            pod = self.by_name[(namespace, pod_name)]
            for quantity, parts in (
                ("gpu_energy_joules", found.joules),
                ("gpu_busy_seconds", found.busy),
                ("gpu_idle_seconds", found.idle),
            ):
                for value in parts:
                    self.add(namespace, pod_name, quantity, value, pod)
            if found.estimated:
                kind, name, _, _ = job_of(pod, self.hour)
                if job := self.jobs.get((namespace, kind, name)):
                    job.gpu_energy_estimated = True

    def hidden_by_a_long_gap(self, node: str, t0: float, t1: float) -> bool:
        """Does a DCGM gap too long to bridge hide most of [t0, t1)?"""
        if node not in self.long_dcgm_gaps:  # asked of every interval: most nodes have none
            return False
        return 2 * self.hour.gaps.hidden_seconds("dcgm", node, t0, t1, False) >= t1 - t0

    @cached_property
    def long_dcgm_gaps(self) -> set[str]:
        """The nodes with a DCGM gap too long to bridge."""
        return {g.node for g in self.hour.gaps.all if g.kind == "dcgm" and not g.bridged}

    def add_users(self):
        """Each job's user: its pods' label, the latest started pod's if they differ."""
        labelled = [pod for pod in self.hour.pods.values() if pod.user]
        for pod in sorted(labelled, key=lambda p: (p.first_start() or 0.0, p.user)):
            kind, name, _, _ = job_of(pod, self.hour)
            job = self.jobs.get((pod.namespace, kind, name))
            if job is not None:
                job.user = pod.user

    def add_requests(self, pod: PodFacts):
        lo, hi = pod.interval(self.h0)
        if hi <= lo:
            return
        hidden = self.hour.gaps.hidden_seconds("ksm", "", lo, hi, False)
        share = (hi - lo - hidden) / (hi - lo)
        seconds = pod.request_seconds(self.h0)
        gpu = math.fsum(gpu_weight(r, self.weights) * v for r, v in seconds.items())
        for quantity, value in (
            ("cpu_request_core_seconds", seconds.get("cpu", 0.0)),
            ("memory_request_byte_seconds", seconds.get("memory", 0.0)),
            ("gpu_seconds", gpu),
        ):
            self.add(pod.namespace, pod.pod, quantity, value * share, pod)

    def add_counters(self):
        for quantity, per_pod in self.hour.counters.items():
            for (namespace, pod_name), values in per_pod.items():
                pod = self.by_name.get((namespace, pod_name))
                if quantity.startswith("network_") and pod is not None and pod.host_network:
                    continue  # a hostNetwork pod's sandbox counts the whole node's traffic
                for value in values:
                    self.add(namespace, pod_name, quantity, value)

    def add_memory(self, cgroup: str, inst: InstanceFacts):
        """An instance's mean working set times the part of its life inside the hour."""
        pod = self.by_uid.get(inst.uid) or self.by_name.get((inst.namespace, inst.pod))
        if pod is None:
            value = gauge_integral(inst.total, inst.count, None, self.interval)
            self.add(inst.namespace, inst.pod, "memory_byte_seconds", value)
            return
        lo, hi = pod.gauge_interval(self.h0)
        start = max(lo, inst.start or lo)
        end = (
            hi
            if inst.live_at_end
            else min(hi, instance_end(inst, pod, self.hour, start, hi, self.interval))
        )
        seconds = self.gauge_seconds("kubelet", pod.node, start, end, inst.count)
        bridged, seconds_bridged = self.through_gaps("kubelet", pod.node, cgroup, start, end)
        value = gauge_integral(
            inst.total, inst.count, max(0.0, seconds - seconds_bridged), self.interval
        )
        self.add(inst.namespace, inst.pod, "memory_byte_seconds", value + bridged, pod)

    def through_gaps(self, kind: str, node: str, key, lo: float, hi: float):
        """(integral, seconds) of a gauge through the bridged gaps of its exporter.

        Through a gap it was seen on both sides of, it is integrated at the mean of its
        levels around it; a gap it was not (it started or ended inside) hides its level:
        those seconds count, with nothing to bill for them.
        """
        integral = seconds = 0.0
        for gap in self.hour.gaps.of(kind, node):
            if not gap.bridged:
                continue
            span = overlap(lo, hi, *gap.hidden)
            levels = self.hour.gap_levels.get(gap, {}).get(key)
            if levels:
                integral += (levels[0] + levels[1]) / 2 * span
            seconds += span
        return integral, seconds

    def gauge_seconds(self, kind: str, node: str, lo: float, hi: float, count: float) -> float:
        """Seconds a gauge's samples stand for: its object's time, less what unbridged
        gaps hid, and at most one interval past what the samples and bridged gaps cover."""
        if hi <= lo:
            return 0.0
        gaps = self.hour.gaps
        seen = hi - lo - gaps.hidden_seconds(kind, node, lo, hi, False)
        cover = (count + 1) * self.interval + gaps.hidden_seconds(kind, node, lo, hi, True)
        return max(0.0, min(seen, cover))

    def add_gpu_memory(self, key: tuple[str, str], series: list[tuple[float, float]]):
        """GPU memory of pods that requested a GPU, from samples inside their run only:
        never an idle GPU, never the exporter's own pod, never a finished pod's stale labels."""
        pod = self.by_name.get(key)
        if pod is None or not requested_gpu(pod, self.weights):
            return
        lo, hi = pod.gauge_interval(self.h0)
        if key in self.hour.gpu_samples:
            kept = [
                [v for t, v in samples if lo - 1e-3 <= t <= hi + 1e-3]
                for samples in self.hour.gpu_samples[key].values()
            ]
            total = math.fsum(v for device in kept for v in device)
            count = max((len(device) for device in kept), default=0)
        else:
            total = math.fsum(t for t, _ in series)
            # One series per device, all sampled together: the pod's sample times are one's.
            count = max(c for _, c in series)
        seconds = self.gauge_seconds("dcgm", pod.node, lo, hi, count)
        bridged, seconds_bridged = self.through_gaps("dcgm", pod.node, key, lo, hi)
        value = gauge_integral(total, count, max(0.0, seconds - seconds_bridged), self.interval)
        self.add(pod.namespace, pod.pod, "gpu_memory_mib_seconds", value + bridged, pod)


def usage_by_job(hour_start: datetime, hour: Hour, interval: int, weights=None) -> dict:
    """Return {(namespace, kind, name): JobUsage} for one hour."""
    return Attribution(hour_start, hour, interval, weights).usage()
