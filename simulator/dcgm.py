"""NVIDIA dcgm-exporter series of one GPU node (Kubernetes mode, no timestamps).

Exclusive GPUs (device-to-pod mapping): a GPU held by a running pod carries that pod's `pod`,
`namespace`, `container` labels and the pod's usage; an unallocated GPU has no pod labels. So
one device yields several series over time: one per holder plus the unallocated one (index
lists, not contiguous runs). MIG GPUs do the same per GPU instance (`GPU_I_PROFILE`,
`GPU_I_ID`, no GPU_UTIL). Shared (time-sliced) GPUs follow the virtual-GPU mode
(KubernetesVirtualGPUs): FB_USED and GPU_UTIL per pod with `pod_uid` and `vgpu` (the replica)
carrying that pod's own processes, plus the device-level series with the device total; other
fields are copied per listed pod with the device's value.

Power, the energy counter and GR_ENGINE_ACTIVE (simulator/energy.py) are device-level: one
counter per physical GPU (UUID) whose series change labels at every hand-over like the others;
MIG instances report their whole GPU's power and energy (dcgm-exporter #257) but their own
GR_ENGINE_ACTIVE; in virtual-GPU mode they are copied per listed pod. GR_ENGINE_ACTIVE only
for models with profiling fields.

Behaviours: `idle-gpu-memory` makes unallocated devices report a few MiB (0 otherwise);
`stale-gpu-labels` keeps a finished pod listed on its devices for 0-20 min, at idle memory (at
0 in virtual-GPU mode, where a pod without processes reads 0).
"""

from bisect import bisect_left

from simulator import energy, gpus
from simulator.levels import hex_id
from simulator.model import Node, Pod

FAMILIES = [
    ("DCGM_FI_DEV_FB_FREE", "gauge", "Framebuffer memory free (in MiB)."),
    ("DCGM_FI_DEV_FB_USED", "gauge", "Framebuffer memory used (in MiB)."),
    ("DCGM_FI_DEV_GPU_UTIL", "gauge", "GPU utilization (in %)."),
    # energy (etc/default-counters.csv): whole-GPU values, also on MIG instances (#257)
    ("DCGM_FI_DEV_POWER_USAGE", "gauge", "Power draw (in W)."),
    (
        "DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION",
        "counter",
        "Total energy consumption since boot (in mJ).",
    ),
    ("DCGM_FI_PROF_GR_ENGINE_ACTIVE", "gauge", "Ratio of time the graphics engine is active."),
]
ENERGY_FAMILIES = {
    "DCGM_FI_DEV_POWER_USAGE",
    "DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION",
    "DCGM_FI_PROF_GR_ENGINE_ACTIVE",
}
FB_TOTAL, FB_RESERVED = 81_920, 563  # MiB of an A100 80GB
FB_USED = (2_000, 78_000)
SHARED_FB_USED = (1_000, 18_000)  # per pod on a shared GPU: four pods fit in 80 GB
DRIVER = "550.54.15"


def gpu_labels(seed: int, node: Node, gpu: int) -> dict:
    """Device labels as dcgm-exporter renders them (Hostname from NODE_NAME)."""
    h = hex_id(seed, node.name, "gpu", gpu, length=32)
    return {
        "gpu": str(gpu),
        "UUID": f"GPU-{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:32]}",
        "pci_bus_id": f"00000000:{0x10 + gpu * 0x10:02X}:00.0",
        "device": f"nvidia{gpu}",
        "modelName": node.gpu_model,
        "Hostname": node.name,
        "DCGM_FI_DRIVER_VERSION": DRIVER,
    }


def _mig_labels(seed: int, node: Node, gpu: int, instance: int) -> dict:
    base = gpu_labels(seed, node, gpu)
    profile = gpus.mig_profile(node, gpu, instance)
    return {**base, "GPU_I_PROFILE": profile, "GPU_I_ID": str(instance)}


def holders(node: Node, pods: list[Pod]) -> dict:
    """Device -> [(pod, container)] of the pods holding it, in pod order.

    A device is a GPU index (exclusive node) or a (gpu, instance) slice (MIG, shared).
    """
    sliced = node.gpu_mode != "exclusive"
    out: dict = {}
    for p in pods:
        if p.node != node.name:
            continue
        for c in p.containers:
            for d in c.slices if sliced else c.gpus:
                out.setdefault(d, []).append((p, c.name))
    return out


def fb_levels(pod: Pod, gpu: int):
    return pod.levels(f"fb{gpu}", *FB_USED, smooth=True)


def slice_fb_levels(node: Node, pod: Pod, gpu: int, instance: int):
    """FB used (MiB) of a pod on a MIG instance (bounded by its memory) or shared replica."""
    if node.gpu_mode == "mig":
        total = gpus.MIG_MEMORY_MIB[gpus.mig_profile(node, gpu, instance)]
        lo, hi = total // 20, total * 19 // 20
    else:
        lo, hi = SHARED_FB_USED
    return pod.levels(f"fb{gpu}:{instance}", lo, hi, smooth=True)


def _idx(times, a: int, b: int | None) -> list[int]:
    """Indexes of the times in [a, b) seconds."""
    i0 = bisect_left(times, a * 1000)
    i1 = len(times) if b is None else bisect_left(times, b * 1000)
    return list(range(i0, max(i0, i1)))


def _listed(held, times, stale: bool):
    """(pod, container, running indexes, stale indexes) of a device's holders.

    A finished pod stays listed (stale) for `stale_seconds` unless the device has a new
    holder or the pod is deleted first.
    """
    out = []
    for pod, cname in held:
        run = _idx(times, pod.running, pod.completed)
        late = []
        if stale and pod.completed is not None:
            nxt = [p.running for p, _ in held if p.running >= pod.completed]
            ends = [pod.completed + gpus.stale_seconds(pod), *nxt, pod.deleted or pod.completed]
            late = _idx(times, pod.completed, min(ends))
        out.append((pod, cname, run, late))
    return out


def _pod_labels(pod: Pod, cname: str) -> dict:
    return {"container": cname, "namespace": pod.namespace, "pod": pod.name}


def _device_values(family: str, total: int, used: list[int], util: list[int]) -> list[int]:
    if family == "DCGM_FI_DEV_FB_USED":
        return used
    if family == "DCGM_FI_DEV_FB_FREE":
        return [total - v for v in used]
    return util


def series(seed: int, node: Node, pods: list[Pod], family: str, times: list[int], behaviours=()):
    """Yield (labels, index, values): index is a list of time indexes (a device changes hands)."""
    if not times:
        return
    idle = "idle-gpu-memory" in behaviours
    stale = "stale-gpu-labels" in behaviours
    held = holders(node, pods)
    if family in ENERGY_FAMILIES:
        yield from _energy_series(seed, node, held, family, times, behaviours)
        return
    if node.gpu_mode == "shared":
        for gpu in range(node.gpus):
            yield from _shared(seed, node, gpu, held, family, times, idle, stale)
        return
    if node.gpu_mode == "mig":
        if family == "DCGM_FI_DEV_GPU_UTIL":  # not supported for GPU instances
            return
        devices = [(g, gi) for g in range(node.gpus) for gi, _ in gpus.mig_layout(node, g)]
    else:
        devices = list(range(node.gpus))
    for dev in devices:
        if node.gpu_mode == "mig":
            base = _mig_labels(seed, node, *dev)
            total = gpus.MIG_MEMORY_MIB[base["GPU_I_PROFILE"]]
            idle_v = gpus.idle_mib(node, *dev) if idle else 0
        else:
            base = gpu_labels(seed, node, dev)
            total = FB_TOTAL - FB_RESERVED
            idle_v = gpus.idle_mib(node, dev) if idle else 0
        taken: set[int] = set()
        for pod, cname, run, late in _listed(held.get(dev, []), times, stale):
            if run or late:
                taken.update(run, late)
                ts = [times[i] for i in run]
                if node.gpu_mode == "mig":
                    used = slice_fb_levels(node, pod, *dev).values(ts)
                    util = []
                else:
                    used = fb_levels(pod, dev).values(ts)
                    util = gpus.util_levels(pod, dev).values(ts) if family.endswith("UTIL") else []
                used += [idle_v] * len(late)
                util += [0] * len(late)
                labels = {**base, **_pod_labels(pod, cname)}
                yield labels, run + late, _device_values(family, total, used, util)
        free = [i for i in range(len(times)) if i not in taken]
        if free:
            n = len(free)
            yield base, free, _device_values(family, total, [idle_v] * n, [0] * n)


def _shared(seed, node: Node, gpu: int, held: dict, family: str, times, idle: bool, stale: bool):
    """One time-sliced GPU in virtual-GPU mode: per-pod series and the device-level one."""
    base = gpu_labels(seed, node, gpu)
    n = len(times)
    total = FB_TOTAL - FB_RESERVED
    used = [gpus.idle_mib(node, gpu) if idle else 0] * n
    util = [0] * n
    listed = [0] * n
    per_pod = []
    for replica in range(gpus.SHARED_REPLICAS):
        for pod, cname, run, late in _listed(held.get((gpu, replica), []), times, stale):
            ts = [times[i] for i in run]
            fb = slice_fb_levels(node, pod, gpu, replica).values(ts)
            ut = gpus.util_levels(pod, gpu).values(ts)
            for i, f, u in zip(run, fb, ut, strict=True):
                used[i] += f
                util[i] = min(100, util[i] + u)
            for i in run + late:
                listed[i] += 1
            if run or late:
                labels = {**base, **_pod_labels(pod, cname)}
                per_pod.append((labels, pod.uid, replica, run + late, fb, ut, len(late)))
    if family == "DCGM_FI_DEV_FB_FREE":  # not per process: copied per listed pod
        for labels, _, replica, index, *_ in per_pod:
            yield {**labels, "vgpu": str(replica)}, index, [total - used[i] for i in index]
        alone = [i for i in range(n) if not listed[i]]
        if alone:
            yield base, alone, [total - used[i] for i in alone]
        return
    device = used if family == "DCGM_FI_DEV_FB_USED" else util
    yield base, 0, device
    for labels, uid, replica, index, fb, ut, n_late in per_pod:
        own = fb if family == "DCGM_FI_DEV_FB_USED" else ut
        labels = {**labels, "pod_uid": uid, "vgpu": str(replica)}
        yield labels, index, own + [0] * n_late


def _ratio(permille: int) -> str:
    """A DCGM double as the exporter prints it (%f): 0.734000."""
    return f"{permille // 1000}.{permille % 1000:03d}000"


def _energy_series(seed, node: Node, held: dict, family: str, times, behaviours):
    """Power, energy counter and GR_ENGINE_ACTIVE of the node's devices, as `series` yields.

    Values are the physical GPU's (a MIG instance reports its whole GPU's power and energy),
    except GR_ENGINE_ACTIVE on a MIG instance, which is the instance's own.
    """
    power = energy.node_power(seed, node, behaviours)
    if family == "DCGM_FI_PROF_GR_ENGINE_ACTIVE" and not power.model.profiling:
        return
    stale = "stale-gpu-labels" in behaviours
    arrays: dict = {}

    def device(gpu: int) -> list:
        if gpu not in arrays:
            if family == "DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION":
                arrays[gpu] = power.counter(gpu, times)
            elif family == "DCGM_FI_DEV_POWER_USAGE":
                arrays[gpu] = [f"{w}.000000" for w in power.power(gpu, times)]
            else:
                arrays[gpu] = [_ratio(v) for v in power.gr_active(gpu, times)]
        return arrays[gpu]

    if node.gpu_mode == "shared":
        for gpu in range(node.gpus):
            yield from _shared_copies(seed, node, gpu, held, times, stale, device(gpu))
        return
    mig = node.gpu_mode == "mig"
    devices = [(g, gi) for g in range(node.gpus) for gi, _ in gpus.mig_layout(node, g)]
    for dev in devices if mig else range(node.gpus):
        gpu = dev[0] if mig else dev
        base = _mig_labels(seed, node, *dev) if mig else gpu_labels(seed, node, dev)
        own = mig and family == "DCGM_FI_PROF_GR_ENGINE_ACTIVE"
        taken: set[int] = set()
        for pod, cname, run, late in _listed(held.get(dev, []), times, stale):
            if run or late:
                taken.update(run, late)
                if own:  # the instance's own activity while the pod runs, 0 after
                    act = energy.mig_activity_levels(pod, *dev).values([times[i] for i in run])
                    values = [_ratio(v) for v in act] + [_ratio(0)] * len(late)
                else:
                    values = [device(gpu)[i] for i in run + late]
                yield {**base, **_pod_labels(pod, cname)}, run + late, values
        free = [i for i in range(len(times)) if i not in taken]
        if free:
            yield base, free, [_ratio(0) if own else device(gpu)[i] for i in free]


def _shared_copies(seed, node: Node, gpu: int, held: dict, times, stale: bool, values: list):
    """A device-level field in virtual-GPU mode: copied per listed pod (with `vgpu`), the
    device's own series only while no pod is listed."""
    base = gpu_labels(seed, node, gpu)
    listed: set[int] = set()
    for replica in range(gpus.SHARED_REPLICAS):
        for pod, cname, run, late in _listed(held.get((gpu, replica), []), times, stale):
            if run or late:
                listed.update(run, late)
                labels = {**base, **_pod_labels(pod, cname), "vgpu": str(replica)}
                yield labels, run + late, [values[i] for i in run + late]
    alone = [i for i in range(len(times)) if i not in listed]
    if alone:
        yield base, alone, [values[i] for i in alone]
