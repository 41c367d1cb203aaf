"""Construction of pods, containers and container instances from a few parameters.

Shared by the static catalogue (long-running workloads) and the per-hour batch generator so
that naming (ids, uids, cgroup-relevant QoS class) follows one set of rules.
"""

from simulator.levels import hex_id, stable_int, stable_uid
from simulator.model import Container, Instance, Node, Pod, Workload

GI = 1024**3
MI = 1024**2
BACKOFF = 10  # seconds between a crashed container instance and its replacement


def qos_class(containers: list[Container]) -> str:
    """Kubernetes QoS class, which decides the cgroup path of the pod."""
    if all(not c.requests and not c.limits for c in containers):
        return "besteffort"
    for c in containers:
        for res in ("cpu", "memory"):
            if res not in c.limits or c.requests.get(res, c.limits[res]) != c.limits[res]:
                return "burstable"
    return "guaranteed"


def instances(
    seed: int,
    uid: str,
    cname: str,
    runs: list[tuple[int, int | None]],
    cpu_m: int,
    mem: int,
    periodic: bool = False,
    first_restart: int = 0,
) -> list[Instance]:
    """One Instance per (start, end) run; each run after the first is a restart."""
    out = []
    for k, (start, end) in enumerate(runs):
        restart = first_restart + k
        iid = hex_id(seed, uid, cname, restart)
        out.append(Instance(iid, start, end, restart, cpu_m, mem, periodic))
    return out


def runs_with_restart(start: int, end: int, crash_at: int | None) -> list[tuple[int, int]]:
    """Runs of a container that may crash once at `crash_at` and restart after a backoff."""
    if crash_at is None or not start < crash_at < end - BACKOFF:
        return [(start, end)]
    return [(start, crash_at), (crash_at + BACKOFF, end)]


def make_pod(
    seed: int,
    workload: Workload,
    name: str,
    node: Node,
    owner: tuple[str | None, str | None],
    created: int,
    running: int,
    completed: int | None,
    deleted: int | None,
    final_phase: str | None,
    containers: list[Container],
    host_network: bool = False,
    periodic: bool = False,
) -> Pod:
    """A Pod with a stable uid, sandbox id and IP derived from the seed and its name."""
    uid = stable_uid(seed, workload.namespace, name, created)
    ip = node.ip if host_network else f"10.244.{node.index}.{2 + stable_int(uid) % 250}"
    return Pod(
        name=name,
        uid=uid,
        namespace=workload.namespace,
        node=node.name,
        workload=workload,
        owner_kind=owner[0],
        owner_name=owner[1],
        created=created,
        running=running,
        completed=completed,
        deleted=deleted,
        final_phase=final_phase,
        containers=containers,
        host_network=host_network,
        ip=ip,
        sandbox_id=hex_id(seed, uid, "sandbox"),
        periodic=periodic,
    )


def resources(cpu: float | None, mem: int | None, gpus: int = 0) -> dict[str, float]:
    """A requests/limits dict with only the resources that are set (as KSM exports them)."""
    out: dict[str, float] = {}
    if cpu is not None:
        out["cpu"] = cpu
    if mem is not None:
        out["memory"] = mem
    if gpus:
        out["nvidia_com_gpu"] = gpus
    return out
