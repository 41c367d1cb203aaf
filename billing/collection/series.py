"""What one answer series says, whoever scraped it: label normalisation and deduplication.

Real setups hand the collector the same object under several label sets:

- scraped with `honor_labels: false`, an exporter's own `namespace`, `pod` and `container`
  arrive as `exported_namespace`, `exported_pod`, `exported_container`, while the plain
  labels then name the scrape target (kube-state-metrics' own pod, the kubelet Service's
  namespace): `object_labels` moves the exported values back;
- an HA Prometheus pair read without deduplication holds every series twice, differing by
  a replica label: `one_replica` keeps one replica per series and hour, the same one for
  every query, so a counter's increase and a gauge's samples come from one scraper;
- cAdvisor names a pod, not a pod instance: a pod recreated under the same name (a
  StatefulSet) is told apart by the pod uid inside the cgroup `id` (`pod_uid_of_cgroup`).

Raw samples read for several hours in one query are cut back to each hour's own window by
`around`.
"""

import re
from datetime import datetime

EXPORTED = ("namespace", "pod", "container")
EXPORTED_NAMES = tuple(f"exported_{name}" for name in EXPORTED)
# The uid in a cgroup path: cgroupfs ".../pod<uid>/..." or systemd "...-pod<uid_>.slice".
CGROUP_POD_UID = re.compile(
    r"pod([0-9a-f]{8}[-_][0-9a-f]{4}[-_][0-9a-f]{4}[-_][0-9a-f]{4}[-_][0-9a-f]{12})"
)


def object_labels(labels: dict[str, str]) -> dict[str, str]:
    """The labels with the object's own namespace, pod and container restored."""
    if not any(name in labels for name in EXPORTED_NAMES):
        return labels
    out = dict(labels)
    for name in EXPORTED:
        value = out.pop(f"exported_{name}", "")
        if value:
            out[name] = value
    return out


def one_replica(points: list[tuple], replica_labels: tuple[str, ...]) -> list[tuple]:
    """Keep, of (hour, labels, value) points that differ only by a replica label, one.

    The replica kept is the first by name among those that answered for the series in
    that hour, so every query of a collection picks the same scraper.
    """
    present = [r for r in replica_labels if any(r in labels for _, labels, _ in points)]
    if not present:
        return points
    chosen: dict[tuple, tuple] = {}
    for hour, labels, value in points:
        identity = (hour, tuple(sorted((k, v) for k, v in labels.items() if k not in present)))
        rank = tuple(labels.get(r, "") for r in present)
        if identity not in chosen or rank < chosen[identity][0]:
            chosen[identity] = (rank, (hour, labels, value))
    return [point for _, point in chosen.values()]


def pod_uid_of_cgroup(cgroup_id: str) -> str:
    """The pod uid in a cAdvisor cgroup id, or "" when it holds none."""
    match = CGROUP_POD_UID.search(cgroup_id or "")
    return match.group(1).replace("_", "-") if match else ""


def around(series: list[tuple], h: datetime, margin: int) -> list[tuple]:
    """The series with samples from `margin` s before hour h to `margin` s after it, cut
    to those samples: what a query of that window alone would have answered."""
    lo = h.timestamp() - margin
    hi = lo + 3600 + 2 * margin
    # Samples lie on a millisecond grid: the window is [lo, hi - 1 ms].
    cut = [
        (labels, [(t, v) for t, v in values if lo - 0.0005 <= t < hi - 0.0005])
        for labels, values in series
    ]
    return [(labels, values) for labels, values in cut if values]
