"""Live exposition (Prometheus text format 0.0.4) of one target at one instant.

cAdvisor lines carry millisecond timestamps like the kubelet's; KSM and DCGM lines carry none.
Labels are the exporter's own: Prometheus adds the target labels when it scrapes.
"""

from simulator import exporters

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


def _number(v) -> str:
    return repr(v) if isinstance(v, float) else str(v)


def render_exposition(cluster, target, at_ms: int) -> str:
    """The exposition text of `target` at `at_ms` (wall clock; scrape gaps do not apply).

    Live, no target is ever down or restarted: outages and `ksm-restart` exist in history only.
    """
    a = at_ms // 1000
    pods, pvcs = cluster.objects(a, a + 1)
    stamp = f" {at_ms}" if target.kind == "cadvisor" else ""
    lines = []
    for name, mtype, help_text in exporters.families(target.kind, cluster.behaviours):
        body = [
            f"{name}{{{exporters.exposition_labels(labels)}}} {_number(values[0])}{stamp}"
            for labels, _, values in exporters.series(cluster, target, pods, pvcs, name, [at_ms])
        ]
        if body:
            lines += [f"# HELP {name} {help_text}", f"# TYPE {name} {mtype}", *body]
    return "\n".join(lines) + "\n"
