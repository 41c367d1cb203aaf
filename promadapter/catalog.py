"""The 37 seed metrics (Heapster's metric set) mapped to the project's recorded series.

Each entry names the recording rule it reads (prometheus/rules/*.yml), the fixed matchers that pick
the right slice of it, the factor from the rule's base unit (seconds, cores, bytes) to the unit the
original API used (nanoseconds, millicores, milliseconds), and the level it exists at:
container, pod (network lives on the pod sandbox) or node.
"""

from dataclasses import dataclass, field

from promadapter.promql import filters_selector

CONTAINER, POD, NODE = "container", "pod", "node"

# The request filters that make sense at each scope.
SCOPE_FILTERS = {
    CONTAINER: ("namespace", "pod", "container", "node"),
    POD: ("namespace", "pod", "node"),
    NODE: ("node",),
}

CPU_RATE = "node_namespace_pod_container:container_cpu_usage_seconds:sum_rate5m"
CPU_TOTAL = "node_namespace_pod_container:container_cpu_usage_seconds_total:sum"
REQUESTS = "node_namespace_pod_container:kube_pod_container_resource_requests:active"
LIMITS = "node_namespace_pod_container:kube_pod_container_resource_limits:active"
CAPACITY = "node:kube_node_status_capacity:max"
ALLOCATABLE = "node:kube_node_status_allocatable:max"
RESERVATION = "node_resource:kube_pod_container_resource_requests_per_allocatable:ratio"
FAULTS = "node_namespace_pod_container:container_memory_failures_total:sum"
FAULTS_RATE = "node_namespace_pod_container:container_memory_failures:sum_rate5m"


@dataclass(frozen=True)
class Metric:
    """One seed metric: what it means, where it comes from, and how to convert it."""

    name: str
    description: str
    unit: str
    scope: str
    record: str
    fixed: dict[str, str] = field(default_factory=dict)
    factor: float = 1.0
    # True where some runtimes do not expose the source (filesystem under containerd).
    optional: bool = False

    def promql(
        self, filters: dict[str, str], cluster: str | None = None, home_cluster: str = "default"
    ) -> str:
        """Return the PromQL selector for the request's validated filters, in cluster (or all)."""
        return filters_selector(self.record, self.fixed, filters, cluster, home_cluster)

    @property
    def template(self) -> str:
        """Return the PromQL of the metric without request filters."""
        return filters_selector(self.record, self.fixed, {})


def network(name: str, record: str, description: str, unit: str) -> Metric:
    return Metric(name, description, unit, POD, f"node_namespace_pod:{record}")


def filesystem(name: str, record: str, description: str, unit: str) -> Metric:
    return Metric(
        name,
        description,
        unit,
        CONTAINER,
        f"node_namespace_pod_container_device:{record}:max",
        optional=True,
    )


def memory(name: str, record: str, description: str) -> Metric:
    return Metric(name, description, "bytes", CONTAINER, f"node_namespace_pod_container:{record}")


METRICS: tuple[Metric, ...] = (
    Metric(
        "cpu/limit",
        "CPU hard limit in millicores.",
        "millicores",
        CONTAINER,
        LIMITS,
        {"resource": "cpu"},
        1000,
    ),
    Metric(
        "cpu/node_capacity",
        "Cpu capacity of a node.",
        "millicores",
        NODE,
        CAPACITY,
        {"resource": "cpu"},
        1000,
    ),
    Metric(
        "cpu/node_allocatable",
        "Cpu allocatable of a node.",
        "millicores",
        NODE,
        ALLOCATABLE,
        {"resource": "cpu"},
        1000,
    ),
    Metric(
        "cpu/node_reservation",
        "Share of cpu that is reserved on the node allocatable.",
        "ratio",
        NODE,
        RESERVATION,
        {"resource": "cpu"},
    ),
    Metric(
        "cpu/node_utilization",
        "CPU utilization as a share of node allocatable.",
        "ratio",
        NODE,
        "node:container_cpu_usage_seconds_per_allocatable:ratio_rate5m",
    ),
    Metric(
        "cpu/request",
        "CPU request (the guaranteed amount of resources) in millicores.",
        "millicores",
        CONTAINER,
        REQUESTS,
        {"resource": "cpu"},
        1000,
    ),
    Metric(
        "cpu/usage",
        "Cumulative CPU usage on all cores.",
        "nanoseconds",
        CONTAINER,
        CPU_TOTAL,
        factor=1e9,
    ),
    Metric(
        "cpu/usage_rate",
        "CPU usage on all cores in millicores.",
        "millicores",
        CONTAINER,
        CPU_RATE,
        factor=1000,
    ),
    filesystem(
        "filesystem/usage",
        "container_fs_usage_bytes",
        "Total number of bytes consumed on a filesystem.",
        "bytes",
    ),
    filesystem(
        "filesystem/limit",
        "container_fs_limit_bytes",
        "The total size of filesystem in bytes.",
        "bytes",
    ),
    filesystem(
        "filesystem/available",
        "container_fs_available_bytes",
        "The number of available bytes remaining in a the filesystem",
        "bytes",
    ),
    filesystem(
        "filesystem/inodes",
        "container_fs_inodes_total",
        "The number of available inodes in a the filesystem",
        "count",
    ),
    filesystem(
        "filesystem/inodes_free",
        "container_fs_inodes_free",
        "The number of free inodes remaining in a the filesystem",
        "count",
    ),
    # DCGM reports framebuffer memory in MiB (its docs say "MB").
    Metric(
        "gpu/usage",
        "GPU memory used in MB.",
        "MiB",
        CONTAINER,
        "node_namespace_pod_container:DCGM_FI_DEV_FB_USED:sum",
    ),
    Metric(
        "memory/limit",
        "Memory hard limit in bytes.",
        "bytes",
        CONTAINER,
        LIMITS,
        {"resource": "memory"},
    ),
    Metric(
        "memory/major_page_faults",
        "Number of major page faults.",
        "count",
        CONTAINER,
        FAULTS,
        {"failure_type": "pgmajfault"},
    ),
    Metric(
        "memory/major_page_faults_rate",
        "Number of major page faults per second.",
        "per_second",
        CONTAINER,
        FAULTS_RATE,
        {"failure_type": "pgmajfault"},
    ),
    Metric(
        "memory/node_capacity",
        "Memory capacity of a node.",
        "bytes",
        NODE,
        CAPACITY,
        {"resource": "memory"},
    ),
    Metric(
        "memory/node_allocatable",
        "Memory allocatable of a node.",
        "bytes",
        NODE,
        ALLOCATABLE,
        {"resource": "memory"},
    ),
    Metric(
        "memory/node_reservation",
        "Share of memory that is reserved on the node allocatable.",
        "ratio",
        NODE,
        RESERVATION,
        {"resource": "memory"},
    ),
    Metric(
        "memory/node_utilization",
        "Memory utilization as a share of memory allocatable.",
        "ratio",
        NODE,
        "node:container_memory_usage_bytes_per_allocatable:ratio",
    ),
    Metric(
        "memory/page_faults",
        "Number of page faults.",
        "count",
        CONTAINER,
        FAULTS,
        {"failure_type": "pgfault"},
    ),
    Metric(
        "memory/page_faults_rate",
        "Number of page faults per second.",
        "per_second",
        CONTAINER,
        FAULTS_RATE,
        {"failure_type": "pgfault"},
    ),
    Metric(
        "memory/request",
        "Memory request (the guaranteed amount of resources) in bytes.",
        "bytes",
        CONTAINER,
        REQUESTS,
        {"resource": "memory"},
    ),
    memory("memory/usage", "container_memory_usage_bytes:max", "Total memory usage."),
    memory("memory/cache", "container_memory_cache:max", "Cache memory usage."),
    memory("memory/rss", "container_memory_rss:max", "RSS memory usage."),
    memory(
        "memory/working_set",
        "container_memory_working_set_bytes:max",
        "Total working set usage. Working set is the memory being used and not easily "
        "dropped by the kernel.",
    ),
    network(
        "network/rx",
        "container_network_receive_bytes_total:sum",
        "Cumulative number of bytes received over the network.",
        "bytes",
    ),
    network(
        "network/rx_errors",
        "container_network_receive_errors_total:sum",
        "Cumulative number of errors while receiving over the network.",
        "count",
    ),
    network(
        "network/rx_errors_rate",
        "container_network_receive_errors:sum_rate5m",
        "Number of errors while receiving over the network per second.",
        "per_second",
    ),
    network(
        "network/rx_rate",
        "container_network_receive_bytes:sum_rate5m",
        "Number of bytes received over the network per second.",
        "bytes_per_second",
    ),
    network(
        "network/tx",
        "container_network_transmit_bytes_total:sum",
        "Cumulative number of bytes sent over the network",
        "bytes",
    ),
    network(
        "network/tx_errors",
        "container_network_transmit_errors_total:sum",
        "Cumulative number of errors while sending over the network",
        "count",
    ),
    network(
        "network/tx_errors_rate",
        "container_network_transmit_errors:sum_rate5m",
        "Number of errors while sending over the network",
        "per_second",
    ),
    network(
        "network/tx_rate",
        "container_network_transmit_bytes:sum_rate5m",
        "Number of bytes sent over the network per second.",
        "bytes_per_second",
    ),
    Metric(
        "uptime",
        "Number of milliseconds since the container was started.",
        "milliseconds",
        CONTAINER,
        "node_namespace_pod_container:container_uptime_seconds:max",
        factor=1000,
    ),
)

BY_NAME: dict[str, Metric] = {metric.name: metric for metric in METRICS}
# Labels the catalog itself fixes; they say nothing new in a response. `cluster` stays visible:
# without the `cluster` parameter the series of every cluster come back, and it tells them apart.
HIDDEN_LABELS = frozenset({"__name__", "resource", "unit", "failure_type"})
