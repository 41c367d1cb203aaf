"""Data gaps: stretches in which an exporter sent nothing, and how billing treats them.

Every exporter has a heartbeat series that exists as long as it is scraped (the kubelet's root
cgroup, a kube-state-metrics node capacity, a GPU's memory). Two of its samples further apart
than two scrape intervals enclose a gap. Objects present on both sides of a gap no longer
than KUBEMON_MAX_BRIDGED_GAP are billed through it (a Prometheus restart, an exporter
upgrade); a longer gap is not bridged: what it hid is not billed and its hours are flagged.

The unobservable part of a gap between samples at t_a and t_b is (t_a + i/2, t_b - i/2):
each sample stands for the half interval on either side of it.

The collector counts each heartbeat's samples per hour and reads sample by sample only the
stretches that lack some (`short_windows`); a gauge is billed through a bridged gap at the
mean of its levels on either side (`neighbour_levels`).
"""

from dataclasses import dataclass

from billing.collection.series import object_labels, one_replica

KINDS = {"kubelet": "kubelet", "ksm": "kube-state-metrics", "dcgm": "dcgm-exporter"}


@dataclass(frozen=True)
class Gap:
    kind: str  # "kubelet", "ksm" or "dcgm"
    node: str  # the node of a kubelet or DCGM exporter; "" for kube-state-metrics
    start: float  # the exporter's last sample before the gap (unix seconds)
    end: float  # its first sample after it, or the end of what was read
    bridged: bool
    interval: int
    # The labels that select the exporter's series (job, instance), for neighbouring levels.
    labels: tuple[tuple[str, str], ...] = ()

    @property
    def exporter(self) -> str:
        return f"{KINDS[self.kind]} {self.node}".strip()

    @property
    def hidden(self) -> tuple[float, float]:
        """The stretch no sample stands for."""
        return self.start + self.interval / 2, self.end - self.interval / 2

    def length(self) -> float:
        return self.end - self.start - self.interval


def gaps_in(kind: str, node: str, times: list[float], interval: int, max_bridged: int, labels=()):
    """The gaps between consecutive sample times of one exporter."""
    times = sorted(set(times))
    return [
        Gap(kind, node, a, b, b - a - interval <= max_bridged, interval, labels)
        for a, b in zip(times, times[1:], strict=False)
        if b - a > 2 * interval
    ]


def overlap(lo: float, hi: float, a: float, b: float) -> float:
    return max(0.0, min(hi, b) - max(lo, a))


class Gaps:
    """The gaps of every exporter of a cluster over a stretch of hours."""

    def __init__(self, gaps: list[Gap]):
        self.all = gaps

    def of(self, kind: str, node: str = "") -> list[Gap]:
        # A whole-Prometheus outage shows as a gap of every exporter, so a pod's gauges
        # need only its own node's exporters and kube-state-metrics.
        return [g for g in self.all if g.kind == kind and (kind == "ksm" or g.node == node)]

    def hidden_seconds(self, kind: str, node: str, lo: float, hi: float, bridged: bool) -> float:
        """Seconds of [lo, hi) hidden by the exporter's gaps that are (not) bridged."""
        return sum(overlap(lo, hi, *g.hidden) for g in self.of(kind, node) if g.bridged == bridged)

    def bridges(self, kind: str, a: float, b: float) -> bool:
        """Does a bridged gap of the exporter explain the absence of samples in (a, b)?

        The object's own samples may come from another replica or scraper than the
        heartbeat's, up to two intervals off the gap's edges.
        """
        return any(
            g.bridged and g.start - 2 * g.interval <= a and b <= g.end + 2 * g.interval
            for g in self.of(kind)
        )

    def touching(self, t0: float, t1: float) -> list[Gap]:
        """The gaps that hide part of [t0, t1)."""
        return [g for g in self.all if overlap(t0, t1, *g.hidden) > 0]

    def flag(self, h0: float, h1: float) -> str:
        """Why the hour [h0, h1) is flagged, or "" when no unbridged gap touches it."""
        reasons = [
            f"{g.exporter} silent {g.length() / 60:.0f} min"
            for g in self.all
            if not g.bridged and overlap(h0, h1, *g.hidden) > 0
        ]
        return "; ".join(sorted(set(reasons)))


def existence_seconds(
    times: list[float], h0: float, h1: float, interval: int, bridged, created=None
) -> float:
    """Seconds of [h0, h1) during which an object sampled at `times` existed.

    Consecutive samples closer than two intervals, or separated by a bridged gap of their
    exporter (`bridged(a, b)`), belong to one stretch of existence; each stretch reaches
    half an interval past its first and last sample, or back to the object's creation
    time when that is known and nothing but a scrape or a bridged gap separates them.
    """
    times = sorted(set(times))
    if not times:
        return 0.0
    stretches, first, last = [], times[0], times[0]
    for t in times[1:]:
        if t - last <= 2 * interval or bridged(last, t):
            last = t
            continue
        stretches.append([first - interval / 2, last + interval / 2])
        first = last = t
    stretches.append([first - interval / 2, last + interval / 2])
    begin = times[0]
    if (
        created is not None
        and created <= begin
        and (begin - created <= interval or bridged(created, begin))
    ):
        stretches[0][0] = created
    return sum(overlap(h0, h1, a, b) for a, b in stretches)


def short_windows(counts: list, first: float, end: float, full: float) -> list[tuple[float, float]]:
    """The stretches of hour windows (ending at first, first + 1 h, ..., end) in which some
    heartbeat series had fewer samples than `full`, or none between others, merged."""
    steps = [first + 3600 * k for k in range(round((end - first) / 3600) + 1)]
    short = set()
    for series in counts:
        seen = {round(float(t)): float(v) for t, v in series["values"]}
        present = [t for t in steps if round(t) in seen]
        for t in steps:
            if present[0] <= t <= present[-1] and seen.get(round(t), 0) < full:
                short.add(t)
            elif t > present[-1]:
                short.add(t)  # gone silent: read where it stopped
    merged: list[list[float]] = []
    for t in sorted(short):
        if merged and t - 3600 <= merged[-1][1]:
            merged[-1][1] = t
        else:
            merged.append([t - 3600, t])
    return [(a, b) for a, b in merged]


def exporter_node(kind: str, labels: dict) -> str:
    """The node an exporter's heartbeat belongs to ("" for kube-state-metrics)."""
    if kind == "ksm":
        return ""
    for name in ("node", "Hostname", "hostname"):
        if labels.get(name):
            return labels[name]
    return labels.get("instance", "").rsplit(":", 1)[0]


def neighbour_levels(kind: str, before: list, after: list, replicas: tuple[str, ...]) -> dict:
    """{series key: (last value before, first value after)} for series on both sides.

    Keys are a container instance's cgroup id, or a pod's (namespace, pod) whose devices'
    values are added up.
    """

    def key(labels):
        labels = object_labels(labels)
        if kind == "kubelet":
            return labels.get("id", "")
        return (labels.get("namespace", ""), labels.get("pod", ""))

    def values(answer, pick):
        out: dict = {}
        for series in one_replica([(0, s["metric"], s["values"]) for s in answer], replicas):
            samples = series[2]
            if samples:
                k = key(series[1])
                out[k] = out.get(k, 0.0) + float(pick(samples)[1])
        return out

    first, last = values(before, lambda s: s[-1]), values(after, lambda s: s[0])
    return {k: (first[k], last[k]) for k in first.keys() & last.keys() if k}
