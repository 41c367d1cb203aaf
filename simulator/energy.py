"""GPU power and energy: the power model, the energy counter and driver reloads, per physical GPU.

Power is piecewise constant, in integer watts: P = idle + (TDP - idle) x activity // 1000, with
the model's constants (`MODELS`) and an activity in permille:
- data-centre models (DCP profiling fields): activity = DCGM_FI_PROF_GR_ENGINE_ACTIVE, which is
  GPU_UTIL x k % on a whole or time-sliced GPU (k in 80-100, per device: the graphics engine is
  busy a little less than "a kernel ran"), and on a MIG GPU the GPU instances' own
  GR_ENGINE_ACTIVE weighted by their compute slices (N/7 each, 0 when unheld);
- other models: activity = GPU_UTIL x 10.
A time-sliced GPU's utilisation is the sum of its pods' (at most 100). Nothing is drawn from a
shared stream: activity comes from the existing utilisation levels, from a hash of the device
(k) and, for MIG instances, from levels keyed by the holder's sandbox.

DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION at t is the exact integral of P (W x ms = mJ) since the
driver's last load. Every GPU node's driver is loaded at Sunday 00:00 UTC every week
(maintenance; GPU Jobs live inside their 6-hour block, so no pod holds a GPU then), which keeps
the counter computable from a week of Jobs at most; with `driver-reload`, gpu-node-1's driver
also reloads once per 6-hour block while its first GPU Job (of 2 minutes or more) runs.
"""

from dataclasses import dataclass

from simulator import batch, gpus
from simulator.levels import MINUTE_MS, Mapped, stable_int
from simulator.model import Node, Pod

WEEK = 7 * 86_400
SUNDAY = 3 * 86_400  # 1970-01-04 00:00 UTC, a Sunday
RELOAD_NODE = "gpu-node-1"
GR_FACTOR = (80, 100)  # % of GPU_UTIL the graphics engine is active, per device
BLOCK_MS = batch.GPU_BLOCK * 1000


@dataclass(frozen=True, slots=True)
class PowerModel:
    idle_w: int
    tdp_w: int
    profiling: bool  # DCGM_FI_PROF_* (DCP) fields: data-centre GPUs, Volta and newer


# TDP: NVIDIA datasheets; idle: what nvidia-smi typically reads on an idle GPU with the driver
# in persistence mode (an assumption of the model, see docs/simulator.md).
MODELS = {
    "NVIDIA A100-SXM4-80GB": PowerModel(55, 400, True),
    "NVIDIA H100 80GB HBM3": PowerModel(70, 700, True),
    "NVIDIA GeForce RTX 3090": PowerModel(25, 350, False),
}


def power_model(node: Node) -> PowerModel:
    return MODELS[node.gpu_model]


def gr_factor(node: Node, gpu: int) -> int:
    lo, hi = GR_FACTOR
    return lo + stable_int(node.key, "gr", gpu) % (hi - lo + 1)


def activity_of_util(node: Node, gpu: int):
    """Permille activity of a whole or time-sliced GPU from its GPU_UTIL (%)."""
    if not power_model(node).profiling:
        return lambda u: u * 10
    k = gr_factor(node, gpu)
    return lambda u: u * 10 * k // 100


def mig_activity_levels(pod: Pod, gpu: int, instance: int):
    """GR_ENGINE_ACTIVE (permille) of a pod's MIG GPU instance, per minute."""
    return pod.levels(f"gract{gpu}:{instance}", 0, 1000)


def activity_levels(node: Node, pod: Pod, gpu: int, instance: int | None = None):
    """Activity (permille) of what a pod holds: its GPU, MIG instance or shared replica.

    A shared replica's is the pod's own utilisation (its per-pod GPU_UTIL), not the device's
    GR_ENGINE_ACTIVE, which the exporter copies onto every sharing pod.
    """
    if node.gpu_mode == "mig":
        return mig_activity_levels(pod, gpu, instance)
    util = gpus.util_levels(pod, gpu)
    if node.gpu_mode == "shared":
        return Mapped(util, lambda u: u * 10, "activity")
    return Mapped(util, activity_of_util(node, gpu), "activity")


@dataclass(slots=True)
class Holder:
    pod: Pod
    lo: int  # ms: [running, completed), as the exporter lists the pod on the device
    hi: int
    instance: int | None  # MIG GPU instance or shared replica; None: the whole GPU
    slices: int = 0  # MIG compute slices (N of <N>g.<M>gb)


def holders_of(node: Node, pods: list[Pod], gpu: int) -> list[Holder]:
    out = []
    for p in pods:
        if p.node != node.name or p.completed is None:
            continue
        for c in p.containers:
            if node.gpu_mode == "exclusive":
                held = [None] if gpu in c.gpus else []
            else:
                held = [i for g, i in c.slices if g == gpu]
            for i in held:
                n = 0
                if node.gpu_mode == "mig":
                    n = int(gpus.mig_profile(node, gpu, i).split("g.")[0])
                out.append(Holder(p, p.running * 1000, p.completed * 1000, i, n))
    return out


class NodePower:
    """Power and energy of one GPU node's physical GPUs, from its GPU Jobs."""

    def __init__(self, seed: int, node: Node, behaviours=frozenset()):
        self.seed, self.node, self.behaviours = seed, node, frozenset(behaviours)
        self.model = power_model(node)
        self._blocks: dict = {}  # block -> pods
        self._holders: dict = {}  # (gpu, block) -> [Holder]
        self._energy: dict = {}  # (gpu, block) -> mJ of the whole block
        self._reloads: dict = {}  # block -> `driver-reload` time (ms) or None

    # -- who holds what --------------------------------------------------------------------

    def block_pods(self, blk: int) -> list[Pod]:
        if blk not in self._blocks:
            if len(self._blocks) > 256:  # bound memory on long live runs (about two months)
                for cache in (self._blocks, self._holders, self._energy, self._reloads):
                    cache.clear()
            self._blocks[blk] = batch.gpu_jobs(self.seed, blk, self.node, self.behaviours)[0]
        return self._blocks[blk]

    def holders(self, gpu: int, blk: int) -> list[Holder]:
        """Holders of `gpu` in a 6-hour block (GPU Jobs live inside their block)."""
        key = (gpu, blk)
        if key not in self._holders:
            self._holders[key] = holders_of(self.node, self.block_pods(blk), gpu)
        return self._holders[key]

    # -- power -------------------------------------------------------------------------------

    def activity(self, gpu: int, running: list[Holder], t: int) -> int:
        """The GPU's activity (permille) at t ms given the holders running then."""
        if not running:
            return 0
        mode = self.node.gpu_mode
        if mode == "mig":
            acts = [h.slices * mig_activity_levels(h.pod, gpu, h.instance).at(t) for h in running]
            return sum(acts) // 7
        util = min(100, sum(gpus.util_levels(h.pod, gpu).at(t) for h in running))
        return activity_of_util(self.node, gpu)(util)

    def watts(self, gpu: int, running: list[Holder], t: int) -> int:
        m = self.model
        return m.idle_w + (m.tdp_w - m.idle_w) * self.activity(gpu, running, t) // 1000

    def running_at(self, gpu: int, t: int) -> list[Holder]:
        return [h for h in self.holders(gpu, t // BLOCK_MS) if h.lo <= t < h.hi]

    def segments(self, gpu: int, t0: int, t1: int):
        """(from, to, watts, holders) pieces of [t0, t1) ms with constant power and holders."""
        for blk in range(t0 // BLOCK_MS, (t1 - 1) // BLOCK_MS + 1):
            a, b = max(t0, blk * BLOCK_MS), min(t1, (blk + 1) * BLOCK_MS)
            hs = self.holders(gpu, blk)
            cuts = sorted({a, b} | {x for h in hs for x in (h.lo, h.hi) if a < x < b})
            for lo, hi in zip(cuts, cuts[1:], strict=False):
                running = [h for h in hs if h.lo <= lo and hi <= h.hi]
                if not running:
                    yield lo, hi, self.model.idle_w, running
                    continue
                m = lo
                while m < hi:
                    nxt = min(hi, (m // MINUTE_MS + 1) * MINUTE_MS)
                    yield m, nxt, self.watts(gpu, running, m), running
                    m = nxt

    def energy(self, gpu: int, t0: int, t1: int) -> int:
        """Exact energy (mJ = W x ms) of the GPU over [t0, t1) ms; whole blocks are cached."""
        total = 0
        for blk in range(t0 // BLOCK_MS, (t1 - 1) // BLOCK_MS + 1) if t1 > t0 else ():
            a, b = max(t0, blk * BLOCK_MS), min(t1, (blk + 1) * BLOCK_MS)
            whole = (a, b) == (blk * BLOCK_MS, (blk + 1) * BLOCK_MS)
            if whole and (gpu, blk) in self._energy:
                total += self._energy[(gpu, blk)]
                continue
            e = sum(w * (hi - lo) for lo, hi, w, _ in self.segments(gpu, a, b))
            if whole:
                self._energy[(gpu, blk)] = e
            total += e
        return total

    # -- driver loads --------------------------------------------------------------------------

    def block_reload(self, blk: int) -> int | None:
        """The `driver-reload` time (ms) in a block, while the block's first GPU Job runs."""
        if "driver-reload" not in self.behaviours or self.node.name != RELOAD_NODE:
            return None
        if blk not in self._reloads:
            self._reloads[blk] = self._block_reload(blk)
        return self._reloads[blk]

    def _block_reload(self, blk: int) -> int | None:
        jobs = sorted(
            (p for p in self.block_pods(blk) if p.completed - p.running >= 120),
            key=lambda p: (p.running, p.name),
        )
        if not jobs:
            return None
        p = jobs[0]
        span = p.completed - p.running - 120
        return (p.running + 60 + stable_int(self.seed, p.uid, "reload") % span) * 1000

    def reloads(self, t0: int, t1: int) -> list[int]:
        """Driver loads (ms) in [t0, t1): weekly maintenance and `driver-reload`."""
        out = []
        week = t0 // 1000 - (t0 // 1000 - SUNDAY) % WEEK
        while week * 1000 < t1:
            if week * 1000 >= t0:
                out.append(week * 1000)
            week += WEEK
        for blk in range(t0 // BLOCK_MS, (t1 - 1) // BLOCK_MS + 1):
            r = self.block_reload(blk)
            if r is not None and t0 <= r < t1:
                out.append(r)
        return sorted(out)

    def last_load(self, t: int) -> int:
        """The driver's last load (ms) at or before t."""
        s = t // 1000
        week = (s - (s - SUNDAY) % WEEK) * 1000
        return max([week, *self.reloads(week, t + 1)])

    # -- what the exporter reads ---------------------------------------------------------------

    def counter(self, gpu: int, times: list[int]) -> list[int]:
        """DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION (mJ) at sorted times (ms)."""
        out, prev, load, value = [], None, None, 0
        for t in times:
            last = self.last_load(t)
            if last != load or prev is None:
                value = self.energy(gpu, last, t)
            else:
                value += self.energy(gpu, prev, t)
            out.append(value)
            prev, load = t, last
        return out

    def power(self, gpu: int, times: list[int]) -> list[int]:
        """DCGM_FI_DEV_POWER_USAGE (W) at times (ms)."""
        return [self.watts(gpu, self.running_at(gpu, t), t) for t in times]

    def gr_active(self, gpu: int, times: list[int]) -> list[int]:
        """The device's GR_ENGINE_ACTIVE (permille) at times (ms), whole or shared GPU."""
        return [self.activity(gpu, self.running_at(gpu, t), t) for t in times]


_NODES: dict = {}


def node_power(seed: int, node: Node, behaviours=frozenset()) -> NodePower:
    """The node's NodePower, shared by the exporter's families and the truth (block caches)."""
    key = (seed, node.key, node.gpu_mode, node.gpu_model, frozenset(behaviours))
    if key not in _NODES:
        if len(_NODES) > 64:  # bound memory over many clusters
            _NODES.clear()
        _NODES[key] = NodePower(seed, node, behaviours)
    return _NODES[key]
