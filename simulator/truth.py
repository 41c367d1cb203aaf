"""Exact ground truth of a window [start, end): what happened and what the exporters showed.

"real" quantities integrate the true usage over the true running intervals clipped to the
window. "observed" quantities are what exact accounting over the scraped samples gives:
counters per raw series = value at the last sample in the window minus value at the last
sample before it (0 for a series without earlier sample); gauges = step integral, each sample
held for one scrape interval (clipped at the window end); request/GPU/storage quantities equal
the real ones because KSM start/completion times are exact.
"""

from datetime import UTC, datetime

from simulator import cadvisor, dcgm
from simulator.targets import last_scrape_before

QUANTITIES = (
    "cpu_core_seconds",
    "cpu_request_core_seconds",
    "memory_byte_seconds",
    "memory_request_byte_seconds",
    "gpu_seconds",
    "gpu_memory_mib_seconds",
    "storage_byte_seconds",
    "network_rx_bytes",
    "network_tx_bytes",
)
NET = {
    "network_rx_bytes": "container_network_receive_bytes_total",
    "network_tx_bytes": "container_network_transmit_bytes_total",
}


def iso(t: int | None) -> str | None:
    """ISO 8601 UTC with a Z suffix, None for "never"."""
    if t is None:
        return None
    return datetime.fromtimestamp(t, UTC).isoformat().replace("+00:00", "Z")


def _clip(a: int, b: int | None, lo: int, hi: int) -> tuple[int, int]:
    return max(a, lo), min(hi if b is None else b, hi)


class Window:
    """The window, its scrape grids and helpers shared by all truth computations."""

    def __init__(self, cluster, a: int, b: int):
        self.cluster, self.a, self.b = cluster, a, b
        self.targets = {}
        for t in cluster.targets():
            if t.node:
                key = (t.kind, t.node)
                # gaps from a day before: the last sample before the window may precede it
                gaps = cluster.gaps(t, a - 86_400, b)
                self.targets[key] = (t, gaps)

    def counter_observed(self, key, lv, origin_ms: int, s: int, e: int | None, div) -> float:
        """Observed increase of a counter series living [s, e) with levels `lv`."""
        target, gaps = self.targets[key]
        lo, hi = _clip(s, e, self.a, self.b)
        if lo >= hi:
            return 0
        last = last_scrape_before(target, hi * 1000, lo * 1000, gaps)
        if last is None:
            return 0
        prev = last_scrape_before(target, self.a * 1000, s * 1000, gaps) if s < self.a else None
        p0 = lv.prefix(origin_ms)
        v_last = (lv.prefix(last) - p0) / 1e6 if div == 1e6 else (lv.prefix(last) - p0) // div
        if prev is None:
            return v_last
        v_prev = (lv.prefix(prev) - p0) / 1e6 if div == 1e6 else (lv.prefix(prev) - p0) // div
        return v_last - v_prev

    def gauge_observed(self, key, lv, s: int, e: int | None) -> float:
        """Integral (value x seconds) of a gauge series living [s, e) while it was watched.

        What happened during a scrape gap of its target is what no scraper could see; the
        rest is observable, as the samples tell it to an estimator that knows when the
        series lived.
        """
        target, gaps = self.targets[key]
        lo, hi = _clip(s, e, self.a, self.b)
        if lo >= hi:
            return 0
        total = lv.integral(lo * 1000, hi * 1000)
        for g0, g1 in gaps:
            a, b = max(g0, lo * 1000), min(g1, hi * 1000)
            if a < b:
                total -= lv.integral(a, b)
        return total / 1000


def _q(real=0.0, observed=0.0) -> dict:
    return {"real": real, "observed": observed}


def _instance_truth(w: Window, node: str, inst) -> dict:
    lo, hi = _clip(inst.start, inst.end, w.a, w.b)
    cpu, ws = inst.levels("cpu"), inst.levels("ws")
    key = ("cadvisor", node)
    return {
        "id": inst.id,
        "restart": inst.restart,
        "start": iso(inst.start),
        "end": iso(inst.end),
        "cpu_core_seconds": _q(
            cpu.integral(lo * 1000, hi * 1000) / 1e6,
            w.counter_observed(key, cpu, inst.start * 1000, inst.start, inst.end, 1e6),
        ),
        "memory_byte_seconds": _q(
            ws.integral(lo * 1000, hi * 1000) / 1000,
            w.gauge_observed(key, ws, inst.start, inst.end),
        ),
    }


def _network(w: Window, pod, node, family: str) -> dict:
    q, lo_l, hi_l = cadvisor.NETWORK[family]
    lo, hi = _clip(pod.running, pod.completed, w.a, w.b)
    if pod.host_network:
        lv, origin = node.levels(q, lo_l * 20, hi_l * 20), node.boot * 1000
    else:
        lv, origin = pod.levels(q, lo_l, hi_l), pod.running * 1000
    return _q(
        lv.integral(lo * 1000, hi * 1000) / 1000 if lo < hi else 0,
        w.counter_observed(("cadvisor", pod.node), lv, origin, pod.running, pod.completed, 1000),
    )


def _pod_truth(w: Window, pod) -> dict:
    node = w.cluster.node_by_name[pod.node]
    quantities = {q: _q() for q in QUANTITIES if q != "storage_byte_seconds"}
    end_active = pod.completed if pod.completed is not None else pod.deleted
    # Requests and GPUs are billed while the pod runs, from its first container's start: not
    # while it is Pending (pulling images), not after it completed although
    # kube-state-metrics still exports its requests.
    first_start = min((i.start for c in pod.containers for i in c.instances), default=pod.running)
    lo, hi = _clip(first_start, end_active, w.a, w.b)
    active = max(0, hi - lo)
    containers = []
    for c in pod.containers:
        insts = [
            _instance_truth(w, pod.node, i)
            for i in c.instances
            if i.start < w.b and (i.end is None or i.end > w.a)
        ]
        for it in insts:
            for q in ("cpu_core_seconds", "memory_byte_seconds"):
                quantities[q]["real"] += it[q]["real"]
                quantities[q]["observed"] += it[q]["observed"]
        for res, q in (
            ("cpu", "cpu_request_core_seconds"),
            ("memory", "memory_request_byte_seconds"),
            ("nvidia_com_gpu", "gpu_seconds"),
        ):
            v = c.requests.get(res, 0) * active
            quantities[q] = _q(quantities[q]["real"] + v, quantities[q]["observed"] + v)
        for g in c.gpus:
            fb = dcgm.fb_levels(pod, g)
            glo, ghi = _clip(pod.running, pod.completed, w.a, w.b)
            real = fb.integral(glo * 1000, ghi * 1000) / 1000 if glo < ghi else 0
            obs = w.gauge_observed(("dcgm", pod.node), fb, pod.running, pod.completed)
            quantities["gpu_memory_mib_seconds"]["real"] += real
            quantities["gpu_memory_mib_seconds"]["observed"] += obs
        containers.append(
            {
                "name": c.name,
                "image": c.image,
                "requests": c.requests,
                "limits": c.limits,
                "gpus": c.gpus,
                "instances": insts,
            }
        )
    out = {
        "name": pod.name,
        "uid": pod.uid,
        "node": pod.node,
        "host_network": pod.host_network,
        "created": iso(pod.created),
        "pending": iso(pod.created),
        "running": iso(pod.running),
        "completed": iso(pod.completed),
        "deleted": iso(pod.deleted),
        "final_phase": pod.final_phase,
        "containers": containers,
    }
    for q, family in NET.items():
        traffic = _network(w, pod, node, family)
        if pod.host_network:  # whole-node traffic: reported, never billed
            out.setdefault("raw_node_network", {})[q] = traffic
        else:
            quantities[q] = traffic
    out["quantities"] = quantities
    return out


def _finish(quantities: dict) -> dict:
    """Add gap = real - observed and gap_relative = gap / real (None when real is 0)."""
    for v in quantities.values():
        v["gap"] = v["real"] - v["observed"]
        v["gap_relative"] = v["gap"] / v["real"] if v["real"] else None
    return quantities


def _add(total: dict, quantities: dict) -> None:
    for q, v in quantities.items():
        t = total.setdefault(q, _q())
        t["real"] += v["real"]
        t["observed"] += v["observed"]


def compute_truth(cluster, a: int, b: int) -> dict:
    """The ground truth of [a, b) epoch seconds as plain JSON-ready dicts."""
    if b <= a:
        raise ValueError(f"empty window: end ({b}) must be after start ({a})")
    w = Window(cluster, a, b)
    pods, pvcs = cluster.objects(a, b)
    ns_info = {n.name: n.cost_center for n in cluster.namespaces}
    jobs: dict[tuple, dict] = {}
    for pod in sorted(
        pods, key=lambda p: (p.namespace, p.workload.kind, p.workload.name, p.created, p.name)
    ):
        wl = pod.workload
        job = jobs.setdefault(
            (wl.namespace, wl.kind, wl.name),
            {
                "cluster": cluster.cluster_label,
                "namespace": wl.namespace,
                "kind": wl.kind,
                "name": wl.name,
                "parent_kind": wl.parent_kind,
                "parent_name": wl.parent_name,
                "cost_center": ns_info[wl.namespace],
                "account": ns_info[wl.namespace] or "unassigned",
                "pods": [],
                "quantities": {},
            },
        )
        pt = _pod_truth(w, pod)
        job["pods"].append(pt)
        _add(job["quantities"], pt["quantities"])
    namespaces = {
        n.name: {
            "cost_center": n.cost_center,
            "account": n.cost_center or "unassigned",
            "quantities": {q: _q() for q in QUANTITIES},
        }
        for n in cluster.namespaces
    }
    for job in jobs.values():
        job["quantities"].setdefault("storage_byte_seconds", _q())
        _finish(job["quantities"])
        _add(namespaces[job["namespace"]]["quantities"], job["quantities"])
    pvc_items = []
    for v in sorted(pvcs, key=lambda v: (v.namespace, v.name, v.created)):
        lo, hi = _clip(v.created, v.deleted, a, b)
        q = {"storage_byte_seconds": _q(v.storage * max(0, hi - lo), v.storage * max(0, hi - lo))}
        pvc_items.append(
            {
                "cluster": cluster.cluster_label,
                "namespace": v.namespace,
                "name": v.name,
                "storage_bytes": v.storage,
                "storage_class": v.storage_class,
                "volume": v.volume,
                "workload": v.workload,
                "created": iso(v.created),
                "deleted": iso(v.deleted),
                "cost_center": ns_info[v.namespace],
                "account": ns_info[v.namespace] or "unassigned",
                "quantities": _finish(q),
            }
        )
        _add(namespaces[v.namespace]["quantities"], q)
    totals: dict = {}
    for ns in namespaces.values():
        _finish(ns["quantities"])
        _add(totals, ns["quantities"])
    gaps = [
        {"node": t.node, "start": iso(g0 // 1000), "end": iso(g1 // 1000)}
        for (kind, _), (t, gs) in w.targets.items()
        if kind == "cadvisor"
        for g0, g1 in gs
        if g0 < b * 1000 and g1 > a * 1000
    ]
    return {
        "window": {"start": iso(a), "end": iso(b)},
        "cluster": cluster.cluster_label,
        "parameters": {
            "seed": cluster.seed,
            "nodes": [n.name for n in cluster.nodes],
            "flavour": cluster.flavour,
            "scrape_interval": cluster.scrape_interval,
            "jobs_per_hour": cluster.jobs_per_hour,
            "behaviours": sorted(cluster.behaviours),
            "max_bridged_gap": cluster.max_bridged_gap,
        },
        "scrape_gaps": gaps,
        "jobs": list(jobs.values()),
        "pvcs": pvc_items,
        "namespaces": namespaces,
        "totals": _finish(totals),
    }
