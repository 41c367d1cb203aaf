"""How GPUs are offered and billed: MIG layouts, time-sliced replicas, weights, idle memory.

A GPU node is "exclusive" (whole GPUs, `nvidia.com/gpu`), "mig" (every A100 partitioned into
GPU instances, `nvidia.com/mig-<profile>`) or "shared" (time-slicing with renameByDefault: 4
replicas per GPU, `nvidia.com/gpu.shared`). kube-state-metrics prints resource names sanitised
(`nvidia_com_mig_3g_40gb`, `nvidia_com_gpu_shared`). Billing counts weighted GPU-seconds: a MIG
profile `<N>g.<M>gb` weighs N/7 of a GPU, a shared replica 1/4.
"""

import re

from simulator.levels import stable_int
from simulator.model import Node, Pod

GPU = "nvidia_com_gpu"
SHARED = "nvidia_com_gpu_shared"
SHARED_REPLICAS = 4
# Partitions of an A100-80GB (7 compute slices, 8 memory slices) with their GPU instance ids.
MIG_LAYOUTS = [
    ((1, "3g.40gb"), (5, "2g.20gb"), (6, "2g.20gb")),
    tuple((7 + k, "1g.10gb") for k in range(7)),
    ((1, "3g.40gb"), (2, "3g.40gb")),
]
MIG_MEMORY_MIB = {"1g.10gb": 9_728, "2g.20gb": 19_968, "3g.40gb": 40_192}
MIG_RESOURCE = re.compile(r"nvidia_com_mig_(\d+)g_(\d+)gb")
IDLE_MIB = (1, 7)  # what an unallocated GPU (or GPU instance) reports used
STALE_MAX = 1200  # seconds a finished pod's labels may stay on its devices
UTIL = (0, 100)  # DCGM_FI_DEV_GPU_UTIL, %


def mig_layout(node: Node, gpu: int) -> tuple[tuple[int, str], ...]:
    """(GPU instance id, profile) of the MIG-partitioned GPU `gpu`, seeded per device."""
    return MIG_LAYOUTS[stable_int(node.key, "mig", gpu) % len(MIG_LAYOUTS)]


def mig_profile(node: Node, gpu: int, instance: int) -> str:
    return dict(mig_layout(node, gpu))[instance]


def mig_resource(profile: str) -> str:
    """kube-state-metrics' name of nvidia.com/mig-<profile>: nvidia_com_mig_3g_40gb."""
    return "nvidia_com_mig_" + profile.replace(".", "_")


def weight(resource: str):
    """GPUs one unit of `resource` is billed as; None for a resource that is not a GPU."""
    if resource == GPU:
        return 1
    if resource == SHARED:
        return 1 / SHARED_REPLICAS
    m = MIG_RESOURCE.fullmatch(resource)
    return int(m.group(1)) / 7 if m else None


def gpu_units(requests: dict) -> float:
    """Weighted GPUs requested by one container (0 without GPU resources)."""
    return sum(weight(r) * v for r, v in requests.items() if weight(r) is not None)


def node_gpu_resources(node: Node) -> dict[str, int]:
    """GPU resources of a node's capacity as kube-state-metrics prints them."""
    if not node.gpus:
        return {}
    if node.gpu_mode == "shared":
        return {SHARED: node.gpus * SHARED_REPLICAS}
    if node.gpu_mode == "mig":
        out: dict[str, int] = {}
        for g in range(node.gpus):
            for _, profile in mig_layout(node, g):
                out[mig_resource(profile)] = out.get(mig_resource(profile), 0) + 1
        return dict(sorted(out.items()))
    return {GPU: node.gpus}


def resource_names() -> list[str]:
    """Every GPU resource name the simulator can emit (for kube-state-metrics' units)."""
    profiles = sorted({p for layout in MIG_LAYOUTS for _, p in layout})
    return [GPU, SHARED, *(mig_resource(p) for p in profiles)]


def idle_mib(node: Node, gpu: int, instance: int | None = None) -> int:
    """FB used (MiB) an idle GPU or GPU instance reports: a constant few MiB per device."""
    lo, hi = IDLE_MIB
    return lo + stable_int(node.key, "idle", gpu, instance) % (hi - lo + 1)


def stale_seconds(pod: Pod) -> int:
    """How long dcgm-exporter keeps a finished pod's labels on its devices (0-20 min)."""
    return stable_int(pod.uid, "stale") % (STALE_MAX + 1)


def util_levels(pod: Pod, gpu: int):
    """GPU_UTIL (%) of a pod on a whole GPU or on its time-sliced share of one, per minute."""
    return pod.levels(f"util{gpu}", *UTIL)
