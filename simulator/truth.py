"""Exact ground truth of a window [start, end): what happened and what the exporters showed.

"real" quantities integrate the true usage over the true running intervals clipped to the
window. "observed" quantities are what exact accounting over the scraped samples gives:
counters per raw series = value at the last sample in the window minus value at the last
sample before it (0 for a series without earlier sample); gauges = the real integral less what
lies in its target's scrape gaps, unless the collector bridges the gap (at most
`cluster.max_bridged_gap` from the last sample before it to the first after it, the series
sampled on both sides); request/GPU quantities = the real ones less what lies in a
kube-state-metrics gap that is not bridged or after which the pod is gone (KSM's start and
completion times are exact); storage likewise, a claim bridged only when seen on both sides.
"""

from dataclasses import dataclass
from datetime import UTC, datetime

from simulator import cadvisor, dcgm, energy_truth, gpus, users
from simulator.targets import first_scrape_from, last_scrape_before

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


def iso_ms(t_ms: int | None) -> str | None:
    """ISO 8601 UTC with milliseconds and a Z suffix, None for "never"."""
    if t_ms is None:
        return None
    return datetime.fromtimestamp(t_ms / 1000, UTC).isoformat(timespec="milliseconds")[:-6] + "Z"


def _clip(a: int, b: int | None, lo: int, hi: int) -> tuple[int, int]:
    return max(a, lo), min(hi if b is None else b, hi)


@dataclass(slots=True)
class DataGap:
    """A stretch without samples of one target (or of every KSM replica at once).

    [start, end) in epoch seconds is when nothing was scraped; `data_start`/`data_end` (ms)
    are the last sample before it and the first after it, the gap the collector sees; it
    bridges the gap when data_end - data_start <= max_bridged_gap.
    """

    start: int
    end: int
    causes: list[str]
    data_start: int | None
    data_end: int
    bridged: bool
    interval_ms: int

    def hidden_ms(self) -> tuple[int, int]:
        """What no sample stands for: each sample stands for half an interval on either
        side, so the gap hides (last sample before + i/2, first sample after - i/2)."""
        half = self.interval_ms // 2
        lo = self.start * 1000 if self.data_start is None else self.data_start + half
        return lo, self.data_end - half

    def overlap(self, lo: int, hi: int) -> float:
        """Seconds of [lo, hi) the gap hides."""
        a, b = self.hidden_ms()
        return max(0, min(hi * 1000, b) - max(lo * 1000, a)) / 1000


def _ms(gaps) -> list[tuple[int, int]]:
    return [(g.start * 1000, g.end * 1000) for g in gaps]


def _merged(target, gaps) -> list[tuple[int, int, list[str]]]:
    """Gaps merged when no scrape of the target falls between them."""
    out: list[tuple[int, int, list[str]]] = []
    for g in sorted(gaps, key=lambda g: (g.start, g.end)):
        if out and first_scrape_from(target, out[-1][1] * 1000, []) >= g.start * 1000:
            lo, hi, causes = out[-1]
            if g.cause not in causes:
                causes = [*causes, g.cause]
            out[-1] = (lo, max(hi, g.end), causes)
        else:
            out.append((g.start, g.end, [g.cause]))
    return out


def _data_gap(targets, start: int, end: int, causes, max_bridged: int) -> DataGap:
    """The DataGap [start, end) as seen through the samples of `targets` ((target, ms gaps))."""
    before = [last_scrape_before(t, start * 1000, (start - 86_400) * 1000, ms) for t, ms in targets]
    before = [x for x in before if x is not None]
    data_start = max(before) if before else None
    data_end = min(first_scrape_from(t, end * 1000, ms) for t, ms in targets)
    bridged = data_start is not None and data_end - data_start <= max_bridged * 1000
    interval = max(t.interval_ms for t, _ in targets)
    return DataGap(start, end, causes, data_start, data_end, bridged, interval)


def _intersection(a: list[tuple[int, int]], b: list[tuple[int, int]]) -> list[tuple[int, int]]:
    out = []
    for lo, hi in a:
        for lo2, hi2 in b:
            if max(lo, lo2) < min(hi, hi2):
                out.append((max(lo, lo2), min(hi, hi2)))
    return sorted(out)


class Window:
    """The window, its scrape grids and gaps, and helpers shared by all truth computations.

    Per target the gaps are merged into DataGaps. A bridged gap hides nothing from the
    collector for an object seen on both sides of it; an unbridged one hides what lies in it.
    Kube-state-metrics data is missing only when every KSM replica misses it; an HA pair's
    second Prometheus is not used (its gaps are the first one's).
    """

    def __init__(self, cluster, a: int, b: int):
        self.cluster, self.a, self.b = cluster, a, b
        self.targets = {}  # (kind, node) -> (target, gaps as ms pairs, DataGaps)
        self.listing = []  # (target, DataGaps) of every target
        self.replicas = {}  # (kind, node) -> [(target, gaps as ms pairs)]: HA pairs, replicas
        max_bridged = cluster.max_bridged_gap
        members: dict = {}
        for t in cluster.targets():
            # gaps from a day before: the last sample before the window may precede it
            gaps = cluster.gaps(t, a - 86_400, b)
            ms = _ms(gaps)
            data = [
                _data_gap([(t, ms)], lo, hi, causes, max_bridged)
                for lo, hi, causes in _merged(t, gaps)
            ]
            self.listing.append((t, data))
            self.replicas.setdefault((t.kind, t.node), []).append((t, ms))
            members.setdefault((t.kind, t.node), []).append((t, ms, data))
        # Data is missing only when every scraper of it misses it: both Prometheus of an HA
        # pair, every kube-state-metrics replica.
        for key, group in members.items():
            pieces = [(g.start, g.end) for g in group[0][2]]
            for _, _, data in group[1:]:
                pieces = _intersection(pieces, [(g.start, g.end) for g in data])
            causes = sorted({c for _, _, data in group for g in data for c in g.causes})
            scrapers = [(t, ms) for t, ms, _ in group]
            data = [_data_gap(scrapers, lo, hi, causes, max_bridged) for lo, hi in pieces]
            first = next((m for m in group if m[0].ha_replica == 0), group[0])
            self.targets[key] = (first[0], first[1], data)
        self.ksm_gaps = next((v[2] for k, v in self.targets.items() if k[0] == "ksm"), [])

    def ksm_seconds(self, lo: int, hi: int, deleted: int | None) -> int:
        """Seconds of [lo, hi) (window-clipped) an object's requests are billable through KSM.

        What lies in an unbridged KSM gap is lost; so is what lies in a bridged one when the
        object (deleted at `deleted`) is not exported after it: nothing tells it existed then.
        """
        if lo >= hi:
            return 0
        lost = 0
        for g in self.ksm_gaps:
            if not g.bridged or (deleted is not None and deleted * 1000 <= g.data_end):
                lost += g.overlap(lo, hi)
        return hi - lo - lost

    def storage_seconds(self, lo: int, hi: int, created: int, deleted: int | None) -> int:
        """Seconds of [lo, hi) a claim living [created, deleted) is billable through KSM.

        A claim's existence is bridged through a gap when it is exported after it: its
        creation time (kube_persistentvolumeclaim_created) dates it, were it created inside.
        """
        if lo >= hi:
            return 0
        lost = 0
        for g in self.ksm_gaps:
            seen_after = deleted is None or deleted * 1000 > g.data_end
            if not (g.bridged and seen_after):
                lost += g.overlap(lo, hi)
        return hi - lo - lost

    def counter_observed(self, key, lv, origin_ms: int, s: int, e: int | None, div) -> float:
        """Observed increase of a counter series living [s, e) with levels `lv`.

        An HA pair's replicas scrape the same counter at their own phases: their samples
        together are what was observed.
        """
        lo, hi = _clip(s, e, self.a, self.b)
        if lo >= hi:
            return 0

        def latest(before_ms: int, not_before_ms: int):
            found = [
                last_scrape_before(t, before_ms, not_before_ms, gaps)
                for t, gaps in self.replicas[key]
            ]
            return max((x for x in found if x is not None), default=None)

        last = latest(hi * 1000, lo * 1000)
        if last is None:
            return 0
        prev = latest(self.a * 1000, s * 1000) if s < self.a else None
        p0 = lv.prefix(origin_ms)
        v_last = (lv.prefix(last) - p0) / 1e6 if div == 1e6 else (lv.prefix(last) - p0) // div
        if prev is None:
            return v_last
        v_prev = (lv.prefix(prev) - p0) / 1e6 if div == 1e6 else (lv.prefix(prev) - p0) // div
        return v_last - v_prev

    def gauge_observed(self, key, lv, s: int, e: int | None) -> float:
        """Integral (value x seconds) of a gauge series living [s, e) while it was watched.

        What happened during a scrape gap of its target is what no scraper could see. Through
        a gap the collector bridges (with samples of the series on both sides) the series is
        observed at the mean of its last sample before and its first after; the rest is
        observable, as the samples tell it to an estimator that knows when the series lived.
        """
        _, _, data = self.targets[key]
        lo, hi = _clip(s, e, self.a, self.b)
        if lo >= hi:
            return 0
        total = lv.integral(lo * 1000, hi * 1000)
        for g in data:
            both_sides = (
                g.data_start is not None
                and g.data_start >= s * 1000
                and (e is None or g.data_end < e * 1000)
            )
            g0, g1 = g.hidden_ms()
            # A series that began or ended inside the gap has no sample to stand for its
            # life there: all of it is hidden.
            if g.data_start is not None and s * 1000 >= g.data_start:
                g0 = min(g0, s * 1000)
            if e is not None and e * 1000 <= g.data_end:
                g1 = max(g1, e * 1000)
            a, b = max(g0, lo * 1000), min(g1, hi * 1000)
            if a < b:
                total -= lv.integral(a, b)
                if g.bridged and both_sides:
                    # bridged at the mean of the samples on either side of the gap
                    around = lv.values([g.data_start, g.data_end])
                    total += (around[0] + around[1]) / 2 * (b - a)
        return total / 1000

    def scrape_gaps(self) -> list[dict]:
        """Every target's gaps overlapping the window, as truth["scrape_gaps"] lists them."""
        return [
            {
                "kind": t.kind,
                "node": t.node,
                "job": t.labels["job"],
                # the instance before the gap (a restarted kube-state-metrics has a new one after)
                "instance": self.cluster.segments(t, g.start - 1, g.start)[0][0]["instance"],
                "prometheus_replica": t.labels.get("prometheus_replica"),
                "start": iso(g.start),
                "end": iso(g.end),
                "causes": g.causes,
                "last_sample_before": iso_ms(g.data_start),
                "first_sample_after": iso_ms(g.data_end),
                "bridged": g.bridged,
            }
            for t, data in self.listing
            for g in data
            if g.start < self.b and g.end > self.a
        ]


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


def request_phases(pod) -> list[tuple[int, int | None, list[dict]]]:
    """(from, to, requests dicts that count) of the pod's billed requests, in time order.

    Requests and GPUs are billed while the pod runs, from its first container's start (init
    containers included) to its completion: not while it is Pending before (unscheduled,
    pulling images), not after it completed although kube-state-metrics still exports its
    requests. During the init phase (until the last classic init container ends) the
    effective request is the largest classic init container's, per resource; after it, the
    app containers' plus the native sidecars' (init containers with restartPolicy Always).
    """
    end = pod.completed if pod.completed is not None else pod.deleted
    everyone = pod.all_containers()
    first = min((i.start for c in everyone for i in c.instances), default=pod.running)
    classic = [c for c in pod.init_containers if c.restart_policy != "Always"]
    after = [c.requests for c in pod.containers]
    after += [c.requests for c in pod.init_containers if c.restart_policy == "Always"]
    if not classic or not any(c.instances for c in classic):
        return [(first, end, after)]
    init_end = max(i.end for c in classic for i in c.instances)
    names = sorted({r for c in classic for r in c.requests})
    largest = {r: max(c.requests.get(r, 0) for c in classic) for r in names}
    return [(first, init_end, [largest]), (init_end, end, after)]


def _requests_truth(w: Window, pod, quantities: dict) -> None:
    """Add the request and weighted-GPU quantities of the pod's request phases."""
    for start, end, requests in request_phases(pod):
        lo, hi = _clip(start, end, w.a, w.b)
        active = max(0, hi - lo)
        seen = w.ksm_seconds(lo, hi, pod.deleted)
        for req in requests:
            for q, v in (
                ("cpu_request_core_seconds", req.get("cpu", 0)),
                ("memory_request_byte_seconds", req.get("memory", 0)),
                ("gpu_seconds", gpus.gpu_units(req)),
            ):
                quantities[q] = _q(
                    quantities[q]["real"] + v * active, quantities[q]["observed"] + v * seen
                )


def _gpu_memory_truth(w: Window, pod, node, c, quantities: dict) -> None:
    """DCGM FB used of the container's GPUs (or MIG instances, shared replicas) while it runs."""
    levels = [dcgm.fb_levels(pod, g) for g in c.gpus]
    levels += [dcgm.slice_fb_levels(node, pod, g, i) for g, i in c.slices]
    glo, ghi = _clip(pod.running, pod.completed, w.a, w.b)
    for fb in levels:
        real = fb.integral(glo * 1000, ghi * 1000) / 1000 if glo < ghi else 0
        obs = w.gauge_observed(("dcgm", pod.node), fb, pod.running, pod.completed)
        quantities["gpu_memory_mib_seconds"]["real"] += real
        quantities["gpu_memory_mib_seconds"]["observed"] += obs


def _container_truth(c, insts: list, node, init: bool) -> dict:
    out = {
        "name": c.name,
        "image": c.image,
        "requests": c.requests,
        "limits": c.limits,
        "gpus": c.gpus,
        "instances": insts,
    }
    if init:
        out.update(init=True, restart_policy=c.restart_policy)
    if c.slices:  # MIG instances or shared replicas, and the GPUs they are billed as
        out["slices"] = [
            {"gpu": g, "instance": i}
            | ({"profile": gpus.mig_profile(node, g, i)} if node.gpu_mode == "mig" else {})
            for g, i in c.slices
        ]
        out["gpu_units"] = gpus.gpu_units(c.requests)
    return out


def _pod_truth(w: Window, pod) -> dict:
    node = w.cluster.node_by_name.get(pod.node)  # None: never scheduled
    quantities = {q: _q() for q in QUANTITIES if q != "storage_byte_seconds"}
    containers = []
    for c in pod.all_containers():
        insts = [
            _instance_truth(w, pod.node, i)
            for i in c.instances
            if i.start < w.b and (i.end is None or i.end > w.a)
        ]
        for it in insts:
            for q in ("cpu_core_seconds", "memory_byte_seconds"):
                quantities[q]["real"] += it[q]["real"]
                quantities[q]["observed"] += it[q]["observed"]
        _gpu_memory_truth(w, pod, node, c, quantities)
        init = any(c is i for i in pod.init_containers)
        containers.append(_container_truth(c, insts, node, init))
    _requests_truth(w, pod, quantities)
    estimate = energy_truth.pod_quantities(w, pod, node, quantities)
    out = {
        "name": pod.name,
        "uid": pod.uid,
        "node": pod.node or None,
        "host_network": pod.host_network,
        "created": iso(pod.created),
        "pending": iso(pod.created),
        "running": iso(pod.running) if node else None,  # never scheduled: never ran
        "completed": iso(pod.completed) if node else None,
        "deleted": iso(pod.deleted),
        "final_phase": pod.final_phase,
        "containers": containers,
    }
    if pod.scheduled is not None or node is None:  # Pending without a node for a while
        out["scheduled"] = iso(pod.scheduled_at())
    if pod.initialized is not None:  # init containers ran before the app containers
        out["initialized"] = iso(pod.initialized)
    if estimate:  # MIG or time-sliced: energy split by slice or among sharing pods
        out["gpu_energy_estimate"] = True
    for q, family in NET.items():
        if node is None:
            break
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


def compute_truth(
    cluster, a: int, b: int, gpu_idle_percent: float = energy_truth.DEFAULT_IDLE_PERCENT
) -> dict:
    """The ground truth of [a, b) epoch seconds as plain JSON-ready dicts."""
    if b <= a:
        raise ValueError(f"empty window: end ({b}) must be after start ({a})")
    w = Window(cluster, a, b)
    w.gpu_idle_percent = gpu_idle_percent
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
                "user": users.job_user(cluster.seed, wl),
                "cost_center": ns_info[wl.namespace],
                "account": ns_info[wl.namespace] or "unassigned",
                "pods": [],
                "quantities": {},
            },
        )
        pt = _pod_truth(w, pod)
        job["pods"].append(pt)
        if pt.get("gpu_energy_estimate"):
            job["gpu_energy_estimate"] = True
        _add(job["quantities"], pt["quantities"])
    namespaces = {
        n.name: {
            "cost_center": n.cost_center,
            "account": n.cost_center or "unassigned",
            "quantities": {q: _q() for q in (*QUANTITIES, *energy_truth.QUANTITIES)},
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
        seen = w.storage_seconds(lo, hi, v.created, v.deleted)
        q = {"storage_byte_seconds": _q(v.storage * max(0, hi - lo), v.storage * seen)}
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
            "gpu_idle_percent": gpu_idle_percent,
        },
        "scrape_gaps": w.scrape_gaps(),
        "jobs": list(jobs.values()),
        "pvcs": pvc_items,
        "namespaces": namespaces,
        "totals": _finish(totals),
        "gpu_energy": energy_truth.node_truth(w, iso_ms),
    }
