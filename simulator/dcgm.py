"""NVIDIA dcgm-exporter series of one GPU node (Kubernetes mode, no timestamps).

A GPU held by a running pod carries that pod's `pod`, `namespace`, `container` labels and the
pod's usage; an unallocated GPU has no pod labels and zero usage. So one device yields several
series over time: one per holder plus the unallocated one (index lists, not contiguous runs).
"""

from simulator.levels import hex_id
from simulator.model import Node, Pod

FAMILIES = [
    ("DCGM_FI_DEV_FB_FREE", "gauge", "Framebuffer memory free (in MiB)."),
    ("DCGM_FI_DEV_FB_USED", "gauge", "Framebuffer memory used (in MiB)."),
    ("DCGM_FI_DEV_GPU_UTIL", "gauge", "GPU utilization (in %)."),
]
FB_TOTAL, FB_RESERVED = 81_920, 563  # MiB of an A100 80GB
FB_USED = (2_000, 78_000)
UTIL = (0, 100)
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


def holders(node: Node, pods: list[Pod]) -> dict[int, list[tuple[Pod, str]]]:
    """GPU index -> [(pod, container)] of pods holding it (during [running, completed))."""
    out: dict[int, list] = {g: [] for g in range(node.gpus)}
    for p in pods:
        if p.node != node.name:
            continue
        for c in p.containers:
            for g in c.gpus:
                out[g].append((p, c.name))
    return out


def fb_levels(pod: Pod, gpu: int):
    return pod.levels(f"fb{gpu}", *FB_USED, smooth=True)


def util_levels(pod: Pod, gpu: int):
    return pod.levels(f"util{gpu}", *UTIL)


def _values(family: str, pod: Pod | None, gpu: int, ts) -> list[int]:
    if pod is None:
        return [FB_TOTAL - FB_RESERVED if family == "DCGM_FI_DEV_FB_FREE" else 0] * len(ts)
    if family == "DCGM_FI_DEV_GPU_UTIL":
        return util_levels(pod, gpu).values(ts)
    used = fb_levels(pod, gpu).values(ts)
    if family == "DCGM_FI_DEV_FB_USED":
        return used
    return [FB_TOTAL - FB_RESERVED - v for v in used]


def series(seed: int, node: Node, pods: list[Pod], family: str, times: list[int]):
    """Yield (labels, index, values): index is a list of time indexes (a device changes hands)."""
    if not times:
        return
    for gpu, held in holders(node, pods).items():
        base = gpu_labels(seed, node, gpu)
        free = list(range(len(times)))
        taken = set()
        for pod, cname in held:
            end = pod.completed * 1000 if pod.completed is not None else None
            idx = [
                i
                for i, t in enumerate(times)
                if pod.running * 1000 <= t and (end is None or t < end)
            ]
            if idx:
                taken.update(idx)
                labels = {**base, "container": cname, "namespace": pod.namespace, "pod": pod.name}
                yield labels, idx, _values(family, pod, gpu, [times[i] for i in idx])
        free = [i for i in free if i not in taken]
        if free:
            yield base, free, _values(family, None, gpu, [times[i] for i in free])
