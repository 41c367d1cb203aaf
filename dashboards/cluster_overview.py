"""Cluster overview: nodes, what is running, and how full the nodes are, per cluster."""

from dashboards import variables
from dashboards.layout import dashboard
from dashboards.panels import CORES, GPUS, graph, sel, single

# Legends: one line per node, or per namespace, of each cluster.
NODE = "{{cluster}} {{node}}"
NAMESPACE = "{{cluster}} {{namespace}}"
# One series per node and resource: count the CPU ones.
NODES = "count({})".format(sel("node:kube_node_status_allocatable:max", 'resource="cpu"'))
# One pod once, whatever the number of kube-state-metrics replicas exporting it.
RUNNING_PODS = "count(max by (cluster, namespace, pod) ({}) == 1)".format(
    sel("kube_pod_status_phase", 'phase="Running"')
)


def allocatable(resource: str) -> str:
    matcher = f'resource="{resource}"'
    return f"sum({sel('node:kube_node_status_allocatable:max', matcher)})"


def per_node(rule: str, *matchers: str) -> str:
    return f"max by (cluster, node) ({sel(rule, *matchers)})"


def by_namespace(rule: str, *matchers: str) -> str:
    return f"sum by (cluster, namespace) ({sel(rule, *matchers)})"


def build():
    requests = "node_resource:kube_pod_container_resource_requests_per_allocatable:ratio"
    cpu_rate = "node_namespace_pod_container:container_cpu_usage_seconds:sum_rate5m"
    working_set = "node_namespace_pod_container:container_memory_working_set_bytes:max"
    summary = [
        single("Nodes", "none", NODES),
        single("Running pods", "none", RUNNING_PODS),
        single("Allocatable CPU", CORES, allocatable("cpu")),
        single("Allocatable memory", "bytes", allocatable("memory")),
    ]
    nodes = [
        graph(
            "CPU used / allocatable",
            "percentunit",
            {NODE: per_node("node:container_cpu_usage_seconds_per_allocatable:ratio_rate5m")},
        ),
        graph(
            "Memory used / allocatable",
            "percentunit",
            {NODE: per_node("node:container_memory_usage_bytes_per_allocatable:ratio")},
        ),
        graph(
            "CPU requested / allocatable",
            "percentunit",
            {NODE: per_node(requests, 'resource="cpu"')},
            description="Requests of Pending and Running pods; completed pods hold nothing.",
        ),
        graph(
            "Memory requested / allocatable",
            "percentunit",
            {NODE: per_node(requests, 'resource="memory"')},
        ),
    ]
    namespaces = [
        graph("CPU used by namespace", CORES, {NAMESPACE: by_namespace(cpu_rate)}),
        graph(
            "Memory working set by namespace",
            "bytes",
            {NAMESPACE: by_namespace(working_set)},
        ),
        graph(
            "Network by namespace",
            "Bps",
            {
                "{{cluster}} {{namespace}} received": by_namespace(
                    "node_namespace_pod:container_network_receive_bytes:sum_rate5m"
                ),
                "{{cluster}} {{namespace}} sent": by_namespace(
                    "node_namespace_pod:container_network_transmit_bytes:sum_rate5m"
                ),
            },
            description="Per pod, as cAdvisor reports it; hostNetwork pods are left out.",
        ),
        graph(
            "GPUs requested by namespace",
            GPUS,
            {
                NAMESPACE: by_namespace(
                    "node_namespace_pod_container:kube_pod_container_resource_requests:active",
                    'resource="nvidia_com_gpu"',
                )
            },
        ),
    ]
    return dashboard(
        "kubemon-cluster-overview",
        "kube-monitoring / Cluster overview",
        "Nodes, running pods, node utilization and reservation, usage by namespace.",
        [variables.datasource(), variables.cluster()],
        {"Summary": summary, "Nodes": nodes, "Namespaces": namespaces},
    )
