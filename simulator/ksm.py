"""kube-state-metrics v2 series: object state at each scrape time (no timestamps).

Label order follows KSM (namespace, pod, uid first). Pods exist from `created` until `deleted`,
so completed Job pods keep exporting info, phase and requests/limits until their ttl expires.
`series()` yields (labels, index, values) like the other exporters.
"""

from bisect import bisect_left

from simulator.model import PVC, Namespace, Node, Pod
from simulator.pods import BACKOFF

GI = 1024**3
PHASES = ("Pending", "Succeeded", "Failed", "Unknown", "Running")
NONE = "<none>"  # what KSM prints for absent owners
_REQ = (
    "The number of requested request resource by a container. It is recommended to use the "
    "kube_pod_resource_requests metric exposed by kube-scheduler instead, as it is more "
    "precise."
)
_LIM = (
    "The number of requested limit resource by a container. It is recommended to use the "
    "kube_pod_resource_limits metric exposed by kube-scheduler instead, as it is more "
    "precise."
)
FAMILIES = [
    ("kube_job_info", "gauge", "[STABLE] Information about job."),
    ("kube_job_owner", "gauge", "[STABLE] Information about the Job's owner."),
    (
        "kube_namespace_labels",
        "gauge",
        "[STABLE] Kubernetes labels converted to Prometheus labels.",
    ),
    (
        "kube_node_status_allocatable",
        "gauge",
        "[STABLE] The allocatable for different resources "
        "of a node that are available for scheduling.",
    ),
    (
        "kube_node_status_capacity",
        "gauge",
        "[STABLE] The capacity for different resources of a node.",
    ),
    (
        "kube_persistentvolumeclaim_info",
        "gauge",
        "[STABLE] Information about persistent volume claim.",
    ),
    (
        "kube_persistentvolumeclaim_resource_requests_storage_bytes",
        "gauge",
        "[STABLE] The capacity of storage requested by the persistent volume claim.",
    ),
    ("kube_pod_completion_time", "gauge", "[STABLE] Completion time in unix timestamp for a pod."),
    ("kube_pod_container_resource_limits", "gauge", f"[STABLE] {_LIM}"),
    (
        "kube_pod_container_status_last_terminated_timestamp",
        "gauge",
        "Last terminated time for a pod container in unix timestamp.",
    ),
    ("kube_pod_container_resource_requests", "gauge", f"[STABLE] {_REQ}"),
    (
        "kube_pod_container_state_started",
        "gauge",
        "[STABLE] Start time in unix timestamp for a pod container.",
    ),
    ("kube_pod_info", "gauge", "[STABLE] Information about pod."),
    ("kube_pod_owner", "gauge", "[STABLE] Information about the Pod's owner."),
    ("kube_pod_start_time", "gauge", "[STABLE] Start time in unix timestamp for a pod."),
    ("kube_pod_status_phase", "gauge", "[STABLE] The pods current phase."),
    ("kube_replicaset_owner", "gauge", "[STABLE] Information about the ReplicaSet's owner."),
]
UNITS = {"cpu": "core", "memory": "byte", "nvidia_com_gpu": "integer", "pods": "integer"}


def _span(times, start: int, end: int | None) -> tuple[int, int]:
    i0 = bisect_left(times, start * 1000)
    return i0, len(times) if end is None else bisect_left(times, end * 1000)


def node_resources(node: Node, allocatable: bool) -> dict[str, float]:
    """Capacity, or allocatable (capacity minus system reservations)."""
    out = {
        "cpu": node.cpu - (0.2 if allocatable else 0),
        "memory": node.memory - (2 * GI if allocatable else 0),
        "pods": 110,
    }
    if node.gpus:
        out["nvidia_com_gpu"] = node.gpus
    return out


def _pod_ids(pod: Pod) -> dict:
    return {"namespace": pod.namespace, "pod": pod.name, "uid": pod.uid}


def _pod_series(family: str, pod: Pod, node: Node, times, i0: int, i1: int):
    ids = _pod_ids(pod)
    n = i1 - i0
    if family == "kube_pod_info":
        kind = pod.owner_kind or NONE
        yield (
            {
                **ids,
                "host_ip": node.ip,
                "pod_ip": pod.ip,
                "node": pod.node,
                "created_by_kind": kind,
                "created_by_name": pod.owner_name or NONE,
                "priority_class": "",
                "host_network": str(pod.host_network).lower(),
            },
            i0,
            [1] * n,
        )
    elif family == "kube_pod_owner":
        yield (
            {
                **ids,
                "owner_kind": pod.owner_kind or NONE,
                "owner_name": pod.owner_name or NONE,
                "owner_is_controller": "true" if pod.owner_kind else NONE,
            },
            i0,
            [1] * n,
        )
    elif family == "kube_pod_status_phase":
        phases = [pod.phase_at(t / 1000) for t in times[i0:i1]]
        for ph in PHASES:
            yield {**ids, "phase": ph}, i0, [1 if p == ph else 0 for p in phases]
    elif family == "kube_pod_start_time":
        yield ids, i0, [pod.created] * n
    elif family == "kube_pod_completion_time" and pod.completed is not None:
        j0 = max(i0, bisect_left(times, pod.completed * 1000))
        if j0 < i1:
            yield ids, j0, [pod.completed] * (i1 - j0)
    elif family == "kube_pod_container_state_started":
        for c in pod.containers:
            for inst in c.instances:
                j0, j1 = _span(times, inst.start, inst.end)
                j0, j1 = max(j0, i0), min(j1, i1)
                if j0 < j1:
                    yield {**ids, "container": c.name}, j0, [inst.start] * (j1 - j0)
    elif family == "kube_pod_container_status_last_terminated_timestamp":
        yield from _last_terminated(pod, ids, times, i0, i1)
    elif family in ("kube_pod_container_resource_requests", "kube_pod_container_resource_limits"):
        for c in pod.containers:
            res = c.requests if family.endswith("requests") else c.limits
            for r, v in res.items():
                yield (
                    {**ids, "container": c.name, "node": pod.node, "resource": r, "unit": UNITS[r]},
                    i0,
                    [v] * n,
                )


def _last_terminated(pod: Pod, ids: dict, times, i0: int, i1: int):
    """When a restarted container's previous instance ended, from that end on.

    KSM reads it from the container's lastState, which stays set until the pod is deleted.
    """
    for c in pod.containers:
        # A restart follows its crash by the backoff; derived from the restarted instance,
        # the previous end does not depend on which instances the window lists.
        ends = [inst.start - BACKOFF for inst in c.instances if inst.restart > 0]
        if not ends:
            continue
        j0 = max(i0, bisect_left(times, ends[0] * 1000))
        if j0 < i1:
            values = [max(e for e in ends if e * 1000 <= t) for t in times[j0:i1]]
            yield {**ids, "container": c.name}, j0, values


def series(cluster, pods: list[Pod], pvcs: list[PVC], family: str, times: list[int]):
    """Yield (labels, i0, values) of a KSM family for the sorted scrape `times`."""
    if not times:
        return
    n = len(times)
    if family in ("kube_node_status_capacity", "kube_node_status_allocatable"):
        for node in cluster.nodes:
            for r, v in node_resources(node, family.endswith("allocatable")).items():
                yield {"node": node.name, "resource": r, "unit": UNITS[r]}, 0, [v] * n
    elif family == "kube_namespace_labels":
        for ns in cluster.namespaces:
            yield namespace_labels(ns), 0, [1] * n
    elif family.startswith("kube_persistentvolumeclaim"):
        for v in pvcs:
            i0, i1 = _span(times, v.created, v.deleted)
            if i0 < i1:
                ids = {"namespace": v.namespace, "persistentvolumeclaim": v.name}
                if family.endswith("_info"):
                    yield (
                        {
                            **ids,
                            "storageclass": v.storage_class,
                            "volumename": v.volume,
                            "volumemode": "Filesystem",
                        },
                        i0,
                        [1] * (i1 - i0),
                    )
                else:
                    yield ids, i0, [v.storage] * (i1 - i0)
    elif family == "kube_replicaset_owner":
        seen = {}
        for p in pods:
            if p.owner_kind == "ReplicaSet":
                seen[(p.namespace, p.owner_name)] = p.workload.name
        for (ns, rs), deploy in sorted(seen.items()):
            yield (
                {
                    "namespace": ns,
                    "replicaset": rs,
                    "owner_kind": "Deployment",
                    "owner_name": deploy,
                    "owner_is_controller": "true",
                },
                0,
                [1] * n,
            )
    elif family in ("kube_job_info", "kube_job_owner"):
        yield from _job_series(family, pods, times)
    else:
        for p in pods:
            i0, i1 = _span(times, p.created, p.deleted)
            if i0 < i1:
                yield from _pod_series(family, p, cluster.node_by_name[p.node], times, i0, i1)


def _job_series(family: str, pods: list[Pod], times):
    """Jobs live as long as their pod (ttlSecondsAfterFinished deletes both)."""
    for p in pods:
        wl = p.workload
        if wl.kind != "Job":
            continue
        i0, i1 = _span(times, p.created, p.deleted)
        if i0 >= i1:
            continue
        ids = {"namespace": wl.namespace, "job_name": wl.name}
        if family == "kube_job_info":
            yield ids, i0, [1] * (i1 - i0)
        else:
            owner = (
                wl.parent_kind or NONE,
                wl.parent_name or NONE,
                "true" if wl.parent_kind else NONE,
            )
            yield (
                {
                    **ids,
                    "owner_kind": owner[0],
                    "owner_name": owner[1],
                    "owner_is_controller": owner[2],
                },
                i0,
                [1] * (i1 - i0),
            )


def namespace_labels(ns: Namespace) -> dict:
    """kube_namespace_labels labels (KSM run with --metric-labels-allowlist for the label)."""
    labels = {"namespace": ns.name}
    if ns.cost_center is not None:
        labels["label_epfl_ch_cost_center"] = ns.cost_center
    return labels
