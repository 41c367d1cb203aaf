"""What the queries said about one hour, and the running time they imply: no I/O here.

A pod runs from its first container's start (init containers included) until it leaves
Running: its completion time once the phase is terminal, never a container's FinishedAt
while the pod still runs (kube-state-metrics publishes that as kube_pod_completion_time as
soon as one container terminated). Requests follow Kubernetes' effective-request rule:
while classic init containers run, the largest one's request; after them, the app
containers plus the native sidecars (init containers with restartPolicy Always).

An hour's facts are completed from the next hour's (`borrow_unseen_starts`): what started
too late in the hour to be scraped in it is known from the following one.
"""

from collections import defaultdict
from dataclasses import dataclass, field, replace

from billing.collection.gaps import Gaps, overlap


@dataclass
class PodFacts:
    """What kube-state-metrics says about one pod in one hour (times in unix seconds)."""

    namespace: str
    pod: str
    uid: str
    node: str = ""
    seen_active: bool = False  # Running, or an init container running, in the hour
    active_at_end: bool = False
    terminal: bool = False  # seen Succeeded or Failed by the hour's end
    start: float | None = None  # kube_pod_start_time
    app_start: float | None = None  # first app container start
    init_starts: dict[str, float] = field(default_factory=dict)
    completion: float | None = None  # latest kube_pod_completion_time
    first_completion: float | None = None  # earliest value seen: an early container's end
    vanished: float | None = None
    # kube-state-metrics went silent (an unbridged gap) while the pod ran: its end is
    # unknown, and its gauges are billed for as long as their own samples go.
    end_hidden: bool = False
    host_network: bool = False
    owner_kind: str = ""
    owner_name: str = ""
    user: str = ""  # the pod label named by KUBEMON_USER_LABEL, "" without it
    requests: dict[str, float] = field(default_factory=dict)
    init_requests: dict[str, dict[str, float]] = field(default_factory=dict)
    sidecars: set[str] = field(default_factory=set)

    def first_start(self) -> float | None:
        starts = [*self.init_starts.values(), *([self.app_start] if self.app_start else [])]
        return min(starts) if starts else self.start

    def ended(self) -> bool:
        """Has the pod left Running for good (terminal phase and its completion known)?"""
        return self.terminal and self.completion is not None

    def ran_in(self, h0: float) -> bool:
        return self.seen_active or (self.ended() and self.completion >= h0)

    def interval(self, h0: float) -> tuple[float, float]:
        """The part of [h0, h0 + 1 h) during which the pod ran, as (lo, hi); lo >= hi: none."""
        h1 = h0 + 3600
        if not self.ran_in(h0):
            return h0, h0
        start = self.first_start() or h0
        if self.ended():
            end = self.completion
        elif self.active_at_end or self.vanished is None:
            end = h1
        else:
            end = self.vanished
        return max(start, h0), min(end, h1)

    def gauge_interval(self, h0: float) -> tuple[float, float]:
        """The interval over which the pod's gauges may be billed."""
        lo, hi = self.interval(h0)
        return (lo, h0 + 3600) if self.end_hidden and lo < hi else (lo, hi)

    def running_seconds(self, h0: float) -> float:
        lo, hi = self.interval(h0)
        return max(0.0, hi - lo)

    def request_seconds(self, h0: float) -> dict[str, float]:
        """Resource x seconds of the hour, per resource, by the effective-request rule."""
        lo, hi = self.interval(h0)
        if hi <= lo:
            return {}
        classic = {c: r for c, r in self.init_requests.items() if c not in self.sidecars}
        init_seconds = 0.0
        if classic:
            init_end = self.app_start if self.app_start is not None else hi
            init_seconds = overlap(lo, hi, self.first_start() or lo, init_end)
        app_seconds = hi - lo - init_seconds
        resources = set(self.requests).union(*classic.values(), *self.init_requests.values())
        out = {}
        for resource in resources:
            largest_init = max((r.get(resource, 0.0) for r in classic.values()), default=0.0)
            sidecars = sum(self.init_requests[c].get(resource, 0.0) for c in self.sidecars)
            steady = self.requests.get(resource, 0.0) + sidecars
            out[resource] = largest_init * init_seconds + steady * app_seconds
        return out


@dataclass
class InstanceFacts:
    """One container instance as cAdvisor reported it (one working-set series)."""

    namespace: str
    pod: str
    uid: str  # from the cgroup id; "" when it holds none
    container: str
    total: float = 0.0  # sum of the hour's working-set samples
    count: float = 0.0
    start: float | None = None  # container_start_time_seconds
    live_at_end: bool = False


@dataclass
class Hour:
    """Everything the queries said about one hour."""

    pods: dict[tuple[str, str, str], PodFacts] = field(default_factory=dict)
    # Per-series values, added up later with math.fsum so that order does not matter:
    # counter increases per (quantity, namespace, pod).
    counters: dict[str, dict[tuple[str, str], list[float]]] = field(
        default_factory=lambda: defaultdict(lambda: defaultdict(list))
    )
    instances: dict[str, InstanceFacts] = field(default_factory=dict)
    # GPU memory per pod: (sum, count) of each device series, or raw samples per device
    # series for pods that did not run the whole hour.
    gpu_memory: dict[tuple[str, str], list[tuple[float, float]]] = field(
        default_factory=lambda: defaultdict(list)
    )
    gpu_samples: dict[tuple[str, str], dict[tuple, list[tuple[float, float]]]] = field(
        default_factory=dict
    )
    # Per bridged gap of a kubelet or dcgm-exporter: each series' levels on either side.
    gap_levels: dict = field(default_factory=dict)
    # Pods whose GPU memory level comes from the following hour's samples.
    borrowed: set[tuple[str, str]] = field(default_factory=set)
    # Ends of restarted containers' previous instances, per (namespace, pod, container).
    terminations: dict[tuple[str, str, str], set[float]] = field(
        default_factory=lambda: defaultdict(set)
    )
    replicaset_owner: dict[tuple[str, str], tuple[str, str]] = field(default_factory=dict)
    job_parent: dict[tuple[str, str], tuple[str, str]] = field(default_factory=dict)
    namespace_label: dict[str, str] = field(default_factory=dict)
    pvcs: dict[tuple[str, str], tuple[float, float]] = field(default_factory=dict)
    gaps: Gaps = field(default_factory=lambda: Gaps([]))
    # The chunk's GPUs by (node, UUID): energy and activity samples (collection/energy.py).
    gpu_devices: dict = field(default_factory=dict)

    def pod(self, labels: dict) -> PodFacts:
        key = (labels.get("namespace", ""), labels.get("pod", ""), labels.get("uid", ""))
        if key not in self.pods:
            self.pods[key] = PodFacts(*key)
        return self.pods[key]


def counter_increase(previous: float, values: list[float]) -> float:
    """Exact increase of a counter: a drop means a reset, after which the value counts."""
    total, last = 0.0, previous
    for value in values:
        total += value - last if value >= last else value
        last = value
    return total


def borrow_unseen_starts(hour: Hour, following: Hour, h0: float) -> None:
    """Complete an hour with what started in it unseen, as the following hour tells it.

    A pod that started inside a kube-state-metrics gap reaching past the hour's end, or
    just before the end, is known only from the next hour, with its exact start. A
    container started less than an interval before the end may have no sample in the
    hour; its first samples, in the following hour, give its level. Likewise a GPU pod's
    memory. Instances seen in the following hour ran through the hour's end.
    """
    h1 = h0 + 3600
    for key, pod in following.pods.items():
        start = pod.first_start()
        if key in hour.pods or start is None or start >= h1:
            continue
        ended = pod.ended() and pod.completion < h1
        hour.pods[key] = replace(pod, seen_active=True, active_at_end=not ended, terminal=ended)
    for owners, later in (
        (hour.replicaset_owner, following.replicaset_owner),
        (hour.job_parent, following.job_parent),
        (hour.namespace_label, following.namespace_label),
    ):
        for key, value in later.items():
            owners.setdefault(key, value)
    for key, inst in hour.instances.items():
        # A series is one container instance: seen after the hour, it ran through its end.
        inst.live_at_end = key in following.instances
    for key, inst in following.instances.items():
        if key not in hour.instances and inst.start and h0 <= inst.start < h0 + 3600:
            hour.instances[key] = replace(
                inst, total=inst.total / inst.count, count=1.0, live_at_end=True
            )
    names = {(p.namespace, p.pod) for p in hour.pods.values() if p.running_seconds(h0) > 0}
    for key, series in following.gpu_memory.items():
        if key not in hour.gpu_memory and key in names:
            hour.gpu_memory[key] = [(total / count, 1.0) for total, count in series if count]
            hour.borrowed.add(key)


def start_from_containers(hour: Hour) -> None:
    """Date pods that kube-state-metrics never saw with a started container by cAdvisor.

    A pod that ran entirely inside a kube-state-metrics gap is seen afterwards completed,
    with no container start (before KSM 2.2); its containers' cgroups tell when they began.
    """
    starts: dict[tuple[str, str, str], float] = {}
    for inst in hour.instances.values():
        if inst.start:
            key = (inst.namespace, inst.pod, inst.uid)
            starts[key] = earliest(starts.get(key), inst.start)
    for pod in hour.pods.values():
        if pod.app_start is None and not pod.init_starts:
            pod.app_start = starts.get((pod.namespace, pod.pod, pod.uid))


def earliest(current: float | None, value: float) -> float:
    return value if current is None else min(current, value)
