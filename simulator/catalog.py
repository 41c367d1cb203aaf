"""The static part of the cluster: nodes, namespaces and long-running workloads.

Long-running pods were created long before any plausible window (2020) and use weekly-periodic
usage levels so their counters are O(1) to evaluate. One Deployment crashes once a day at a
seeded time, so restarts also appear in long-running pods; its instances are generated per day.
A fleet of extra steady Deployments (`steady_pods`) makes the long-running set as large as a
real cluster's, for benchmarks at scale.
"""

import random

from simulator.levels import pod_suffix, stable_int
from simulator.model import PVC, Container, Namespace, Node, Pod, Workload
from simulator.pods import BACKOFF, GI, MI, instances, make_pod, resources

EPOCH_2020 = 1_577_836_800
DAY = 86_400

NAMESPACES = [
    Namespace("ml-lab", "10421"),
    Namespace("genomics", "20117"),
    Namespace("web-portal", "30552"),
    Namespace("physics-sim", "40283"),
    Namespace("monitoring", "99001"),
    Namespace("sandbox", None),  # no cost-centre label: must be billed as "unassigned"
]
BATCH_NAMESPACES = ["ml-lab", "genomics", "physics-sim", "sandbox"]
GPU_NAMESPACES = ["ml-lab", "physics-sim"]
FLEET_NAMESPACES = ["ml-lab", "genomics", "web-portal", "physics-sim"]
FLEET_REPLICAS = 4  # pods per fleet Deployment


def make_nodes(seed: int, nodes: int, gpu_nodes: int, behaviours=frozenset()) -> list[Node]:
    """`nodes` CPU nodes `node-N` followed by `gpu_nodes` GPU nodes `gpu-node-N` (8 GPUs).

    With `mig` the last GPU node is MIG-partitioned; with `shared-gpu` the last other GPU node
    is time-sliced (no GPU node left for it: not applied).
    """
    out = []
    for i in range(nodes + gpu_nodes):
        gpu = i >= nodes
        name = f"gpu-node-{i - nodes + 1}" if gpu else f"node-{i + 1}"
        boot = EPOCH_2020 - stable_int(seed, name, "boot") % (30 * DAY)
        out.append(
            Node(
                name=name,
                index=i + 1,
                cpu=64 if gpu else 32,
                memory=(512 if gpu else 128) * GI,
                gpus=8 if gpu else 0,
                ip=f"10.0.0.{10 + i}",
                boot=boot,
                key=f"{seed}:{name}",
            )
        )
    modes = [m for b, m in (("mig", "mig"), ("shared-gpu", "shared")) if b in behaviours]
    for node, mode in zip(reversed([n for n in out if n.gpus]), modes, strict=False):
        node.gpu_mode = mode
    return out


def _created(seed: int, name: str) -> int:
    return EPOCH_2020 + stable_int(seed, name, "created") % (90 * DAY)


def _steady(seed, workload, name, node, owner, cname, image, req, lim, cpu_m, mem, host=False):
    """A pod that runs one container forever since its creation."""
    created = _created(seed, name)
    running = created + 5
    pod = make_pod(
        seed,
        workload,
        name,
        node,
        owner,
        created,
        running,
        None,
        None,
        None,
        [],
        host_network=host,
        periodic=True,
    )
    insts = instances(seed, pod.uid, cname, [(running + 1, None)], cpu_m, mem, periodic=True)
    pod.containers.append(Container(cname, image, req, lim, insts))
    return pod


def _crashing(seed: int, workload: Workload, name: str, node: Node, owner, lo: int, hi: int) -> Pod:
    """A pod whose single container crashes once a day; instances only for days lo-1 .. hi.

    All its instances share weekly-periodic levels, so the usage of the instances before the
    window (which the pod cgroup keeps accounting for) has an O(days) closed form in `pod.past`.
    """
    created = _created(seed, name)
    cname = "api"

    def crash(day: int) -> int:
        return day * DAY + 7200 + stable_int(seed, name, "crash", day) % (20 * 3600)

    first_day = created // DAY
    runs = [(crash(d - 1) + BACKOFF, crash(d)) for d in range(lo, hi + 2)]
    pod = make_pod(
        seed, workload, name, node, owner, created, created + 5, None, None, None, [], periodic=True
    )
    insts = instances(seed, pod.uid, cname, runs, 600, 900 * MI, first_restart=lo - first_day)
    for inst in insts:
        inst.periodic, inst.level_key = True, f"{pod.uid}:{cname}"
    req, lim = resources(0.5, 1 * GI), resources(2, 1 * GI)
    pod.containers.append(Container(cname, "ghcr.io/epfl-si/portal-api:2.3.1", req, lim, insts))
    past = [(created + 6, crash(first_day))]
    past += [(crash(d - 1) + BACKOFF, crash(d)) for d in range(first_day + 1, lo)]
    for q in ("cpu", "pgfault", "pgmajfault"):
        lv = insts[0].levels(q)
        parts = (lv.integral(s * 1000, e * 1000) for s, e in past)
        pod.past[q] = sum(parts) if q == "cpu" else sum(p // 1000 for p in parts)
    return pod


def recreation_time(seed: int, day: int) -> int:
    """When the StatefulSet pod is deleted and recreated on UTC day `day` (02:00-22:00)."""
    return day * DAY + 7200 + stable_int(seed, "recreate", day) % (20 * 3600)


def _recreated(seed: int, workload: Workload, base: Pod, node: Node, lo: int, hi: int) -> list[Pod]:
    """The generations of a StatefulSet pod deleted and recreated once a day (days lo..hi).

    The generation of day d is created 2 s after the recreation of day d - 1 under the same
    name with a new uid, runs a few seconds later and is deleted while Running at the
    recreation of day d (its containers end then).
    """
    c0 = base.containers[0]
    inst0 = c0.instances[0]
    out = []
    for d in range(lo, hi + 1):
        created, gone = recreation_time(seed, d - 1) + 2, recreation_time(seed, d)
        running = created + 3 + stable_int(seed, "recreate-start", d) % 6
        pod = make_pod(
            seed,
            workload,
            base.name,
            node,
            (base.owner_kind, base.owner_name),
            created,
            running,
            gone,
            gone,
            None,
            [],
        )
        insts = instances(seed, pod.uid, c0.name, [(running + 1, gone)], inst0.cpu_m, inst0.mem)
        pod.containers.append(Container(c0.name, c0.image, c0.requests, c0.limits, insts))
        out.append(pod)
    return out


def long_running(
    seed: int, nodes: list[Node], start: int, end: int, behaviours=frozenset()
) -> tuple[list[Pod], list[PVC]]:
    """Long-running pods and PVCs; restart instances cover the days of [start, end)."""
    cpu_nodes = [n for n in nodes if not n.gpus] or nodes
    rng = random.Random(f"{seed}:static")

    def pick() -> Node:
        return cpu_nodes[rng.randrange(len(cpu_nodes))]

    pods: list[Pod] = []
    web = Workload("web-portal", "Deployment", "frontend", created=_created(seed, "frontend"))
    rs = f"frontend-{pod_suffix(seed, 'frontend-rs', length=10)}"
    for r in range(2):
        pods.append(
            _steady(
                seed,
                web,
                f"{rs}-{pod_suffix(seed, rs, r)}",
                pick(),
                ("ReplicaSet", rs),
                "nginx",
                "docker.io/library/nginx:1.25",
                resources(0.5, 512 * MI),
                resources(1, 512 * MI),
                250,
                300 * MI,
            )
        )
    api = Workload("web-portal", "Deployment", "portal-api", created=_created(seed, "portal-api"))
    rs_api = f"portal-api-{pod_suffix(seed, 'portal-api-rs', length=10)}"
    pods.append(
        _crashing(
            seed,
            api,
            f"{rs_api}-{pod_suffix(seed, rs_api)}",
            pick(),
            ("ReplicaSet", rs_api),
            start // DAY,
            (end - 1) // DAY,
        )
    )
    nb = Workload("sandbox", "Deployment", "notebook", created=_created(seed, "notebook"))
    rs_nb = f"notebook-{pod_suffix(seed, 'notebook-rs', length=10)}"
    pods.append(
        _steady(
            seed,
            nb,
            f"{rs_nb}-{pod_suffix(seed, rs_nb)}",
            pick(),
            ("ReplicaSet", rs_nb),
            "jupyter",
            "quay.io/jupyter/scipy-notebook:2024-05",
            {},
            {},
            400,
            2 * GI,
        )
    )  # no requests at all: BestEffort
    db = Workload("genomics", "StatefulSet", "postgres", created=_created(seed, "postgres"))
    db_node = pick()
    db_pod = _steady(
        seed,
        db,
        "postgres-0",
        db_node,
        ("StatefulSet", "postgres"),
        "postgres",
        "docker.io/library/postgres:16.3",
        resources(2, 8 * GI),
        resources(2, 8 * GI),
        900,
        6 * GI,
    )
    if "recreated-pod" in behaviours:
        pods += _recreated(seed, db, db_pod, db_node, start // DAY, (end - 1) // DAY + 1)
    else:
        pods.append(db_pod)
    agent = Workload("monitoring", "DaemonSet", "node-agent", created=_created(seed, "node-agent"))
    for node in nodes:
        pods.append(
            _steady(
                seed,
                agent,
                f"node-agent-{pod_suffix(seed, 'agent', node.name)}",
                node,
                ("DaemonSet", "node-agent"),
                "agent",
                "quay.io/prometheus/node-exporter:v1.8.1",
                resources(0.1, 128 * MI),
                resources(None, 256 * MI),
                60,
                90 * MI,
                host=True,
            )
        )
    bare = Workload("physics-sim", "Pod", "debug-shell", created=_created(seed, "debug-shell"))
    pods.append(
        _steady(
            seed,
            bare,
            "debug-shell",
            pick(),
            (None, None),
            "shell",
            "docker.io/library/ubuntu:24.04",
            resources(0.1, 256 * MI),
            {},
            20,
            40 * MI,
        )
    )
    pvc = PVC(
        "genomics",
        "data-postgres-0",
        100 * GI,
        db_pod.created,
        None,
        "ceph-rbd",
        f"pvc-{db_pod.uid}",
        "postgres",
    )
    return pods, [pvc]


def fleet(seed: int, nodes: list[Node], pods: int, containers: int) -> list[Pod]:
    """`pods` extra steady pods of `containers` containers each, 4 replicas per Deployment.

    Seeded apart from the fixed long-running set, so adding a fleet changes nothing else.
    """
    cpu_nodes = [n for n in nodes if not n.gpus] or nodes
    rng = random.Random(f"{seed}:fleet")
    out = []
    for i in range(pods):
        d = i // FLEET_REPLICAS
        name = f"service-{d}"
        ns = FLEET_NAMESPACES[d % len(FLEET_NAMESPACES)]
        workload = Workload(ns, "Deployment", name, created=_created(seed, name))
        rs = f"{name}-{pod_suffix(seed, name, 'rs', length=10)}"
        pod_name = f"{rs}-{pod_suffix(seed, rs, i)}"
        node = cpu_nodes[rng.randrange(len(cpu_nodes))]
        created = _created(seed, pod_name)
        pod = make_pod(
            seed,
            workload,
            pod_name,
            node,
            ("ReplicaSet", rs),
            created,
            created + 5,
            None,
            None,
            None,
            [],
            periodic=True,
        )
        for k in range(containers):
            cname = f"c{k}"
            cpu_m, mem = 20 + rng.randrange(480), (64 + rng.randrange(960)) * MI
            insts = instances(
                seed, pod.uid, cname, [(created + 6, None)], cpu_m, mem, periodic=True
            )
            req = resources(cpu_m / 1000, mem)
            image = f"registry.example.org/{name}/{cname}:1.0"
            pod.containers.append(Container(cname, image, req, req, insts))
        out.append(pod)
    return out
