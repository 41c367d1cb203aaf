"""Dispatch from a scrape target to its exporter's families and series, and label rendering.

Every exporter's `series()` yields (labels, index, values) where index is either the first
scrape-time index of a contiguous run or an explicit list of indexes.
"""

from simulator import cadvisor, dcgm, ksm

FAMILIES = {"cadvisor": cadvisor.FAMILIES, "ksm": ksm.FAMILIES, "dcgm": dcgm.FAMILIES}


def families(kind: str, behaviours=frozenset()) -> list[tuple[str, str, str]]:
    """(name, type, help) of the families an exporter kind emits (its version may drop some)."""
    if kind == "ksm":
        return ksm.families(behaviours)
    return FAMILIES[kind]


def series(cluster, target, pods, pvcs, family: str, times: list[int]):
    """The exporter series of `family` at `target` for sorted scrape `times` (ms)."""
    if target.kind == "cadvisor":
        node = cluster.node_by_name[target.node]
        return cadvisor.series(cluster.flavour, node, pods, family, times)
    if target.kind == "ksm":
        return ksm.series(cluster, pods, pvcs, family, times)
    node = cluster.node_by_name[target.node]
    return dcgm.series(cluster.seed, node, pods, family, times, cluster.behaviours)


def _escape(v: str) -> str:
    return v.replace("\\", r"\\").replace('"', r"\"").replace("\n", r"\n")


def exposition_labels(labels: dict) -> str:
    """Label text as the exporter prints it (empty values kept)."""
    return ",".join(f'{k}="{_escape(v)}"' for k, v in labels.items())


def stored_labels(labels: dict, target_labels: dict) -> str:
    """Label text as Prometheus stores the series after a honor_labels=false scrape.

    Exporter labels clashing with target labels become exported_<name>; empty values vanish
    (Prometheus does not store empty labels); names are sorted like Prometheus sorts them.
    """
    out = {}
    for k, v in labels.items():
        if v == "":
            continue
        out[f"exported_{k}" if k in target_labels else k] = str(v)
    out.update(target_labels)
    return ",".join(f'{k}="{_escape(out[k])}"' for k in sorted(out))
