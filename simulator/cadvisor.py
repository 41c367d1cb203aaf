"""cAdvisor series of one node as the kubelet's /metrics/cadvisor exposes them.

Per pod: one series per container instance (while it runs), the sandbox (pause container; the
only one carrying `container_network_*`), and the pod cgroup (container="" image="", the sum of
the sandbox and all containers). Per node: the root cgroup id="/" (node totals, host interfaces,
`container_fs_*` per device) and `machine_*`. `containerd` uses systemd cgroup ids and has no
`container_fs_*` on containers; `docker` uses cgroupfs ids, an infra container="POD" and does.

`series()` yields (labels, i0, values): values[k] is the sample at scrape time times[i0 + k].
"""

from bisect import bisect_left

from simulator.levels import stable_int
from simulator.model import PAUSE_IMAGE, Instance, Node, Pod
from simulator.pods import qos_class

FAMILIES = [  # (name, type, help) in exposition order
    ("container_cpu_usage_seconds_total", "counter", "Cumulative cpu time consumed in seconds."),
    ("container_fs_inodes_free", "gauge", "Number of available Inodes"),
    ("container_fs_inodes_total", "gauge", "Number of Inodes"),
    (
        "container_fs_limit_bytes",
        "gauge",
        "Number of bytes that can be consumed by the container on this filesystem.",
    ),
    (
        "container_fs_usage_bytes",
        "gauge",
        "Number of bytes that are consumed by the container on this filesystem.",
    ),
    ("container_memory_cache", "gauge", "Number of bytes of page cache memory."),
    (
        "container_memory_failures_total",
        "counter",
        "Cumulative count of memory allocation failures.",
    ),
    ("container_memory_rss", "gauge", "Size of RSS in bytes."),
    (
        "container_memory_usage_bytes",
        "gauge",
        "Current memory usage in bytes, including all memory regardless of when it was accessed",
    ),
    ("container_memory_working_set_bytes", "gauge", "Current working set in bytes."),
    ("container_network_receive_bytes_total", "counter", "Cumulative count of bytes received"),
    (
        "container_network_receive_errors_total",
        "counter",
        "Cumulative count of errors encountered while receiving",
    ),
    ("container_network_transmit_bytes_total", "counter", "Cumulative count of bytes transmitted"),
    (
        "container_network_transmit_errors_total",
        "counter",
        "Cumulative count of errors encountered while transmitting",
    ),
    (
        "container_start_time_seconds",
        "gauge",
        "Start time of the container since unix epoch in seconds.",
    ),
    ("machine_cpu_cores", "gauge", "Number of logical CPU cores."),
    ("machine_memory_bytes", "gauge", "Amount of memory installed on the machine."),
]
MEMORY = {
    "container_memory_cache",
    "container_memory_rss",
    "container_memory_usage_bytes",
    "container_memory_working_set_bytes",
}
NETWORK = {  # family -> (sandbox/host levels quantity, lo, hi) in units per second
    "container_network_receive_bytes_total": ("rx", 500, 2_000_000),
    "container_network_transmit_bytes_total": ("tx", 200, 800_000),
    "container_network_receive_errors_total": ("rx_err", -400, 1),
    "container_network_transmit_errors_total": ("tx_err", -600, 1),
}
FS_FAMILIES = {
    "container_fs_inodes_free",
    "container_fs_inodes_total",
    "container_fs_limit_bytes",
    "container_fs_usage_bytes",
}
DEVICE = "/dev/nvme0n1p1"
DISK = 480 * 1000**3
INODES = 30_000_000
PAUSE_CPU, PAUSE_WS = (1, 3), (350_000, 900_000)  # millicores, bytes


def memory_view(family: str, ws: int) -> int:
    """usage = working set + inactive file; rss + cache = usage (active file is in the ws)."""
    inactive = (ws // 8) & ~4095
    active = (ws // 16) & ~4095
    if family == "container_memory_working_set_bytes":
        return ws
    if family == "container_memory_usage_bytes":
        return ws + inactive
    if family == "container_memory_rss":
        return ws - active
    return active + inactive  # container_memory_cache


def counter_values(lv, origin_ms: int, times, end_ms: int | None, div: int):
    """Exact counter values at `times` since origin; flat after end_ms (ints unless div=1e6)."""
    p0 = lv.prefix(origin_ms)
    if end_ms is not None:
        times = [min(t, end_ms) for t in times]
    if div == 1_000_000:
        return [(p - p0) / 1e6 for p in lv.prefixes(times)]
    return [(p - p0) // div for p in lv.prefixes(times)]


def _span(times, start_s: int, end_s: int | None) -> tuple[int, int]:
    i0 = bisect_left(times, start_s * 1000)
    i1 = len(times) if end_s is None else bisect_left(times, end_s * 1000)
    return i0, i1


class PodCgroups:
    """Cgroup ids and names of one pod for the cluster's runtime flavour."""

    def __init__(self, pod: Pod, flavour: str):
        self.pod, self.flavour = pod, flavour
        uid = pod.uid
        if flavour == "containerd":
            u = uid.replace("-", "_")
            q = qos_class(pod.all_containers())
            if q == "guaranteed":
                self.id = f"/kubepods.slice/kubepods-pod{u}.slice"
            else:
                self.id = f"/kubepods.slice/kubepods-{q}.slice/kubepods-{q}-pod{u}.slice"
        else:
            q = qos_class(pod.all_containers())
            qos = "" if q == "guaranteed" else f"/{q}"
            self.id = f"/kubepods{qos}/pod{uid}"

    def labels(self, container: str, cid: str, image: str, name: str) -> dict:
        return {
            "container": container,
            "id": cid,
            "image": image,
            "name": name,
            "namespace": self.pod.namespace,
            "pod": self.pod.name,
        }

    def pod_labels(self) -> dict:
        return self.labels("", self.id, "", "")

    def sandbox_labels(self) -> dict:
        pod, sid = self.pod, self.pod.sandbox_id
        if self.flavour == "containerd":
            cid = f"{self.id}/cri-containerd-{sid}.scope"
            return self.labels("", cid, PAUSE_IMAGE["containerd"], sid)
        name = f"k8s_POD_{pod.name}_{pod.namespace}_{pod.uid}_0"
        return self.labels("POD", f"{self.id}/{sid}", PAUSE_IMAGE["docker"], name)

    def instance_labels(self, cname: str, image: str, inst: Instance) -> dict:
        if self.flavour == "containerd":
            return self.labels(cname, f"{self.id}/cri-containerd-{inst.id}.scope", image, inst.id)
        pod = self.pod
        name = f"k8s_{cname}_{pod.name}_{pod.namespace}_{pod.uid}_{inst.restart}"
        return self.labels(cname, f"{self.id}/{inst.id}", image, name)


ROOT = {"container": "", "id": "/", "image": "", "name": "", "namespace": "", "pod": ""}


def _instances(pod: Pod):
    """Every container instance of the pod, init containers (classic and native) included."""
    for c in pod.all_containers():
        for inst in c.instances:
            yield c, inst


def _instance_values(family: str, inst: Instance, times, i0: int, i1: int, extra: dict):
    """Values of a container instance for families other than network."""
    ts = times[i0:i1]
    if family == "container_cpu_usage_seconds_total":
        return counter_values(inst.levels("cpu"), inst.start * 1000, ts, None, 1_000_000)
    if family in MEMORY:
        return [memory_view(family, v) for v in inst.levels("ws").values(ts)]
    if family == "container_memory_failures_total":
        lv = inst.levels(extra["failure_type"])
        return counter_values(lv, inst.start * 1000, ts, None, 1000)
    if family == "container_start_time_seconds":
        return [inst.start] * len(ts)
    return [_fs_value(family, stable_int(inst.id) % 2_000_000 * 4096)] * len(ts)


def _fs_value(family: str, used: int) -> int:
    if family == "container_fs_usage_bytes":
        return used
    if family == "container_fs_limit_bytes":
        return DISK
    if family == "container_fs_inodes_total":
        return INODES
    return INODES - used // 16384  # inodes_free


def _sandbox_values(family: str, pod: Pod, node: Node, times, extra: dict):
    """Values of the sandbox (pause) for `times` inside its life."""
    if family == "container_cpu_usage_seconds_total":
        return counter_values(
            pod.levels("pause_cpu", *PAUSE_CPU), pod.running * 1000, times, None, 1_000_000
        )
    if family in MEMORY:
        return [memory_view(family, v) for v in pod.levels("pause_ws", *PAUSE_WS).values(times)]
    if family == "container_memory_failures_total":
        lv = pod.levels("pause_" + extra["failure_type"], 0, 2)
        return counter_values(lv, pod.running * 1000, times, None, 1000)
    if family in NETWORK:
        q, lo, hi = NETWORK[family]
        if pod.host_network:  # the sandbox sees the node's interfaces: whole-node traffic
            return counter_values(
                node.levels(q, lo * 20, hi * 20), node.boot * 1000, times, None, 1000
            )
        return counter_values(pod.levels(q, lo, hi), pod.running * 1000, times, None, 1000)
    if family == "container_start_time_seconds":
        return [pod.running] * len(times)
    return [_fs_value(family, 1_200_000)] * len(times)


def _pod_values(family: str, pod: Pod, node: Node, times, extra: dict):
    """The pod cgroup: sandbox plus every container instance (ended ones keep their usage)."""
    if family == "container_start_time_seconds":
        return [pod.running] * len(times)
    is_counter = family in ("container_cpu_usage_seconds_total", "container_memory_failures_total")
    if is_counter and extra.get("scope") == "container":
        return [0] * len(times)  # no process lives directly in the pod cgroup
    if family == "container_cpu_usage_seconds_total":
        acc = _counter_sum(pod, times, "cpu", ("pause_cpu", *PAUSE_CPU))
        return [a / 1e6 for a in acc]
    if family == "container_memory_failures_total":
        ft = extra["failure_type"]
        parts = [
            _sandbox_values(family, pod, node, times, extra),
            [pod.past.get(ft, 0)] * len(times),
        ]
        for _, inst in _instances(pod):
            parts.append(
                _padded(
                    times,
                    inst,
                    lambda ts, inst=inst: counter_values(
                        inst.levels(ft), inst.start * 1000, ts, inst.end and inst.end * 1000, 1000
                    ),
                )
            )
        return [sum(col) for col in zip(*parts, strict=True)]
    # memory gauges: sandbox + running instances
    parts = [_sandbox_values(family, pod, node, times, extra)]
    for _, inst in _instances(pod):
        i0, i1 = _span(times, inst.start, inst.end)
        if i0 < i1:
            vals = _instance_values(family, inst, times, i0, i1, extra)
            parts.append([0] * i0 + vals + [0] * (len(times) - i1))
    return [sum(col) for col in zip(*parts, strict=True)]


def _padded(times, inst: Instance, values_for):
    """Counter values of an instance over all `times`: 0 before it starts."""
    i0 = bisect_left(times, inst.start * 1000)
    return [0] * i0 + values_for(times[i0:])


def _counter_sum(pod: Pod, times, quantity: str, sandbox: tuple) -> list[int]:
    """Integer sum (level x ms) of the sandbox's and all instances' cumulative usage."""
    lv = pod.levels(*sandbox)
    p0 = lv.prefix(pod.running * 1000)
    past = pod.past.get(quantity, 0)
    acc = [p - p0 + past for p in lv.prefixes(times)]
    for _, inst in _instances(pod):
        lv = inst.levels(quantity)
        s, e = inst.start * 1000, (inst.end * 1000 if inst.end is not None else None)
        p0 = lv.prefix(s)
        j0 = bisect_left(times, s)
        ts = times[j0:] if e is None else [min(t, e) for t in times[j0:]]
        for j, p in enumerate(lv.prefixes(ts), j0):
            acc[j] += p - p0
    return acc


def _extras(family: str):
    """The metric-specific label combinations of a family (cpu, failure_type/scope, ...)."""
    if family == "container_cpu_usage_seconds_total":
        return [{"cpu": "total"}]
    if family == "container_memory_failures_total":
        return [
            {"failure_type": f, "scope": s}
            for f in ("pgfault", "pgmajfault")
            for s in ("container", "hierarchy")
        ]
    if family in NETWORK:
        return [{"interface": "eth0"}]
    if family in FS_FAMILIES:
        return [{"device": DEVICE}]
    return [{}]


def series(flavour: str, node: Node, pods: list[Pod], family: str, times: list[int]):
    """Yield (labels, i0, values) of `family` on `node` for the sorted scrape `times`."""
    if not times:
        return
    if family.startswith("machine_"):
        value = node.cpu if family == "machine_cpu_cores" else node.memory
        labels = {
            "boot_id": f"boot-{node.key}",
            "machine_id": f"machine-{node.name}",
            "system_uuid": f"uuid-{node.name}",
        }
        yield labels, 0, [value] * len(times)
        return
    for extra in _extras(family):
        for pod in pods:
            if pod.node != node.name or pod.completed is not None and pod.completed <= pod.running:
                continue
            i0, i1 = _span(times, pod.running, pod.completed)
            if i0 >= i1:
                continue
            cg = PodCgroups(pod, flavour)
            ts = times[i0:i1]
            if family not in NETWORK and family not in FS_FAMILIES:
                yield {**cg.pod_labels(), **extra}, i0, _pod_values(family, pod, node, ts, extra)
            if family not in FS_FAMILIES:
                yield (
                    {**cg.sandbox_labels(), **extra},
                    i0,
                    _sandbox_values(family, pod, node, ts, extra),
                )
            if family in NETWORK or (family in FS_FAMILIES and flavour == "containerd"):
                continue
            for c, inst in _instances(pod):
                j0, j1 = _span(times, inst.start, inst.end)
                if j0 < j1:
                    yield (
                        {**cg.instance_labels(c.name, c.image, inst), **extra},
                        j0,
                        _instance_values(family, inst, times, j0, j1, extra),
                    )
        yield {**ROOT, **extra}, 0, _root_values(family, node, times, extra)


def _root_values(family: str, node: Node, times, extra: dict):
    """Node totals of the root cgroup (its own weekly-periodic levels) and host interfaces."""
    boot = node.boot * 1000
    if family == "container_cpu_usage_seconds_total":
        lv = node.levels("cpu", node.cpu * 100, node.cpu * 700)
        return counter_values(lv, boot, times, None, 1_000_000)
    if family in MEMORY:
        lv = node.levels("ws", node.memory // 10, node.memory // 2)
        return [memory_view(family, v) for v in lv.values(times)]
    if family == "container_memory_failures_total":
        lo, hi = (100, 20_000) if extra["failure_type"] == "pgfault" else (0, 20)
        lv = node.levels(extra["failure_type"], lo, hi)
        return counter_values(lv, boot, times, None, 1000)
    if family in NETWORK:
        q, lo, hi = NETWORK[family]
        return counter_values(node.levels(q, lo * 20, hi * 20), boot, times, None, 1000)
    if family == "container_start_time_seconds":
        return [node.boot] * len(times)
    lv = node.levels("fs", 40 * 10**9 // 4096, 200 * 10**9 // 4096)
    return [_fs_value(family, v * 4096) for v in lv.values(times)]
