"""Ground truth of GPU energy and activity: per pod, and per GPU node and hour.

Per pod, over what it held ([running, completed) of each GPU, MIG instance or shared replica,
as the exporter lists it) clipped to the window:
- `gpu_energy_joules`: real = the exact energy of the physical GPU while held: all of it for a
  whole GPU; x N/7 for a MIG instance `<N>g.<M>gb`; for a time-sliced GPU an equal share per
  pod running on it at each instant (the last two are estimates, flagged
  `gpu_energy_estimate`). observed = real less the held energy between the last DCGM sample
  before a driver load and the load (the counter restarts: nobody can read it), and 0 for a
  GPU held only between two scrapes (a short hold, or one inside an outage): no sample
  carried the pod's labels, so which GPU it held is unknown and its energy is idle energy;
  and less the held energy between the samples on either side of a DCGM gap too long to
  bridge (who held the GPU when inside it is unknown: idle energy too);
- `gpu_busy_seconds`: weight x the integral of the activity (GR_ENGINE_ACTIVE, the MIG
  instance's own, or GPU_UTIL/100 without profiling fields; a shared replica's own GPU_UTIL);
  weight 1, N/7 or 1/4 as billed;
- `gpu_idle_seconds`: weight x the seconds held with activity below `gpu_idle_percent`.
Activity is the continuous per-minute level (what the samples read); busy and idle "observed"
follow the gauge rule of simulator/truth.py (what lies in an unbridged DCGM gap is lost).

Per node and UTC hour: the GPUs' total energy (the counters' increase: exact integral, resets
included), the energy held by pods and the idle rest (unheld GPUs, unheld MIG slices and the
unpartitioned remainder); held + idle = total exactly (fractions of mJ until printed).
"""

from fractions import Fraction

from simulator import energy
from simulator.levels import HOUR_MS, Mapped
from simulator.targets import first_scrape_from, last_scrape_before

QUANTITIES = ("gpu_energy_joules", "gpu_busy_seconds", "gpu_idle_seconds")
DEFAULT_IDLE_PERCENT = 5


def share(power: energy.NodePower, gpu: int, h: energy.Holder, t0: int, t1: int) -> Fraction:
    """A holder's energy (mJ) of `gpu` over [t0, t1) ms, by the rules of the module."""
    lo, hi = max(h.lo, t0), min(h.hi, t1)
    if lo >= hi:
        return Fraction(0)
    mode = power.node.gpu_mode
    if mode == "exclusive":
        return Fraction(power.energy(gpu, lo, hi))
    if mode == "mig":
        return Fraction(power.energy(gpu, lo, hi) * h.slices, 7)
    by_count: dict[int, int] = {}  # pods sharing the GPU -> mJ
    for a, b, watts, running in power.segments(gpu, lo, hi):
        by_count[len(running)] = by_count.get(len(running), 0) + watts * (b - a)
    return sum((Fraction(v, n) for n, v in by_count.items()), Fraction(0))


def _weight(node, h: energy.Holder) -> Fraction:
    if node.gpu_mode == "mig":
        return Fraction(h.slices, 7)
    return Fraction(1, 4) if node.gpu_mode == "shared" else Fraction(1)


def _unseen(w, power, h: energy.Holder) -> bool:
    """Was the GPU held only between two DCGM scrapes (of every replica)?"""
    scrapers = w.replicas[("dcgm", power.node.name)]
    return all(first_scrape_from(t, h.lo, gaps) >= h.hi for t, gaps in scrapers)


def _hidden(w, power, gpu: int, h: energy.Holder) -> Fraction:
    """Held energy between the last scrape before and the first after each unbridged gap."""
    _, _, data = w.targets[("dcgm", power.node.name)]
    hidden = Fraction(0)
    for g in data:
        if not g.bridged:
            lo = w.a * 1000 if g.data_start is None else max(g.data_start, w.a * 1000)
            hidden += share(power, gpu, h, lo, min(g.data_end, w.b * 1000))
    return hidden


def _lost(w, power, gpu: int, h: energy.Holder) -> Fraction:
    """Held energy between the last sample before each driver load and the load."""
    scrapers = w.replicas[("dcgm", power.node.name)]  # an HA pair's samples together
    lost = Fraction(0)
    for load in power.reloads(max(h.lo, w.a * 1000), min(h.hi, w.b * 1000)):
        found = [last_scrape_before(t, load, load - 86_400_000, gaps) for t, gaps in scrapers]
        last = max((x for x in found if x is not None), default=None)
        lost += share(power, gpu, h, max(w.a * 1000, last or 0), load)
    return lost


def pod_quantities(w, pod, node, quantities: dict) -> bool:
    """Add the pod's GPU energy, busy and idle seconds to `quantities`; True for estimates."""
    for q in QUANTITIES:
        quantities[q] = {"real": 0.0, "observed": 0.0}
    if node is None or not node.gpus or pod.completed is None:
        return False
    power = energy.node_power(w.cluster.seed, node, w.cluster.behaviours)
    threshold = w.gpu_idle_percent * 10  # permille
    key = ("dcgm", node.name)
    estimate = False
    for gpu in range(node.gpus):
        for h in energy.holders_of(node, [pod], gpu):
            estimate = estimate or node.gpu_mode != "exclusive"
            e = share(power, gpu, h, w.a * 1000, w.b * 1000)
            q = quantities["gpu_energy_joules"]
            q["real"] += float(e / 1000)
            if not _unseen(w, power, h):
                lost = _lost(w, power, gpu, h) + _hidden(w, power, gpu, h)
                q["observed"] += float((e - lost) / 1000)
            weight = _weight(node, h)
            act = energy.activity_levels(node, pod, gpu, h.instance)
            idle = Mapped(act, lambda v: 1000 if v < threshold else 0, f"idle<{threshold}")
            lo, hi = max(h.lo, w.a * 1000), min(h.hi, w.b * 1000)
            for name, lv in (("gpu_busy_seconds", act), ("gpu_idle_seconds", idle)):
                real = lv.integral(lo, hi) / 1e6 if lo < hi else 0
                seen = w.gauge_observed(key, lv, pod.running, pod.completed) / 1000
                quantities[name]["real"] += float(weight) * real
                quantities[name]["observed"] += float(weight) * seen
    return estimate


def _joules(mj: Fraction) -> float:
    return float(mj / 1000)


def node_truth(w, stamp) -> dict:
    """Per GPU node and hour of the window: total, held and idle energy, and driver loads.

    `stamp` prints a time in ms (the truth's ISO format).
    """
    a, b = w.a * 1000, w.b * 1000
    nodes = {}
    sums = {"total": Fraction(0), "held": Fraction(0)}
    for node in w.cluster.nodes:
        if not node.gpus:
            continue
        power = energy.node_power(w.cluster.seed, node, w.cluster.behaviours)
        hours = []
        for h0 in range(a - a % HOUR_MS, b, HOUR_MS):
            t0, t1 = max(a, h0), min(b, h0 + HOUR_MS)
            total = sum(power.energy(g, t0, t1) for g in range(node.gpus))
            held = Fraction(0)
            for g in range(node.gpus):
                for blk in range(t0 // energy.BLOCK_MS, (t1 - 1) // energy.BLOCK_MS + 1):
                    held += sum(share(power, g, h, t0, t1) for h in power.holders(g, blk))
            hours.append((stamp(h0), Fraction(total), held))
        total = sum((t for _, t, _ in hours), Fraction(0))
        held = sum((x for _, _, x in hours), Fraction(0))
        sums["total"] += total
        sums["held"] += held
        nodes[node.name] = {
            "model": node.gpu_model,
            "gpu_mode": node.gpu_mode,
            "driver_loads": [stamp(t) for t in power.reloads(a, b)],
            "total_energy_joules": _joules(total),
            "held_energy_joules": _joules(held),
            "idle_energy_joules": _joules(total - held),
            "hours": [
                {
                    "start": start,
                    "total_energy_joules": _joules(t),
                    "held_energy_joules": _joules(x),
                    "idle_energy_joules": _joules(t - x),
                }
                for start, t, x in hours
            ],
        }
    return {
        "idle_percent": w.gpu_idle_percent,
        "nodes": nodes,
        "total_energy_joules": _joules(sums["total"]),
        "held_energy_joules": _joules(sums["held"]),
        "idle_energy_joules": _joules(sums["total"] - sums["held"]),
    }
