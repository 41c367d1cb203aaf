"""kube-state-metrics v2 series: object state at each scrape time (no timestamps).

Label order follows KSM (namespace, pod, uid first). kube_pod_labels carries the pod labels
KSM's `--metric-labels-allowlist=pods=[user]` lets through: `label_user` on the pods of Jobs
that have a user (simulator/users.py), only namespace, pod and uid on the others. Pods exist
from `created` until `deleted`, so completed Job pods keep exporting info, phase and
requests/limits until their ttl expires.
`series()` yields (labels, index, values) like the other exporters. Container states follow
KSM's `internal/store/pod.go`: kube_pod_completion_time is the latest end among Terminated
containers; behaviours pick the KSM version (families, `<none>` or empty owners, started
times of Terminated containers) and whether a crashed container is Terminated in its backoff.
"""

from bisect import bisect_left

from simulator import gpus, users
from simulator.levels import hex_id
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
        "kube_persistentvolumeclaim_created",
        "gauge",
        "Unix creation timestamp",
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
    ("kube_pod_labels", "gauge", "[STABLE] Kubernetes labels converted to Prometheus labels."),
    ("kube_pod_owner", "gauge", "[STABLE] Information about the Pod's owner."),
    ("kube_pod_start_time", "gauge", "[STABLE] Start time in unix timestamp for a pod."),
    ("kube_pod_status_phase", "gauge", "[STABLE] The pods current phase."),
    ("kube_replicaset_owner", "gauge", "[STABLE] Information about the ReplicaSet's owner."),
    (
        "kube_pod_init_container_info",
        "gauge",
        "[STABLE] Information about an init container in a pod.",
    ),
    (
        "kube_pod_init_container_resource_limits",
        "gauge",
        "The number of requested limit resource by an init container.",
    ),
    (
        "kube_pod_init_container_resource_requests",
        "gauge",
        "The number of requested request resource by an init container.",
    ),
    (
        "kube_pod_init_container_state_started",
        "gauge",
        "Start time in unix timestamp for a pod init container.",
    ),
    (
        "kube_pod_init_container_status_running",
        "gauge",
        "[STABLE] Describes whether the init container is currently in running state.",
    ),
]
UNITS = {"cpu": "core", "memory": "byte", "pods": "integer"}
UNITS.update((r, "integer") for r in gpus.resource_names())
# Families a KSM version lacks (behaviour -> removed) or has only with a behaviour (-> added).
REMOVED_BY = {"kube_pod_container_status_last_terminated_timestamp": "ksm-old"}  # < v2.12
ADDED_BY: dict[str, str] = {
    # no init containers without the behaviour: keep the families' headers out of history
    f[0]: "init-containers"
    for f in FAMILIES
    if f[0].startswith("kube_pod_init_container_")
}


def families(behaviours) -> list[tuple[str, str, str]]:
    """The families of the KSM version the behaviours stand for."""
    return [
        f
        for f in FAMILIES
        if REMOVED_BY.get(f[0]) not in behaviours and ADDED_BY.get(f[0], "") in ("", *behaviours)
    ]


def none_value(behaviours) -> str:
    """What KSM prints for an absent owner: `<none>`, or "" since v2.8 (dropped by Prometheus)."""
    return "" if "ksm-empty-owners" in behaviours else NONE


def container_states(c, crash_terminated: bool) -> list[tuple[int, int | None, str, object]]:
    """(from, to, state, instance) of a container: "running" or "terminated", else Waiting.

    An instance is Running over [start, end). A crashed instance followed by a restart leaves
    the container Waiting (CrashLoopBackOff) until the restart, or Terminated then when
    `crash_terminated`; the last instance's end leaves it Terminated for good.
    """
    out = []
    for k, inst in enumerate(c.instances):
        out.append((inst.start, inst.end, "running", inst))
        if inst.end is None:
            continue
        nxt = c.instances[k + 1].start if k + 1 < len(c.instances) else None
        if nxt is None or crash_terminated:
            out.append((inst.end, nxt, "terminated", inst))
    return out


def _runs(intervals, times, i0: int, i1: int):
    """(index, values) of a series valued `v` over each (from, to, v) interval, or None.

    Intervals are sorted and disjoint; a contiguous run gives a first index, else a list.
    """
    index, values = [], []
    for lo, hi, v in intervals:
        j0, j1 = _span(times, lo, hi)
        j0, j1 = max(j0, i0), min(j1, i1)
        index += range(j0, j1)
        values += [v] * max(0, j1 - j0)
    if not index:
        return None
    if index[-1] - index[0] + 1 == len(index):
        return index[0], values
    return index, values


def completion_intervals(pod: Pod, crash_terminated: bool) -> list[tuple[int, int | None, int]]:
    """(from, to, value) of kube_pod_completion_time: the latest FinishedAt among the
    containers whose state is Terminated, absent while none is (KSM `internal/store/pod.go`).
    """
    ended = [
        (lo, hi, inst.end)
        for c in pod.containers
        for lo, hi, state, inst in container_states(c, crash_terminated)
        if state == "terminated"
    ]
    points = sorted({lo for lo, _, _ in ended} | {hi for _, hi, _ in ended if hi is not None})
    out: list[tuple[int, int | None, int]] = []
    for k, p in enumerate(points):
        values = [v for lo, hi, v in ended if lo <= p and (hi is None or hi > p)]
        if not values:
            continue
        nxt = points[k + 1] if k + 1 < len(points) else None
        if out and out[-1][1] == p and out[-1][2] == max(values):
            out[-1] = (out[-1][0], nxt, out[-1][2])
        else:
            out.append((p, nxt, max(values)))
    return out


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
    out.update(gpus.node_gpu_resources(node))
    return out


def _pod_ids(pod: Pod) -> dict:
    return {"namespace": pod.namespace, "pod": pod.name, "uid": pod.uid}


def _pod_series(
    family: str, pod: Pod, node: Node, times, i0: int, i1: int, behaviours=(), seed: int = 0
):
    ids = _pod_ids(pod)
    n = i1 - i0
    none = none_value(behaviours)
    if family == "kube_pod_info":
        kind = pod.owner_kind or none
        for node_name, host_ip, j0, j1 in _node_spans(pod, node, times, i0, i1):
            yield (
                {
                    **ids,
                    "host_ip": host_ip,
                    "pod_ip": pod.ip if node_name else "",
                    "node": node_name,
                    "created_by_kind": kind,
                    "created_by_name": pod.owner_name or none,
                    "priority_class": "",
                    "host_network": str(pod.host_network).lower(),
                },
                j0,
                [1] * (j1 - j0),
            )
    elif family == "kube_pod_owner":
        yield (
            {
                **ids,
                "owner_kind": pod.owner_kind or none,
                "owner_name": pod.owner_name or none,
                "owner_is_controller": "true" if pod.owner_kind else none,
            },
            i0,
            [1] * n,
        )
    elif family == "kube_pod_labels":
        user = users.job_user(seed, pod.workload)
        yield {**ids, **({"label_user": user} if user else {})}, i0, [1] * n
    elif family == "kube_pod_status_phase":
        phases = [pod.phase_at(t / 1000) for t in times[i0:i1]]
        for ph in PHASES:
            yield {**ids, "phase": ph}, i0, [1 if p == ph else 0 for p in phases]
    elif family == "kube_pod_start_time":  # Status.StartTime: set once the pod has a node
        for node_name, _, j0, j1 in _node_spans(pod, node, times, i0, i1):
            if node_name:
                yield ids, j0, [pod.scheduled_at()] * (j1 - j0)
    elif family == "kube_pod_completion_time":
        run = _runs(completion_intervals(pod, "crash-completion" in behaviours), times, i0, i1)
        if run:
            yield ids, *run
    elif family == "kube_pod_container_state_started":
        # StartedAt of the Running instance; since v2.2 also of a Terminated one
        shown = ("running", "terminated") if "started-kept" in behaviours else ("running",)
        for c in pod.containers:
            for lo, hi, state, inst in container_states(c, "crash-completion" in behaviours):
                j0, j1 = _span(times, lo, hi)
                j0, j1 = max(j0, i0), min(j1, i1)
                if state in shown and j0 < j1:
                    yield {**ids, "container": c.name}, j0, [inst.start] * (j1 - j0)
    elif family == "kube_pod_container_status_last_terminated_timestamp":
        yield from _last_terminated(pod, ids, times, i0, i1)
    elif family in ("kube_pod_container_resource_requests", "kube_pod_container_resource_limits"):
        yield from _resource_series(family, pod.containers, ids, pod, node, times, i0, i1)
    elif family.startswith("kube_pod_init_container_"):
        yield from _init_series(family, pod, node, ids, times, i0, i1)


def _node_spans(pod: Pod, node: Node | None, times, i0: int, i1: int):
    """(node, host_ip, j0, j1) of the pod's unscheduled part ("" both) then its scheduled part."""
    at = pod.scheduled_at()
    js = i1 if at is None else max(i0, min(i1, bisect_left(times, at * 1000)))
    if js > i0:
        yield "", "", i0, js
    if js < i1:
        yield pod.node, node.ip, js, i1


def _resource_series(family: str, containers, ids: dict, pod: Pod, node, times, i0, i1):
    """Requests or limits per container and resource, `node` empty while unscheduled."""
    for node_name, _, j0, j1 in _node_spans(pod, node, times, i0, i1):
        for c in containers:
            res = c.requests if family.endswith("requests") else c.limits
            for r, v in res.items():
                labels = {**ids, "container": c.name, "node": node_name}
                yield {**labels, "resource": r, "unit": UNITS[r]}, j0, [v] * (j1 - j0)


def _init_series(family: str, pod: Pod, node, ids: dict, times, i0: int, i1: int):
    """kube_pod_init_container_* of classic init containers and native sidecars.

    Requests/limits come from the spec (exported while unscheduled, `node` empty); info,
    status_running and state_started from the init container statuses, which exist once the
    pod is scheduled (state_started: StartedAt while Running or Terminated).
    """
    if family.endswith(("_requests", "_limits")):
        yield from _resource_series(family, pod.init_containers, ids, pod, node, times, i0, i1)
        return
    at = pod.scheduled_at()
    if at is None:
        return
    i0 = max(i0, bisect_left(times, at * 1000))
    if i0 >= i1:
        return
    for c in pod.init_containers:
        labels = {**ids, "container": c.name}
        if family == "kube_pod_init_container_info":
            inst = c.instances[-1]
            yield (
                {
                    **labels,
                    "image_spec": c.image,
                    "image": c.image,
                    "image_id": f"{c.image.split(':')[0]}@sha256:{hex_id(c.image)}",
                    "container_id": f"containerd://{inst.id}",
                    "restart_policy": c.restart_policy,
                },
                i0,
                [1] * (i1 - i0),
            )
            continue
        inst = c.instances[0]  # init containers do not restart in the simulator
        if family == "kube_pod_init_container_status_running":
            states = [(at, inst.start, 0), (inst.start, inst.end, 1)]
            if inst.end is not None:
                states.append((inst.end, None, 0))
        else:  # state_started
            states = [(inst.start, None, inst.start)]
        run = _runs(states, times, i0, i1)
        if run:
            yield labels, *run


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
                elif family.endswith("_created"):
                    yield ids, i0, [v.created] * (i1 - i0)
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
        yield from _job_series(family, pods, times, none_value(cluster.behaviours))
    else:
        for p in pods:
            i0, i1 = _span(times, p.created, p.deleted)
            if i0 < i1:
                node = cluster.node_by_name.get(p.node)
                yield from _pod_series(
                    family, p, node, times, i0, i1, cluster.behaviours, cluster.seed
                )


def _job_series(family: str, pods: list[Pod], times, none: str = NONE):
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
                wl.parent_kind or none,
                wl.parent_name or none,
                "true" if wl.parent_kind else none,
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
