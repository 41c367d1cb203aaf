"""Namespace and job usage: what one namespace, then one of its jobs, used over time.

The quantities are those collection bills (DESIGN.md): CPU and memory used against their
requests, GPU memory, network, and storage claimed. A job here is the pod owner that
kube-state-metrics reports (a Job, ReplicaSet, StatefulSet…): billing resolves further up,
to a ReplicaSet's Deployment, which a dashboard variable cannot do cheaply.
"""

from dashboards import variables
from dashboards.layout import dashboard
from dashboards.panels import CORES, GPUS, graph, sel

NAMESPACE = 'namespace="$namespace"'
GPU_RESOURCES = 'resource=~"nvidia_com_.+"'
CPU = "node_namespace_pod_container:container_cpu_usage_seconds:sum_rate5m"
WORKING_SET = "node_namespace_pod_container:container_memory_working_set_bytes:max"
REQUESTS = "node_namespace_pod_container:kube_pod_container_resource_requests:active"
GPU_MEMORY = "node_namespace_pod_container:DCGM_FI_DEV_FB_USED:sum"
RECEIVED = "node_namespace_pod:container_network_receive_bytes:sum_rate5m"
SENT = "node_namespace_pod:container_network_transmit_bytes:sum_rate5m"
# kube_pod_owner once per pod of the chosen job, whatever the kube-state-metrics replicas.
JOB_PODS = "max by (cluster, namespace, pod) ({})".format(
    sel("kube_pod_owner", NAMESPACE, 'owner_name="$job"')
)


def namespace_sum(rule: str, *matchers: str) -> str:
    return f"sum({sel(rule, NAMESPACE, *matchers)})"


def job_by_pod(rule: str) -> str:
    """`rule` summed per pod of the chosen job."""
    return (
        f"sum by (pod) ({sel(rule, NAMESPACE)}) * on (pod) group_left() max by (pod) ({JOB_PODS})"
    )


def namespace_panels() -> list:
    return [
        graph(
            "CPU used and requested",
            CORES,
            {"used": namespace_sum(CPU), "requested": namespace_sum(REQUESTS, 'resource="cpu"')},
        ),
        graph(
            "Memory working set and requested",
            "bytes",
            {
                "working set": namespace_sum(WORKING_SET),
                "requested": namespace_sum(REQUESTS, 'resource="memory"'),
            },
        ),
        graph(
            "GPUs requested",
            GPUS,
            {"{{resource}}": f"sum by (resource) ({sel(REQUESTS, NAMESPACE, GPU_RESOURCES)})"},
            description="Whole GPUs, MIG slices and shared GPUs, each its own resource.",
        ),
        graph("GPU memory used", "mbytes", {"used": namespace_sum(GPU_MEMORY)}),
        graph(
            "Network",
            "Bps",
            {"received": namespace_sum(RECEIVED), "sent": namespace_sum(SENT)},
            description="Per pod, as cAdvisor reports it; hostNetwork pods are left out.",
        ),
        graph(
            "Storage claimed",
            "bytes",
            {
                "{{persistentvolumeclaim}}": "max by (persistentvolumeclaim) ({})".format(
                    sel("kube_persistentvolumeclaim_resource_requests_storage_bytes", NAMESPACE)
                )
            },
            description="Requested size of each PersistentVolumeClaim, billed while it exists.",
        ),
    ]


def job_panels() -> list:
    return [
        graph("Job CPU used by pod", CORES, {"{{pod}}": job_by_pod(CPU)}),
        graph("Job memory working set by pod", "bytes", {"{{pod}}": job_by_pod(WORKING_SET)}),
        graph(
            "Job network by pod",
            "Bps",
            {"{{pod}} received": job_by_pod(RECEIVED), "{{pod}} sent": job_by_pod(SENT)},
        ),
        graph(
            "Job pods running",
            "none",
            {
                "running": "count(max by (pod) ({}) == 1 and on (pod) max by (pod) ({}))".format(
                    sel("kube_pod_status_phase", NAMESPACE, 'phase="Running"'), JOB_PODS
                )
            },
        ),
    ]


def build():
    return dashboard(
        "kubemon-usage",
        "kube-monitoring / Namespace and job usage",
        "What one namespace used, then one of its jobs: CPU, memory, GPU, network, storage.",
        [variables.datasource(), variables.cluster(), variables.namespace(), variables.job()],
        {"Namespace $namespace": namespace_panels(), "Job $job": job_panels()},
    )
