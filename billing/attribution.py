"""Turn one hour of pod facts into usage per job: pure functions, no database.

A job is the workload that owns the pods: a ReplicaSet's Deployment, a Job (with its
CronJob as parent), a StatefulSet, a DaemonSet, or the Pod itself when it has no owner.
A PersistentVolumeClaim is billed as its own item.
"""

import math
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime

from billing.collect import Hour, PodFacts
from billing.models import QUANTITIES

NO_OWNER = ("", "<none>")


@dataclass
class JobUsage:
    """A job's parts of each quantity in one hour, added up exactly by `quantities`.

    math.fsum rounds the exact sum once, so the total does not depend on the order the
    parts came in: collecting a window twice, or hour by hour, stores identical numbers.
    """

    parent_kind: str = ""
    parent_name: str = ""
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
    for pod in sorted(hour.pods.values(), key=lambda p: (p.seen_running, p.start or 0)):
        index[(pod.namespace, pod.pod)] = pod
    return index


def gauge_integral(total: float, count: float, seconds: float | None, interval: int) -> float:
    """Integrate a gauge from the sum and number of its samples in the hour.

    The mean sample times the running time; the time is capped at one interval past what
    the samples cover, so a scrape gap is not billed. Without a known running time the
    samples stand for one interval each.
    """
    if count <= 0:
        return 0.0
    if seconds is None:
        return total * interval
    return total / count * min(seconds, (count + 1) * interval)


def usage_by_job(hour_start: datetime, hour: Hour, interval: int) -> dict[tuple, JobUsage]:
    """Return {(namespace, kind, name): JobUsage} for one hour."""
    jobs: dict[tuple, JobUsage] = {}

    def add(namespace, pod_name, quantity, value):
        pod = index.get((namespace, pod_name)) or PodFacts(namespace, pod_name, "")
        kind, name, parent_kind, parent_name = job_of(pod, hour)
        job = jobs.setdefault((namespace, kind, name), JobUsage(parent_kind, parent_name))
        job.parts[quantity].append(value)

    index = pods_by_name(hour)
    for pod in hour.pods.values():
        seconds = pod.running_seconds(hour_start)
        if seconds <= 0:
            continue
        add(
            pod.namespace, pod.pod, "cpu_request_core_seconds", pod.requests.get("cpu", 0) * seconds
        )
        add(
            pod.namespace,
            pod.pod,
            "memory_request_byte_seconds",
            pod.requests.get("memory", 0) * seconds,
        )
        add(pod.namespace, pod.pod, "gpu_seconds", pod.requests.get("nvidia_com_gpu", 0) * seconds)

    for quantity, per_pod in hour.counters.items():
        for (namespace, pod_name), values in per_pod.items():
            pod = index.get((namespace, pod_name))
            if quantity.startswith("network_") and pod is not None and pod.host_network:
                continue  # a hostNetwork pod's sandbox counts the whole node's traffic
            for value in values:
                add(namespace, pod_name, quantity, value)

    def add_gauge(namespace, pod_name, quantity, series, samples, down=0.0):
        """Integrate a gauge from its series' (sum, count) pairs of the hour."""
        pod = index.get((namespace, pod_name))
        seconds = max(0.0, pod.running_seconds(hour_start) - down) if pod else None
        total = math.fsum(t for t, _ in series)
        add(namespace, pod_name, quantity, gauge_integral(total, samples, seconds, interval))

    for (namespace, pod_name, container), series in hour.memory.items():
        # A container's instances follow each other: their samples add up.
        down = hour.downtime.get((namespace, pod_name, container), 0.0)
        samples = sum(c for _, c in series)
        add_gauge(namespace, pod_name, "memory_byte_seconds", series, samples, down)

    for (namespace, pod_name), series in hour.gpu_memory.items():
        # One series per GPU, all sampled together: a pod's sample times are one GPU's.
        samples = max(c for _, c in series)
        add_gauge(namespace, pod_name, "gpu_memory_mib_seconds", series, samples)

    for (namespace, claim), (size, seconds) in hour.pvcs.items():
        job = jobs.setdefault((namespace, "PersistentVolumeClaim", claim), JobUsage())
        job.parts["storage_byte_seconds"].append(size * seconds)
    return {key: job for key, job in jobs.items() if any(job.quantities.values())}
