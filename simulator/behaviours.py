"""What real exporters and Prometheus setups do that a tidy cluster does not, one switch each.

A cluster is built with a set of behaviour names (`Cluster(behaviours={...})`, or
`--behaviours a,b` / `--behaviours all` on the command line). Every behaviour changes only
what the exporters emit, never what happened: the ground truth's "real" quantities are the
same with or without it. docs/simulator.md says where each comes from in the exporters'
sources.
"""

BEHAVIOURS = {
    # kube-state-metrics and the way Prometheus scrapes it
    "ksm-restart": "kube-state-metrics restarts on a new pod IP (new `instance`), missing scrapes",
    "ksm-replicas": "two kube-state-metrics replicas export every object",
    "ha-pair": "an HA Prometheus pair read without deduplication (`prometheus_replica`)",
    "honor-labels-false": "kubelet and KSM scraped with honor_labels false (`exported_*`)",
    "ksm-old": "KSM before 2.12 (no last_terminated_timestamp) printing `<none>` owners",
    "ksm-empty-owners": "KSM 2.8+: a pod without owner has empty owner labels",
    "started-kept": "KSM 2.2+: kube_pod_container_state_started kept for terminated containers",
    # pods
    "sidecar-outlives-main": "a classic sidecar runs on after the main container finished",
    "crash-completion": "kube_pod_completion_time exported between a crash and the restart",
    "unscheduled-pending": "unscheduled Pending pods (no node, no start time) export requests",
    "init-containers": "classic init containers (while Pending) and native sidecars",
    "recreated-pod": "a StatefulSet pod name recreated within the hour with a new uid",
    # GPUs (dcgm-exporter)
    "mig": "MIG slices: nvidia_com_mig_<profile> requests, DCGM series per GPU instance",
    "shared-gpu": "time-sliced shared GPUs (nvidia_com_gpu_shared), DCGM virtual-GPU mode",
    "idle-gpu-memory": "idle GPUs report a few MiB used under the exporter's own labels",
    "stale-gpu-labels": "a finished pod's labels stay on its GPUs for up to 20 minutes",
    "driver-reload": "gpu-node-1's driver reloads mid-job once per 6 h: energy counters restart",
    "gpu-handover": "gpu-node-1's GPU Jobs follow one another on the same GPUs within seconds",
    # outages
    "prometheus-outage": "the whole Prometheus scrapes nothing for 10 minutes",
    "exporter-outage": "kube-state-metrics is not scraped for 15 minutes",
    "kubelet-outage": "one node's kubelet (cAdvisor) is not scraped for 20 minutes",
    "long-outage": "the whole Prometheus scrapes nothing for 75 minutes (not bridged)",
}


def parse_behaviours(text: str) -> frozenset[str]:
    """Behaviour names from a comma list, `all` (every one but long-outage) or ``."""
    names = {n.strip() for n in text.split(",") if n.strip()}
    if names == {"all"}:
        return frozenset(BEHAVIOURS) - {"long-outage"}
    return check_behaviours(names)


def check_behaviours(names) -> frozenset[str]:
    unknown = sorted(set(names) - BEHAVIOURS.keys())
    if unknown:
        raise ValueError(
            f"unknown behaviour(s) {', '.join(unknown)}; known: {', '.join(BEHAVIOURS)}"
        )
    return frozenset(names)
