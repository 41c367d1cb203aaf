"""OpenMetrics history for `promtool tsdb create-blocks-from openmetrics`.

Layout: one `# HELP`/`# TYPE` header per family (counters typed without `_total`; a counter
whose samples lack it, dcgm-exporter's energy, typed `unknown`), each family
contiguous, each series' samples in time order, timestamps in seconds with ms precision, labels
as Prometheus stores them (target labels added, clashing exporter labels renamed exported_*),
and a final `# EOF`. The hot loop formats a whole series with one list comprehension over
precomputed timestamp strings and joins it into a single write. A series whose target labels
change during the window (a restarted kube-state-metrics on a new pod IP) is written as one
series per target-label segment.

The file is written as a stream: each series goes to the file as soon as it is formatted, so
memory holds one series' text besides the window's objects and their usage levels, whose
state is bounded per object (simulator/levels.py), not by the window or the samples.
"""

from bisect import bisect_left

from simulator import exporters

WRITE_BUFFER = 1 << 20  # bytes: a series is a few kB, written as one string


def type_name(name: str, mtype: str) -> str:
    """OpenMetrics family name: counters drop the `_total` suffix of their samples."""
    return name[:-6] if mtype == "counter" and name.endswith("_total") else name


def type_text(name: str, mtype: str) -> str:
    """OpenMetrics type of a family: OpenMetrics names a counter's samples <family>_total, so
    a counter sampled under its bare name (dcgm-exporter's energy) is written `unknown`; the
    stored series keep the exporter's name (backfilled blocks hold no type anyway)."""
    return "unknown" if mtype == "counter" and not name.endswith("_total") else mtype


def seconds_text(t_ms: int) -> str:
    """'1700000000.123' for an integer ms timestamp."""
    return f"{t_ms // 1000}.{t_ms % 1000:03d}"


def _window(cluster, a: int, b: int):
    """Per target: (scrape times, their timestamp strings, segments) in [a, b).

    A segment is (target labels, first index, end index) into the scrape times: one for the
    whole window, or one per kube-state-metrics pod generation (`ksm-restart`).
    """
    out = []
    for t in cluster.targets():
        times = cluster.scrape_times(t, a, b)
        segs = [
            (labels, bisect_left(times, lo * 1000), bisect_left(times, hi * 1000))
            for labels, lo, hi in cluster.segments(t, a, b)
        ]
        out.append((times, [seconds_text(x) for x in times], [s for s in segs if s[1] < s[2]]))
    return out


def _pieces(index, values, stamps, segs):
    """(target labels, values, timestamp strings) of one series, split by target segment."""
    if isinstance(index, int):
        if len(segs) == 1 and segs[0][1] <= index and index + len(values) <= segs[0][2]:
            yield segs[0][0], values, stamps[index : index + len(values)]
            return
        for labels, k0, k1 in segs:
            j0, j1 = max(index, k0), min(index + len(values), k1)
            if j0 < j1:
                yield labels, values[j0 - index : j1 - index], stamps[j0:j1]
        return
    for labels, k0, k1 in segs:
        picked = [(v, stamps[i]) for v, i in zip(values, index, strict=True) if k0 <= i < k1]
        if picked:
            yield labels, [v for v, _ in picked], [s for _, s in picked]


def write_history(cluster, a: int, b: int, out) -> dict:
    """Write [a, b) epoch seconds to `out` (path or writable text file); return size stats."""
    if b <= a:
        raise ValueError(f"empty window: end ({b}) must be after start ({a})")
    if hasattr(out, "write"):
        return _write(cluster, a, b, out)
    with open(out, "w", encoding="utf-8", buffering=WRITE_BUFFER) as fh:
        return _write(cluster, a, b, fh)


def _write(cluster, a: int, b: int, fh) -> dict:
    pods, pvcs = cluster.objects(a, b)
    grid = _window(cluster, a, b)
    stats = {"series": 0, "samples": 0, "bytes": 0}

    def emit(text: str) -> None:
        stats["bytes"] += len(text)
        fh.write(text)

    for kind in ("cadvisor", "ksm", "dcgm"):
        targets = [(t, g) for t, g in zip(cluster.targets(), grid, strict=True) if t.kind == kind]
        for name, mtype, help_text in exporters.families(kind, cluster.behaviours):
            fam = type_name(name, mtype)
            emit(f"# HELP {fam} {help_text}\n# TYPE {fam} {type_text(name, mtype)}\n")
            for target, (times, stamps, segs) in targets:
                for labels, index, values in exporters.series(
                    cluster, target, pods, pvcs, name, times
                ):
                    for tlabels, vals, ts in _pieces(index, values, stamps, segs):
                        prefix = f"{name}{{{exporters.stored_labels(labels, tlabels)}}} "
                        emit("".join([f"{prefix}{v} {s}\n" for v, s in zip(vals, ts, strict=True)]))
                        stats["series"] += 1
                        stats["samples"] += len(vals)
    emit("# EOF\n")
    return stats
