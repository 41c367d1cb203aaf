"""OpenMetrics history for `promtool tsdb create-blocks-from openmetrics`.

Layout: one `# HELP`/`# TYPE` header per family (counters typed without `_total`), each family
contiguous, each series' samples in time order, timestamps in seconds with ms precision, labels
as Prometheus stores them (target labels added, clashing exporter labels renamed exported_*),
and a final `# EOF`. The hot loop formats a whole series with one list comprehension over
precomputed timestamp strings and joins it into a single write.
"""

from simulator import exporters

FLUSH_CHUNKS = 2000


def type_name(name: str, mtype: str) -> str:
    """OpenMetrics family name: counters drop the `_total` suffix of their samples."""
    return name[:-6] if mtype == "counter" and name.endswith("_total") else name


def seconds_text(t_ms: int) -> str:
    """'1700000000.123' for an integer ms timestamp."""
    return f"{t_ms // 1000}.{t_ms % 1000:03d}"


def _window(cluster, a: int, b: int):
    """Per target: (scrape times, their timestamp strings) in [a, b)."""
    out = {}
    for t in cluster.targets():
        times = cluster.scrape_times(t, a, b)
        out[t.path] = (times, [seconds_text(x) for x in times])
    return out


def write_history(cluster, a: int, b: int, out) -> dict:
    """Write [a, b) epoch seconds to `out` (path or writable text file); return size stats."""
    if b <= a:
        raise ValueError(f"empty window: end ({b}) must be after start ({a})")
    if hasattr(out, "write"):
        return _write(cluster, a, b, out)
    with open(out, "w", encoding="utf-8") as fh:
        return _write(cluster, a, b, fh)


def _write(cluster, a: int, b: int, fh) -> dict:
    pods, pvcs = cluster.objects(a, b)
    grid = _window(cluster, a, b)
    stats = {"series": 0, "samples": 0, "bytes": 0}
    chunks: list[str] = []

    def flush():
        text = "".join(chunks)
        stats["bytes"] += len(text)
        fh.write(text)
        chunks.clear()

    for kind in ("cadvisor", "ksm", "dcgm"):
        targets = [t for t in cluster.targets() if t.kind == kind]
        for name, mtype, help_text in exporters.families(kind):
            fam = type_name(name, mtype)
            chunks.append(f"# HELP {fam} {help_text}\n# TYPE {fam} {mtype}\n")
            for target in targets:
                times, stamps = grid[target.path]
                for labels, index, values in exporters.series(
                    cluster, target, pods, pvcs, name, times
                ):
                    prefix = f"{name}{{{exporters.stored_labels(labels, target.labels)}}} "
                    if isinstance(index, int):
                        ts = stamps[index : index + len(values)]
                    else:
                        ts = [stamps[i] for i in index]
                    chunks.append(
                        "".join([f"{prefix}{v} {s}\n" for v, s in zip(values, ts, strict=True)])
                    )
                    stats["series"] += 1
                    stats["samples"] += len(values)
                if len(chunks) > FLUSH_CHUNKS:
                    flush()
    chunks.append("# EOF\n")
    flush()
    return stats
