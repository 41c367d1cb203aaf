"""The public entry point: `Cluster`, a seeded synthetic Kubernetes cluster.

    cluster = Cluster(seed=1)
    cluster.history(start, end, "history.om")   # OpenMetrics for promtool backfill
    cluster.exposition(cluster.targets()[0], at)  # what one exporter answers at `at`
    cluster.truth(start, end)                   # exact ground truth as plain dicts

Times at this API are timezone-aware UTC datetimes (epoch seconds are accepted too).
"""

from datetime import datetime

from simulator import batch
from simulator.behaviours import check_behaviours
from simulator.catalog import NAMESPACES, fleet, long_running, make_nodes
from simulator.energy_truth import DEFAULT_IDLE_PERCENT
from simulator.model import PVC, Pod
from simulator.targets import Gap, Target, make_targets, scrape_times, segments, target_gaps

FLAVOURS = ("containerd", "docker")
INTERVALS = (10, 15, 20, 30, 60)  # must divide 60 so scrapes line up with usage segments


def epoch(t: datetime | float | int) -> int:
    """Epoch seconds of an aware datetime (or of a number, passed through)."""
    if isinstance(t, datetime):
        if t.tzinfo is None:
            raise ValueError(f"naive datetime {t.isoformat()}: use a timezone-aware UTC datetime")
        return int(t.timestamp())
    return int(t)


class Cluster:
    """A deterministic synthetic cluster: state at any time depends on seed, parameters, time."""

    def __init__(
        self,
        seed: int = 1,
        nodes: int = 4,
        gpu_nodes: int = 2,
        jobs_per_hour: float = 30,
        flavour: str = "containerd",
        scrape_interval: int = 30,
        cluster_label: str | None = None,
        behaviours=(),
        max_bridged_gap: int = 3600,
        steady_pods: int = 0,
        steady_containers: int = 1,
    ):
        if flavour not in FLAVOURS:
            raise ValueError(f"flavour must be one of {FLAVOURS}, not {flavour!r}")
        if scrape_interval not in INTERVALS:
            raise ValueError(f"scrape_interval must be one of {INTERVALS}, not {scrape_interval}")
        if nodes < 0 or gpu_nodes < 0 or nodes + gpu_nodes == 0:
            raise ValueError("need at least one node (nodes + gpu_nodes >= 1)")
        if jobs_per_hour < 0:
            raise ValueError("jobs_per_hour must be >= 0")
        if max_bridged_gap < 0:
            raise ValueError("max_bridged_gap must be >= 0")
        if steady_pods < 0 or steady_containers < 1:
            raise ValueError("steady_pods must be >= 0 and steady_containers >= 1")
        self.seed = seed
        self.behaviours = check_behaviours(behaviours)
        # The collector's KUBEMON_MAX_BRIDGED_GAP: the truth counts what lies in a longer
        # data gap as unobservable.
        self.max_bridged_gap = max_bridged_gap
        self.flavour = flavour
        self.scrape_interval = scrape_interval
        self.cluster_label = cluster_label
        self.jobs_per_hour = jobs_per_hour
        self.nodes = make_nodes(seed, nodes, gpu_nodes, self.behaviours)
        self.node_by_name = {n.name: n for n in self.nodes}
        # Built once: steady pods never change, and their level caches are then shared.
        self.fleet = fleet(seed, self.nodes, steady_pods, steady_containers)
        self.namespaces = list(NAMESPACES)
        self._targets = make_targets(
            seed, self.nodes, scrape_interval, cluster_label, self.behaviours
        )
        self._slots: dict = {}

    # -- objects ------------------------------------------------------------------------------

    def targets(self) -> list[Target]:
        """The scrape targets (cAdvisor per node, kube-state-metrics, DCGM per GPU node).

        With `ha-pair`, each target appears twice (`ha_replica` 0 and 1).
        """
        return list(self._targets)

    def target(self, path: str) -> Target:
        """The target served at URL `path` (the first of an HA pair's twins)."""
        for t in self._targets:
            if t.path == path:
                return t
        raise KeyError(path)

    def _slot(self, key: tuple, make):
        if key not in self._slots:
            if len(self._slots) > 4096:  # bound memory on very long runs
                self._slots.clear()
            self._slots[key] = make()
        return self._slots[key]

    def objects(self, a: int, b: int) -> tuple[list[Pod], list[PVC]]:
        """Pods and PVCs whose lifetime [created, deleted) overlaps [a, b) epoch seconds."""
        pods, pvcs = long_running(self.seed, self.nodes, a, b, self.behaviours)
        pods += self.fleet
        h0, h1 = a // batch.HOUR - batch.LOOKBACK_SLOTS, (b - 1) // batch.HOUR
        for h in range(h0, h1 + 1):
            p, v = self._slot(
                ("h", h),
                lambda h=h: batch.hour_jobs(
                    self.seed, h, self.jobs_per_hour, self.nodes, self.behaviours
                ),
            )
            pods += p
            pvcs += v
            p, v = self._slot(("c", h), lambda h=h: batch.cron_jobs(self.seed, h, self.nodes))
            pods += p
        g0 = a // batch.GPU_BLOCK - batch.GPU_LOOKBACK_BLOCKS
        for blk in range(g0, (b - 1) // batch.GPU_BLOCK + 1):
            for n in self.nodes:
                if n.gpus:
                    p, v = self._slot(
                        ("g", blk, n.name),
                        lambda blk=blk, n=n: batch.gpu_jobs(self.seed, blk, n, self.behaviours),
                    )
                    pods += p
                    pvcs += v

        def alive(o) -> bool:
            return o.created < b and (o.deleted is None or o.deleted > a)

        return [p for p in pods if alive(p)], [v for v in pvcs if alive(v)]

    def gaps(self, target: Target, a: int, b: int) -> list[Gap]:
        """Scrape gaps (epoch seconds, with their cause) of a target overlapping [a, b)."""
        return target_gaps(self.seed, self.nodes, self.behaviours, target, a, b)

    def segments(self, target: Target, a: int, b: int) -> list[tuple[dict, int, int]]:
        """(target labels, from, to) epoch seconds: the target's labels over [a, b).

        One segment, unless kube-state-metrics restarts on new pod IPs (`ksm-restart`).
        """
        return segments(self.seed, target, self.behaviours, a, b)

    def scrape_times(self, target: Target, a: int, b: int) -> list[int]:
        """Scrape times (ms) of `target` in [a, b) seconds, without those inside gaps."""
        gaps = [(g.start * 1000, g.end * 1000) for g in self.gaps(target, a, b)]
        return scrape_times(target, a * 1000, b * 1000, gaps)

    # -- outputs ------------------------------------------------------------------------------

    def history(self, start, end, out) -> dict:
        """Write OpenMetrics history of [start, end) to `out` (path or text file); stats dict."""
        from simulator.history import write_history

        return write_history(self, epoch(start), epoch(end), out)

    def exposition(self, target: Target | str, at) -> str:
        """The text (format 0.0.4) the target's exporter answers at time `at`."""
        from simulator.exposition import render_exposition

        if isinstance(target, str):
            target = self.target(target)
        # round, not truncate: ms / 1000 * 1000 may land just below the intended millisecond
        at_ms = round((at.timestamp() if isinstance(at, datetime) else at) * 1000)
        return render_exposition(self, target, at_ms)

    def truth(self, start, end, gpu_idle_percent: float = DEFAULT_IDLE_PERCENT) -> dict:
        """Ground truth of [start, end): jobs, pods, containers, PVCs and billed quantities.

        `gpu_idle_percent`: GPU activity below it counts as idle (`gpu_idle_seconds`).
        """
        from simulator.truth import compute_truth

        return compute_truth(self, epoch(start), epoch(end), gpu_idle_percent)
