"""Plain data objects of the simulated cluster.

All object times are integer epoch seconds (UTC); `None` means "never" (not yet deleted).
Usage levels hang off container instances, sandboxes, nodes and GPUs as `Levels` objects built
lazily from their stable key, so constructing objects is cheap.
"""

from dataclasses import dataclass, field

from simulator.levels import Levels

PAUSE_IMAGE = {"containerd": "registry.k8s.io/pause:3.9", "docker": "registry.k8s.io/pause:3.6"}


@dataclass(slots=True)
class Node:
    name: str
    index: int
    cpu: int  # cores
    memory: int  # bytes
    gpus: int
    ip: str
    boot: int
    key: str  # "<seed>:<name>": node levels differ between seeds
    gpu_model: str = "NVIDIA A100-SXM4-80GB"
    # how the GPUs are offered: "exclusive" (nvidia.com/gpu), "mig" (MIG slices) or "shared"
    # (time-sliced replicas, nvidia.com/gpu.shared)
    gpu_mode: str = "exclusive"

    def levels(self, quantity: str, lo: int, hi: int) -> Levels:
        """Weekly-periodic levels of a node-wide quantity (system usage, host traffic)."""
        return _cached(f"node:{self.key}:{quantity}", lo, hi, self.boot)


@dataclass(slots=True)
class Namespace:
    name: str
    cost_center: str | None  # value of the `epfl.ch/cost-center` label, None when unlabelled


@dataclass(slots=True)
class Instance:
    """One run of one container: a new instance (new id) after every restart."""

    id: str
    start: int
    end: int | None
    restart: int  # restart count of the container when this instance started
    cpu_m: int  # typical CPU rate, millicores
    mem: int  # typical working set, bytes
    periodic: bool = False
    level_key: str = ""  # shared by all instances of a long-running container (default: id)
    _levels: dict = field(default_factory=dict, repr=False)

    def levels(self, quantity: str) -> Levels:
        """Per-minute levels of cpu (millicores), ws (bytes), pgfault/pgmajfault (per s)."""
        lv = self._levels.get(quantity)
        if lv is None:
            lo, hi = _INSTANCE_RANGES[quantity](self)
            key = f"{self.level_key or self.id}:{quantity}"
            lv = Levels(key, lo, hi, self.start * 1000, self.periodic, quantity == "ws")
            self._levels[quantity] = lv
        return lv


_INSTANCE_RANGES = {
    "cpu": lambda i: (max(1, i.cpu_m * 3 // 10), max(2, i.cpu_m)),
    "ws": lambda i: (i.mem * 6 // 10, i.mem),
    "pgfault": lambda i: (5, 400),
    "pgmajfault": lambda i: (-6, 2),
}


@dataclass(slots=True)
class Container:
    name: str
    image: str
    requests: dict[str, float]  # resource name as KSM prints it -> value (cpu cores, bytes, count)
    limits: dict[str, float]
    instances: list[Instance]
    gpus: list[int] = field(default_factory=list)  # GPU indexes on the node
    # MIG node: (gpu, GPU instance id); shared node: (gpu, replica index)
    slices: list[tuple[int, int]] = field(default_factory=list)
    restart_policy: str = ""  # init containers: "Always" marks a native sidecar


@dataclass(slots=True)
class Workload:
    """The billable item: a Job, Deployment, StatefulSet, DaemonSet or bare Pod."""

    namespace: str
    kind: str
    name: str
    parent_kind: str | None = None  # CronJob for scheduled Jobs, else None
    parent_name: str | None = None
    created: int = 0


@dataclass(slots=True)
class Pod:
    name: str
    uid: str
    namespace: str
    node: str
    workload: Workload
    owner_kind: str | None  # direct owner as in kube_pod_owner (ReplicaSet, Job, ...)
    owner_name: str | None
    created: int
    running: int  # sandbox and containers start; [created, running) is Pending
    completed: int | None  # all containers ended (Succeeded/Failed); None while long-running
    deleted: int | None
    final_phase: str | None  # "Succeeded" / "Failed" / None
    containers: list[Container]
    host_network: bool = False
    ip: str = ""
    sandbox_id: str = ""
    # init containers, in spec order; they run before `containers` (native sidecars: on)
    init_containers: list[Container] = field(default_factory=list)
    scheduled: int | None = None  # when the pod got its node; None: at creation
    initialized: int | None = None  # phase Running from then (init done); None: `running`
    periodic: bool = False  # long-running: weekly-periodic usage levels
    # counters (cpu: level x ms; faults: counts) of container instances older than `containers`
    # lists, which the pod cgroup still accounts for
    past: dict = field(default_factory=dict, repr=False)
    _levels: dict = field(default_factory=dict, repr=False)

    def sandbox_end(self) -> int | None:
        """The sandbox (pause container) lives from `running` until all containers ended."""
        return self.completed

    def levels(self, quantity: str, lo: int, hi: int, smooth: bool = False) -> Levels:
        """Per-minute levels of the sandbox (network rates, pause CPU/memory) and GPUs."""
        lv = self._levels.get(quantity)
        if lv is None:
            key = f"{self.sandbox_id}:{quantity}"
            lv = Levels(key, lo, hi, self.running * 1000, self.periodic, smooth)
            self._levels[quantity] = lv
        return lv

    def scheduled_at(self) -> int | None:
        """When the pod got a node (None: never; it is deleted while unscheduled)."""
        if not self.node:
            return None
        return self.created if self.scheduled is None else self.scheduled

    def all_containers(self) -> list[Container]:
        """Init containers then app containers: every container the kubelet runs."""
        return self.init_containers + self.containers if self.init_containers else self.containers

    def phase_at(self, t: float) -> str | None:
        """The pod phase at time t (epoch seconds), None when the pod does not exist."""
        if t < self.created or (self.deleted is not None and t >= self.deleted):
            return None
        if t < (self.running if self.initialized is None else self.initialized):
            return "Pending"
        if self.completed is None or t < self.completed:
            return "Running"
        return self.final_phase


@dataclass(slots=True)
class PVC:
    namespace: str
    name: str
    storage: int  # requested bytes
    created: int
    deleted: int | None
    storage_class: str = "standard"
    volume: str = ""
    workload: str = ""


_NODE_LEVELS: dict[str, Levels] = {}


def _cached(key: str, lo: int, hi: int, origin_s: int) -> Levels:
    """Share node-level Levels by key (nodes are slotted dataclasses without a cache field)."""
    full = f"{key}:{lo}:{hi}"
    lv = _NODE_LEVELS.get(full)
    if lv is None:
        lv = Levels(key, lo, hi, origin_s * 1000, periodic=True)
        _NODE_LEVELS[full] = lv
    return lv
