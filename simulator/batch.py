"""Batch workloads generated per time slot with slot-seeded RNGs.

* plain Jobs: per hour slot `h`, `random.Random(f"{seed}:{h}")`;
* CronJob Jobs: per hour slot, `Random(f"{seed}:cron:{h}")`, named `<cron>-<scheduled minute>`;
* GPU Jobs: per 6-hour block and GPU node, `Random(f"{seed}:gpu:{block}:{node}")`; devices are
  allocated inside the block so two pods never hold the same GPU at once.

Every object depends only on the seed, the parameters and its slot, so any window sees exactly
the same objects as a larger window that contains it.
"""

import math
import random
from dataclasses import dataclass

from simulator.catalog import BATCH_NAMESPACES, GPU_NAMESPACES
from simulator.gpus import SHARED, SHARED_REPLICAS, mig_layout, mig_resource
from simulator.levels import pod_suffix
from simulator.model import PVC, Container, Node, Pod, Workload
from simulator.pods import GI, MI, instances, make_pod, resources, runs_with_restart

HOUR = 3600
GPU_BLOCK = 6 * HOUR
MAX_RUN = 8 * HOUR
MAX_TTL = 2 * HOUR
# A pod created in slot h is gone before h + LOOKBACK_SLOTS, so windows look back that far.
LOOKBACK_SLOTS = 11
GPU_LOOKBACK_BLOCKS = 2

WORDS = ["align", "train", "simulate", "render", "ingest", "fit", "assemble", "sweep"]
IMAGES = [
    "docker.io/library/python:3.12",
    "ghcr.io/epfl-si/pipeline:1.4.2",
    "docker.io/rocker/r-ver:4.4.0",
    "quay.io/biocontainers/bwa:0.7.18",
]
CRONJOBS = [  # (namespace, name, minutes of the hour, image)
    ("genomics", "etl-sync", (0, 15, 30, 45), "ghcr.io/epfl-si/etl:3.0.0"),
    ("web-portal", "backup", (5,), "docker.io/library/postgres:16.3"),
]


def log_uniform(rng: random.Random, lo: float, hi: float) -> int:
    """Integer seconds, log-uniform in [lo, hi]: many short jobs, a few very long ones."""
    return int(math.exp(rng.uniform(math.log(lo), math.log(hi))))


@dataclass(slots=True)
class Extras:
    """What the pod behaviours add to a Job pod (all zero/None: a tidy pod)."""

    unscheduled: int = 0  # seconds Pending without a node before it is scheduled
    never_scheduled: int | None = None  # never scheduled: deleted after this many seconds
    sidecar_tail: int = 0  # the classic sidecar ends this long after the main container
    init: tuple[int, dict] | None = None  # classic init container: (seconds, requests)
    native_sidecar: dict | None = None  # requests of an init container with restartPolicy Always


def job_extras(seed: int, behaviours, wl: Workload) -> Extras:
    """The seeded extras of Job `wl` for the switched-on behaviours.

    All draws happen whatever is switched on, so a Job's extras under one behaviour do not
    depend on the others, and the slot RNG (hence every other object) is untouched.
    """
    rng = random.Random(f"{seed}:extras:{wl.namespace}:{wl.name}")
    pending, late, never = rng.random(), rng.randint(30, 600), rng.randint(300, 1200)
    tail = rng.randint(60, 900)
    init_p, init_s = rng.random(), rng.randint(10, 120)
    init_req = resources(*rng.choice([(4, 8 * GI), (8, 16 * GI), (2, 8 * GI)]))
    native_p, native_req = rng.random(), resources(*rng.choice([(0.25, 256 * MI), (0.5, 1 * GI)]))
    x = Extras()
    if "unscheduled-pending" in behaviours:
        if pending < 0.02:
            x.never_scheduled = never
        elif pending < 0.12:
            x.unscheduled = late
    if "sidecar-outlives-main" in behaviours:
        x.sidecar_tail = tail
    if "init-containers" in behaviours:
        x.init = (init_s, init_req) if init_p < 0.15 else None
        x.native_sidecar = native_req if native_p < 0.12 else None
    return x


def _job_pod(
    seed,
    rng,
    wl: Workload,
    node: Node,
    created: int,
    duration: int,
    req: dict,
    lim: dict,
    image: str,
    sidecar: bool,
    gpus: list[int],
    extras: Extras | None = None,
) -> Pod:
    """A Job pod: Pending 0-30 s, containers run `duration`, then kept for a ttl of 0-2 h.

    With extras: unscheduled first; a classic init container runs after the sandbox starts,
    then a native sidecar starts, then the main container one second later; a classic
    sidecar may end after the main container (the pod completes when it does).
    """
    x = extras or Extras()
    running = created + x.unscheduled + rng.randint(0, 30)
    t = running + 1
    init_run = None
    if x.init:
        init_run, t = (t, t + x.init[0]), t + x.init[0]
    native_start = t
    if x.native_sidecar:
        t += 1
    start = t
    end = start + duration
    crash = start + rng.randint(1, duration) if rng.random() < 0.1 and duration > 60 else None
    runs = runs_with_restart(start, end, crash)
    failed = rng.random() < 0.1
    ttl = rng.randint(0, MAX_TTL)
    completed = end + (x.sidecar_tail if sidecar else 0)
    pod_name = f"{wl.name}-{pod_suffix(seed, wl.namespace, wl.name)}"
    cpu_m = int(req.get("cpu", 0.5) * 1000 * rng.uniform(0.3, 1.1))
    mem = int(req.get("memory", 512 * MI) * rng.uniform(0.3, 0.95))
    pod = make_pod(
        seed,
        wl,
        pod_name,
        node,
        ("Job", wl.name),
        created,
        running,
        completed,
        completed + ttl,
        "Failed" if failed else "Succeeded",
        [],
    )
    if x.unscheduled:
        pod.scheduled = created + x.unscheduled
    main = Container(
        "main", image, req, lim, instances(seed, pod.uid, "main", runs, cpu_m, mem), gpus
    )
    pod.containers.append(main)
    if sidecar:
        side = instances(seed, pod.uid, "log-shipper", [(start, completed)], 20, 30 * MI)
        pod.containers.append(
            Container(
                "log-shipper",
                "docker.io/fluent/fluent-bit:3.0",
                resources(0.05, 64 * MI),
                resources(None, 64 * MI),
                side,
            )
        )
    _add_init_containers(seed, pod, x, init_run, (native_start, completed))
    if x.never_scheduled is not None:
        _never_scheduled(pod, created + x.never_scheduled)
    return pod


def _add_init_containers(seed: int, pod: Pod, x: Extras, init_run, native_run) -> None:
    """A classic init container staging data and/or a native sidecar proxy."""
    if x.init:
        req = x.init[1]
        insts = instances(
            seed, pod.uid, "stage-data", [init_run], int(req["cpu"] * 600), req["memory"] // 2
        )
        pod.init_containers.append(
            Container("stage-data", "docker.io/amazon/aws-cli:2.15.0", req, req, insts)
        )
    if x.native_sidecar:
        req = x.native_sidecar
        insts = instances(seed, pod.uid, "proxy", [native_run], 30, req["memory"] // 3)
        pod.init_containers.append(
            Container(
                "proxy",
                "docker.io/envoyproxy/envoy:v1.30.1",
                req,
                req,
                insts,
                restart_policy="Always",
            )
        )
    if pod.init_containers:
        pod.initialized = min(i.start for i in pod.containers[0].instances)


def _never_scheduled(pod: Pod, deleted: int) -> None:
    """The pod stays Pending without a node until it is deleted: nothing ever runs."""
    pod.node, pod.ip = "", ""
    pod.running = pod.completed = pod.deleted = deleted
    pod.final_phase, pod.initialized = None, None
    for c in pod.all_containers():
        c.instances = []


def _maybe_pvc(rng, pod: Pod) -> list[PVC]:
    """About one Job in ten has a scratch PVC living exactly as long as its pod."""
    if rng.random() >= 0.1:
        return []
    size = rng.choice([1, 10, 50, 200]) * GI
    return [
        PVC(
            pod.namespace,
            f"scratch-{pod.workload.name}",
            size,
            pod.created,
            pod.deleted,
            "ceph-rbd",
            f"pvc-{pod.uid}",
            pod.workload.name,
        )
    ]


def hour_jobs(seed: int, slot: int, jobs_per_hour: float, nodes: list[Node], behaviours=()):
    """Plain batch Jobs submitted in hour `slot`; the first two are shorter than 60 s."""
    rng = random.Random(f"{seed}:{slot}")
    cpu_nodes = [n for n in nodes if not n.gpus] or nodes
    n = int(jobs_per_hour * (0.5 + rng.random()) + 0.5)
    pods, pvcs = [], []
    for k in range(n):
        created = slot * HOUR + rng.randrange(HOUR)
        duration = rng.randint(20, 55) if k < 2 else log_uniform(rng, 20, MAX_RUN)
        ns = rng.choice(BATCH_NAMESPACES)
        name = f"{rng.choice(WORDS)}-{pod_suffix(seed, slot, k, length=8)}"
        if rng.random() < 0.08:  # no requests at all
            req, lim = {}, {}
        else:
            cpu = rng.choice([0.25, 0.5, 1, 2, 4, 8])
            mem = rng.choice([256, 512, 1024, 4096, 16384]) * MI
            req, lim = resources(cpu, mem), resources(cpu * 2 if rng.random() < 0.5 else None, mem)
        wl = Workload(ns, "Job", name, created=created)
        pod = _job_pod(
            seed,
            rng,
            wl,
            rng.choice(cpu_nodes),
            created,
            duration,
            req,
            lim,
            rng.choice(IMAGES),
            rng.random() < 0.15,
            [],
            job_extras(seed, behaviours, wl),
        )
        pods.append(pod)
        pvcs += _maybe_pvc(rng, pod)
    return pods, pvcs


def cron_jobs(seed: int, slot: int, nodes: list[Node]):
    """Jobs created by the CronJobs at their scheduled minutes within hour `slot`."""
    rng = random.Random(f"{seed}:cron:{slot}")
    cpu_nodes = [n for n in nodes if not n.gpus] or nodes
    pods = []
    for ns, cron, minutes, image in CRONJOBS:
        for minute in minutes:
            scheduled = slot * 60 + minute  # minutes since epoch, as the CronJob controller names
            created = scheduled * 60
            wl = Workload(ns, "Job", f"{cron}-{scheduled}", "CronJob", cron, created)
            pods.append(
                _job_pod(
                    seed,
                    rng,
                    wl,
                    rng.choice(cpu_nodes),
                    created,
                    log_uniform(rng, 20, 600),
                    resources(0.5, 1 * GI),
                    resources(1, 1 * GI),
                    image,
                    False,
                    [],
                )
            )
    return pods, []


HANDOVER_NODE = "gpu-node-1"


def gpu_jobs(seed: int, block: int, node: Node, behaviours=()):
    """GPU Jobs of one 6-hour block on one GPU node, each holding 1-8 GPUs exclusively.

    On a MIG node they hold GPU instances, on a shared node time-sliced replicas instead.
    """
    if node.gpu_mode != "exclusive":
        return _sliced_jobs(seed, block, node)
    rng = random.Random(f"{seed}:gpu:{block}:{node.name}")
    block_start, block_end = block * GPU_BLOCK, (block + 1) * GPU_BLOCK
    free = [block_start] * node.gpus
    pods, pvcs = [], []
    handover = "gpu-handover" in behaviours and node.name == HANDOVER_NODE
    last: list[int] = []
    for k in range(12):
        want = rng.choice([1, 1, 2, 2, 4, 8])
        devices = sorted(range(node.gpus), key=lambda g: (free[g], g))[:want]
        created = max(free[g] for g in devices) + rng.randint(30, 1800)
        if handover and last:
            # Created on the last Job's GPUs the second they are free: it starts on them
            # 1-31 s after that one ends, often inside the same scrape interval.
            devices, want = last, len(last)
            created = max(free[g] for g in devices)
        duration = log_uniform(rng, 60, 4 * HOUR)
        # containers end by created + 31 + duration; keep the devices' holders disjoint in time
        if created + 32 + duration >= block_end:
            continue
        ns = rng.choice(GPU_NAMESPACES)
        name = f"gpu-train-{pod_suffix(seed, 'gpu', block, node.name, k, length=8)}"
        wl = Workload(ns, "Job", name, created=created)
        req = resources(8, 64 * GI, want)
        lim = resources(None, 64 * GI, want)
        pod = _job_pod(
            seed,
            rng,
            wl,
            node,
            created,
            duration,
            req,
            lim,
            "nvcr.io/nvidia/pytorch:24.05-py3",
            False,
            sorted(devices),
        )
        for g in devices:
            free[g] = pod.completed + 1
        last = sorted(devices)
        pods.append(pod)
        pvcs += _maybe_pvc(rng, pod)
    return pods, pvcs


def _slices(node: Node) -> list[tuple[int, int, str]]:
    """(gpu, instance, resource) of every allocatable slice of a MIG or shared node."""
    if node.gpu_mode == "mig":
        return [
            (g, gi, mig_resource(profile))
            for g in range(node.gpus)
            for gi, profile in mig_layout(node, g)
        ]
    return [(g, r, SHARED) for g in range(node.gpus) for r in range(SHARED_REPLICAS)]


def _sliced_jobs(seed: int, block: int, node: Node):
    """GPU Jobs holding MIG instances (one profile each) or shared replicas (distinct GPUs).

    Slices are allocated inside the block like whole GPUs, so a slice never has two holders;
    on a shared node several pods use one physical GPU at once.
    """
    rng = random.Random(f"{seed}:{node.gpu_mode}:{block}:{node.name}")
    block_start, block_end = block * GPU_BLOCK, (block + 1) * GPU_BLOCK
    slices = _slices(node)
    free = {(g, i): block_start for g, i, _ in slices}
    pods, pvcs = [], []
    for k in range(24):
        resource = rng.choice(sorted({r for _, _, r in slices}))
        want = rng.choice([1, 1, 1, 2])
        chosen: list[tuple[int, int]] = []
        candidates = sorted(
            ((g, i) for g, i, r in slices if r == resource), key=lambda s: (free[s], s)
        )
        for g, i in candidates:  # a pod's slices sit on distinct physical GPUs
            if len(chosen) < want and all(g != c[0] for c in chosen):
                chosen.append((g, i))
        created = max(free[c] for c in chosen) + rng.randint(30, 1800)
        duration = log_uniform(rng, 60, 4 * HOUR)
        if created + 32 + duration >= block_end:
            continue
        ns = rng.choice(GPU_NAMESPACES)
        name = f"gpu-infer-{pod_suffix(seed, node.gpu_mode, block, node.name, k, length=8)}"
        wl = Workload(ns, "Job", name, created=created)
        req = {**resources(4, 32 * GI), resource: len(chosen)}
        lim = {**resources(None, 32 * GI), resource: len(chosen)}
        pod = _job_pod(
            seed,
            rng,
            wl,
            node,
            created,
            duration,
            req,
            lim,
            "nvcr.io/nvidia/tritonserver:24.05-py3",
            False,
            [],
        )
        pod.containers[0].slices = sorted(chosen)
        for c in chosen:
            free[c] = pod.completed + 1
        pods.append(pod)
        pvcs += _maybe_pvc(rng, pod)
    return pods, pvcs
