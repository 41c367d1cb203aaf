"""A hand-made cluster, "edge-lab", for the cases the simulator does not produce.

It is backfilled into the session's Prometheus beside the simulated clusters, all its
series labelled cluster="edge-lab", scraped every 30 s at :15 and :45 past each minute
from 08:00 to 10:00 UTC on the day of the usage window:

- pod "reset-pod": its container's CPU counter resets inside one series (as after a
  cAdvisor or kubelet restart), at 08:20:15, to 3 seconds;
- pod "vanish-pod": deleted while Running at 08:30:00, without a completion time.
"""

from datetime import UTC, datetime, timedelta

CLUSTER = "edge-lab"
START = datetime(2026, 3, 2, 8, tzinfo=UTC)
SAMPLES = 240  # two hours
RESET_AT = 40  # the sample index where the counter restarts
VANISHED = 60  # vanish-pod's samples stop before this index (08:30:15)

# What exact accounting must bill, per hour.
RESET_POD_CPU = {8: 15 * 39 + 3 + 15 * (119 - RESET_AT), 9: 15 * 120}
VANISH_POD_CPU_REQUEST = {8: 2 * 1800}


def times() -> list[float]:
    first = START + timedelta(seconds=15)
    return [(first + timedelta(seconds=30 * k)).timestamp() for k in range(SAMPLES)]


def cpu_counter(k: int) -> float:
    return 15 * k if k < RESET_AT else 15 * (k - RESET_AT) + 3


def labels(**pairs: str) -> str:
    return "{" + ",".join(f'{k}="{v}"' for k, v in {**pairs, "cluster": CLUSTER}.items()) + "}"


def family(name: str, kind: str, series: list[tuple[str, list[tuple[float, float]]]]) -> list[str]:
    lines = [f"# TYPE {name.removesuffix('_total') if kind == 'counter' else name} {kind}"]
    for label_text, samples in series:
        metric = name if kind != "counter" or name.endswith("_total") else name + "_total"
        lines += [f"{metric}{label_text} {value} {ts:.3f}" for ts, value in samples]
    return lines


def openmetrics() -> str:
    ts = times()
    every = list(range(SAMPLES))
    vanish = list(range(VANISHED))
    start = START.timestamp()
    ksm = {"job": "kube-state-metrics", "namespace": "edge"}
    pod_ids = {
        "reset-pod": {**ksm, "pod": "reset-pod", "uid": "u-reset"},
        "vanish-pod": {**ksm, "pod": "vanish-pod", "uid": "u-vanish"},
    }
    alive = {"reset-pod": every, "vanish-pod": vanish}

    def per_pod(value, extra=None):
        return [
            (labels(**ids, **(extra or {})), [(ts[k], value) for k in alive[pod]])
            for pod, ids in pod_ids.items()
        ]

    cadvisor = {"job": "kubelet", "metrics_path": "/metrics/cadvisor", "node": "edge-node"}
    container = {
        **cadvisor,
        "namespace": "edge",
        "pod": "reset-pod",
        "container": "main",
        "image": "busybox:1.36",
        "id": "/kubepods/pod-u-reset/ctr-1",
    }
    lines = []
    lines += family(
        "container_cpu_usage_seconds_total",
        "counter",
        [(labels(**container, cpu="total"), [(ts[k], cpu_counter(k)) for k in every])],
    )
    lines += family(
        "kube_node_status_capacity",
        "gauge",
        [
            (
                labels(job="kube-state-metrics", node="edge-node", resource="cpu", unit="core"),
                [(t, 8) for t in ts],
            )
        ],
    )
    lines += family(
        "kube_pod_container_resource_requests",
        "gauge",
        per_pod(2, {"container": "main", "node": "edge-node", "resource": "cpu", "unit": "core"}),
    )
    lines += family(
        "kube_pod_info", "gauge", per_pod(1, {"node": "edge-node", "host_network": "false"})
    )
    lines += family(
        "kube_pod_owner", "gauge", per_pod(1, {"owner_kind": "<none>", "owner_name": "<none>"})
    )
    lines += family("kube_pod_start_time", "gauge", per_pod(start))
    lines += family("kube_pod_status_phase", "gauge", per_pod(1, {"phase": "Running"}))
    lines.append("# EOF")
    return "\n".join(lines) + "\n"
