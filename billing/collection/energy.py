"""GPU energy, busy and idle seconds per pod from dcgm-exporter's device series: pure maths.

The energy counter (DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION, mJ since the driver loaded) is one
counter per physical GPU, whatever labels its series carry: the holder's pod labels only
while a pod holds the GPU, none (or stale ones) otherwise, one series per MIG instance or
time-sliced pod with the whole GPU's value, twice behind an HA pair. So it is read by device
(node and UUID): every series of a device merged into one time-ordered list of samples.

Energy. Between two consecutive samples of a device, the energy is the counter's increase
(after a drop, a driver reload, the new value counts from 0: nothing is lost or counted
twice). An interval cut by the hour's start or end is split pro rata by time. An interval cut
by a holder's start or end is split by the power gauge (DCGM_FI_DEV_POWER_USAGE, scraped
with the counter): a GPU's power steps when a pod starts or stops working on it, so the part
before the first cut is taken at the power sampled at the interval's start, the part after
the last cut at the power sampled at its end, a part between two cuts at their mean, and the
interval's energy is shared in proportion (without both power samples, by time). Either way
the parts add up to the counter's increase exactly. The holders of a
device are the pods whose labels its series carried in or around the hour (the exporter's
device-to-pod mapping), each holding it over its running interval as kube-state-metrics
tells it (billing.collection.facts), never over the minutes a finished pod's labels may
linger. A pod that requested no GPU (the exporter's own pod, scraped with honor_labels
true) holds nothing. What no holder covers is the node's idle energy: for ops, never billed.

Sharing (both estimates, flagged): a MIG instance `<N>g.*` (GPU_I_ID, GPU_I_PROFILE) gets its
GPU's energy x its slice fraction (KUBEMON_GPU_WEIGHTS, N/7 by default), the unheld slices'
part staying idle; a time-sliced GPU (`vgpu` label) is shared equally by the pods holding it
at each instant. Two pods on one whole GPU or MIG instance at the same instant (a hand-over
the intervals overlap on) share it equally too.

Busy and idle seconds. Activity is GR_ENGINE_ACTIVE (a MIG instance's own) when the series
carry it, else GPU_UTIL / 100; a time-sliced pod's is its own GPU_UTIL series. Each is a
gauge integrated like the others: the mean of the pod's samples inside its holding times
the seconds the samples stand for (Attribution.gauge_seconds), times the device's weight
(1, the MIG fraction, or the time-sliced weight, as gpu_seconds bills them). Idle seconds
are those whose sample is below KUBEMON_GPU_IDLE_PERCENT.
"""

import math
from bisect import bisect_left, bisect_right
from collections import defaultdict
from dataclasses import dataclass, field
from typing import NamedTuple

from billing.collection.gpus import gpu_weight

ENERGY = "DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION"
POWER = "DCGM_FI_DEV_POWER_USAGE"
GR_ACTIVE = "DCGM_FI_PROF_GR_ENGINE_ACTIVE"
UTIL = "DCGM_FI_DEV_GPU_UTIL"


@dataclass
class Device:
    """One physical GPU's series, merged: what the chunk's reads said of it."""

    node: str
    samples: list[tuple[float, float]] = field(default_factory=list)  # (t, mJ), sorted
    watts: dict[float, float] = field(default_factory=dict)  # t -> the power gauge's W
    mig: bool = False
    shared: bool = False
    # (slot: GPU_I_ID or "", MIG profile or "", namespace, pod) seen on its series
    holders: set[tuple[str, str, str, str]] = field(default_factory=set)
    # (slot, namespace, pod, family): that holder's activity samples (t, ratio 0-1)
    activity: dict[tuple, list[tuple[float, float]]] = field(
        default_factory=lambda: defaultdict(list)
    )

    @property
    def estimated(self) -> bool:
        return self.mig or self.shared


@dataclass(frozen=True)
class Holding:
    """A pod's hold on a device's slot (a MIG instance, or the whole GPU: "") over [lo, hi)."""

    key: tuple[str, str]  # (namespace, pod)
    slot: str
    fraction: float  # the slot's part of the GPU's energy
    lo: float
    hi: float


@dataclass
class PodEnergy:
    """One pod's parts of the GPU quantities in one hour, added up with math.fsum later."""

    joules: list[float] = field(default_factory=list)
    busy: list[float] = field(default_factory=list)
    idle: list[float] = field(default_factory=list)
    estimated: bool = False


def increments(samples: list[tuple[float, float]]) -> list[tuple[float, float, float]]:
    """(t0, t1, mJ) between consecutive samples: the counter's increase, or after a drop
    (the driver reloaded) the new value, counted from 0."""
    return [
        (t0, t1, v1 - v0 if v1 >= v0 else v1)
        for (t0, v0), (t1, v1) in zip(samples, samples[1:], strict=False)
        if t1 > t0
    ]


class Piece(NamedTuple):
    """The part [lo, hi) of a counter's interval inside an hour, its joules, and the power
    sampled at the interval's start (w0) and end (w1), None where no sample was read."""

    lo: float
    hi: float
    joules: float
    w0: float | None = None
    w1: float | None = None
    t0: float | None = None  # the interval's samples' times
    t1: float | None = None


def hour_pieces(samples, h0: float, h1: float, watts: dict | None = None) -> list[Piece]:
    """The pieces of each interval between samples, clipped to [h0, h1) pro rata by time."""
    watts = watts or {}
    pieces = []
    for t0, t1, mj in increments(samples):
        lo, hi = max(t0, h0), min(t1, h1)
        if hi > lo:
            joules = mj / 1000 * (hi - lo) / (t1 - t0)
            pieces.append(Piece(lo, hi, joules, watts.get(t0), watts.get(t1), t0, t1))
    return pieces


def around_hour(samples: list[tuple[float, float]], h0: float, h1: float) -> list:
    """The samples from the last at or before h0 to the first at or after h1."""
    times = [t for t, _ in samples]
    first = max(0, bisect_right(times, h0) - 1)
    last = min(len(samples), bisect_left(times, h1) + 1)
    return samples[first:last]


def power_parts(piece: Piece, cuts: list[float]) -> list[tuple[float, float, float]]:
    """(a, b, joules) of the piece between its sorted inner `cuts`: the first part at the
    power sampled at the interval's start, the last at the one at its end, the others at
    their mean; by time when a power sample is missing or both are 0."""
    edges = [piece.lo, *cuts, piece.hi]
    spans = [b - a for a, b in zip(edges, edges[1:], strict=False)]
    weights = spans
    if cuts and piece.w0 is not None and piece.w1 is not None:
        watts = [piece.w0, *[(piece.w0 + piece.w1) / 2] * (len(cuts) - 1), piece.w1]
        if math.fsum(powered := [w * s for w, s in zip(watts, spans, strict=True)]) > 0:
            weights = powered
    total = math.fsum(weights)
    return [
        (a, b, piece.joules * w / total) for a, b, w in zip(edges, edges[1:], weights, strict=False)
    ]


def split(pieces: list[Piece], holdings: list[Holding]) -> tuple[dict[tuple, list[float]], list]:
    """({pod key: [joules]}, [idle joules]) of a device's pieces among its holdings.

    Each piece is cut at the holdings' starts and ends (power_parts); in each part every slot
    held gives its fraction, shared equally by the pods holding it then.
    """
    held: dict[tuple, list[float]] = defaultdict(list)
    idle: list[float] = []
    for piece in pieces:
        edges = {t for h in holdings for t in (h.lo, h.hi) if piece.lo < t < piece.hi}
        for a, b, part in power_parts(piece, sorted(edges)):
            by_slot: dict[str, list[Holding]] = defaultdict(list)
            for h in holdings:
                if h.lo <= a and b <= h.hi:
                    by_slot[h.slot].append(h)
            given = []
            for same in by_slot.values():
                for h in same:
                    share = part * h.fraction / len(same)
                    held[h.key].append(share)
                    given.append(share)
            idle.append(part - math.fsum(given))
    return held, idle


def activity_levels(samples, lo: float, hi: float, threshold: float) -> tuple:
    """(mean activity, part of samples below `threshold`, samples) inside [lo, hi]."""
    inside = [v for t, v in samples if lo - 1e-3 <= t <= hi + 1e-3]
    if not inside:
        return 0.0, 0.0, 0
    below = sum(1 for v in inside if v < threshold)
    return math.fsum(inside) / len(inside), below / len(inside), len(inside)


def slot_fraction(profile: str, weights: dict) -> float:
    """A MIG instance's part of its GPU, from its profile (`3g.40gb`) and the weights."""
    resource = "nvidia_com_mig_" + profile.replace(".", "_").replace("-", "_")
    return gpu_weight(resource, weights)


def device_holdings(device: Device, intervals: dict, weights: dict) -> list[Holding]:
    """The device's holdings: each holder pod that requested a GPU, over its interval."""
    holdings = []
    for slot, profile, namespace, pod in sorted(device.holders):
        interval = intervals.get((namespace, pod))
        if interval is None or interval[1] <= interval[0]:
            continue
        fraction = slot_fraction(profile, weights) if device.mig and profile else 1.0
        holdings.append(Holding((namespace, pod), slot, fraction, *interval))
    return holdings


def busy_weight(device: Device, holding: Holding, weights: dict) -> float:
    """GPU-seconds per second of the holding, as gpu_seconds bills it."""
    if device.shared:
        return gpu_weight("nvidia_com_gpu_shared", weights)
    return holding.fraction


def holding_activity(device: Device, h: Holding) -> list[tuple[float, float]]:
    """The holder's activity samples: its own GPU_UTIL on a time-sliced GPU, else
    GR_ENGINE_ACTIVE when its series carry it, else GPU_UTIL."""
    gr = device.activity.get((h.slot, *h.key, GR_ACTIVE))
    if gr and not device.shared:
        return gr
    return device.activity.get((h.slot, *h.key, UTIL), [])


def hour_energy(
    devices: dict, intervals: dict, h0: float, weights: dict, idle_percent, seconds, hidden
):
    """({pod key: PodEnergy}, {node: [idle joules]}) of one hour.

    `intervals` is {(namespace, pod): (lo, hi)} of the pods that requested a GPU, inside
    the hour; `seconds(node, lo, hi, count)` the seconds a gauge's samples stand for;
    `hidden(node, t0, t1)` whether a gap too long to bridge hides most of [t0, t1).
    """
    h1 = h0 + 3600
    pods: dict[tuple, PodEnergy] = defaultdict(PodEnergy)
    idle: dict[str, list[float]] = defaultdict(list)
    threshold = idle_percent / 100
    for device in devices.values():
        holdings = device_holdings(device, intervals, weights)
        pieces = hour_pieces(around_hour(device.samples, h0, h1), h0, h1, device.watts)
        seen, unseen = [], []
        for piece in pieces:
            (unseen if hidden(device.node, piece.t0, piece.t1) else seen).append(piece)
        held, unheld = split(seen, holdings)
        idle[device.node].extend([*unheld, *(piece.joules for piece in unseen)])
        for key, parts in held.items():
            pods[key].joules.extend(parts)
        for h in holdings:
            pod = pods[h.key]
            pod.estimated = pod.estimated or device.estimated
            mean, below, count = activity_levels(holding_activity(device, h), h.lo, h.hi, threshold)
            span = seconds(device.node, h.lo, h.hi, count) if count else 0.0
            weight = busy_weight(device, h, weights)
            pod.busy.append(mean * span * weight)
            pod.idle.append(below * span * weight)
    return dict(pods), dict(idle)
