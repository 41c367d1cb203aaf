"""The PromQL that hourly usage collection runs, one expression per fact.

Every expression is evaluated at the last millisecond of a UTC hour, T = h + 1 h - 1 ms, in a
range query with a one-hour step, so one query answers for many hours. Range selectors then
cover exactly the hour's samples: `[3599999ms]` at T is [h, T] on Prometheus 2 (closed
ranges), `[3600000ms]` is (h - 1 ms, T] on Prometheus 3 (left-open); `hour_range` picks it.

Counters are never passed through rate() or increase(), which extrapolate to the window
edges. For each raw series (one container instance, one sandbox interface) the hour's
increase is its last sample in the hour minus its last sample before the hour, or minus
zero when the series is new. Series with a counter reset in or at the edge of the hour
are left out here and fetched raw by the collector, which adds the post-reset values.
"""

from promadapter.promql import quote

# cAdvisor series of real containers: not the pod cgroup (container=""), not the
# pause/infra sandbox (image of pause with container="" or container="POD").
CONTAINER = 'container!="", container!="POD", image!=""'
# Network counters live on the sandbox series only; the root cgroup (pod="") is the node.
SANDBOX = 'pod!=""'
RUNNING = 'phase="Running"'

COUNTERS = {
    "cpu_core_seconds": ("container_cpu_usage_seconds_total", CONTAINER),
    "network_rx_bytes": ("container_network_receive_bytes_total", SANDBOX),
    "network_tx_bytes": ("container_network_transmit_bytes_total", SANDBOX),
}
POD = "namespace, pod, uid"


def hour_range(prometheus_major: int) -> str:
    return "3599999ms" if prometheus_major < 3 else "3600000ms"


class UsageQueries:
    """Expressions for one cluster (an optional `cluster` matcher on every selector)."""

    def __init__(self, hour: str, cluster: str | None = None, lookback: str = "6h"):
        self.hour = hour
        self.cluster = f"cluster={quote(cluster)}" if cluster is not None else ""
        self.lookback = lookback

    def sel(self, metric: str, matchers: str = "") -> str:
        inner = ", ".join(m for m in (matchers, self.cluster) if m)
        return f"{metric}{{{inner}}}"

    def last(self, series: str) -> str:
        return f"last_over_time({series}[{self.hour}])"

    def before(self, series: str) -> str:
        """The last sample before the hour, looking back at most `lookback`."""
        return f"last_over_time({series}[{self.lookback}] offset 1h)"

    def counter_increase(self, metric: str, matchers: str) -> str:
        """Exact increase over the hour of each series without a reset."""
        s = self.sel(metric, matchers)
        increase = f"({self.last(s)} - {self.before(s)})"
        new = f"({self.last(s)} unless {self.before(s)})"
        return f"({increase} or {new}) unless {self.counter_reset(metric, matchers)}"

    def counter_reset(self, metric: str, matchers: str) -> str:
        """Series whose counter went down in the hour or across its start."""
        s = self.sel(metric, matchers)
        return (
            f"((resets({s}[{self.hour}]) > 0)"
            f" or (min_over_time({s}[{self.hour}]) < {self.before(s)}))"
        )

    def raw_hour(self, series: str, later: int = 0) -> str:
        return f"{series}[{self.widened(later)}]"

    # Pods, from kube-state-metrics.
    def pod_ran(self) -> str:
        running = self.sel("kube_pod_status_phase", RUNNING)
        return f"max by ({POD}) (max_over_time({running}[{self.hour}]) == 1)"

    def pod_running_at_end(self, window: str) -> str:
        running = self.sel("kube_pod_status_phase", RUNNING)
        return f"max by ({POD}) (last_over_time({running}[{window}]) == 1)"

    def pod_start(self) -> str:
        return f"max by ({POD}) ({self.last(self.sel('kube_pod_start_time'))})"

    def first_container_start(self) -> str:
        """When the pod's first container started, as seen during the hour."""
        started = self.sel("kube_pod_container_state_started")
        return f"min by ({POD}) (min_over_time({started}[{self.hour}]))"

    def pod_completion(self, lookahead: int) -> str:
        """The completion time, evaluated `lookahead` seconds after the hour's end.

        A pod that ends just before the hour's end is seen completed only at the next
        scrape, which may fall into the next hour; the lookahead catches it.
        """
        completion = self.sel("kube_pod_completion_time")
        return f"max by ({POD}) (last_over_time({completion}[{self.widened(lookahead)}]))"

    def widened(self, seconds: int) -> str:
        """The hour's range selector widened by `seconds` (evaluated that much later)."""
        return f"{int(self.hour.removesuffix('ms')) + seconds * 1000}ms"

    def pod_info(self) -> str:
        return f"max by ({POD}, node, host_network) ({self.last(self.sel('kube_pod_info'))})"

    def pod_owner(self) -> str:
        return f"max by ({POD}, owner_kind, owner_name) ({self.last(self.sel('kube_pod_owner'))})"

    def pod_requests(self) -> str:
        requests = self.sel(
            "kube_pod_container_resource_requests", 'resource=~"cpu|memory|nvidia_com_gpu"'
        )
        return f"sum by ({POD}, resource) ({self.last(requests)})"

    def replicaset_owner(self) -> str:
        return (
            "max by (namespace, replicaset, owner_kind, owner_name) "
            f"({self.last(self.sel('kube_replicaset_owner'))})"
        )

    def job_owner(self) -> str:
        return (
            "max by (namespace, job_name, owner_kind, owner_name) "
            f"({self.last(self.sel('kube_job_owner'))})"
        )

    def namespace_label(self, label: str) -> str:
        return f"max by (namespace, {label}) ({self.last(self.sel('kube_namespace_labels'))})"

    # Gauges: the sum of each series' samples in the hour, and their number. Sums across
    # series are left to the collector, which adds them exactly (math.fsum) so that the
    # result does not depend on the order Prometheus happens to return series in.
    def working_set_sum(self) -> str:
        s = self.sel("container_memory_working_set_bytes", CONTAINER)
        return f"sum_over_time({s}[{self.hour}])"

    def working_set_count(self) -> str:
        s = self.sel("container_memory_working_set_bytes", CONTAINER)
        return f"count_over_time({s}[{self.hour}])"

    def instance_starts(self) -> str:
        """When each container instance (one cAdvisor series) started."""
        s = self.sel("container_start_time_seconds", CONTAINER)
        return f"max by (namespace, pod, container, id) ({self.last(s)})"

    def last_terminations(self, lookahead: int) -> str:
        """The latest end of a restarted container's previous instance, seen by the hour."""
        s = self.sel("kube_pod_container_status_last_terminated_timestamp")
        window = self.widened(lookahead)
        return f"max by (namespace, pod, container) (max_over_time({s}[{window}]))"

    def gpu_memory_sum(self, exported: bool) -> str:
        return f"sum_over_time({self._gpu(exported)}[{self.hour}])"

    def gpu_memory_count(self, exported: bool) -> str:
        return f"count_over_time({self._gpu(exported)}[{self.hour}])"

    def _gpu(self, exported: bool) -> str:
        # With honor_labels false the workload's labels are exported_*; the plain ones
        # then name the exporter's own pod and must not be billed.
        if exported:
            return self.sel("DCGM_FI_DEV_FB_USED", 'exported_pod!=""')
        return self.sel("DCGM_FI_DEV_FB_USED", 'pod!="", exported_pod=""')

    def pvc_bytes(self) -> str:
        s = self.sel("kube_persistentvolumeclaim_resource_requests_storage_bytes")
        return f"max by (namespace, persistentvolumeclaim) (avg_over_time({s}[{self.hour}]))"

    def pvc_count(self) -> str:
        s = self.sel("kube_persistentvolumeclaim_resource_requests_storage_bytes")
        return f"max by (namespace, persistentvolumeclaim) (count_over_time({s}[{self.hour}]))"

    def clusters(self, seconds: int) -> str:
        """The values of the `cluster` label seen in the last `seconds` (none: one cluster)."""
        return f"count by (cluster) (max_over_time(kube_node_status_capacity[{seconds}s]))"


def exact_selector(metric_labels: dict[str, str]) -> str:
    """Return a selector matching exactly the series with these labels (incl. __name__)."""
    name = metric_labels.get("__name__", "")
    matchers = ", ".join(
        f"{label}={quote(value)}"
        for label, value in sorted(metric_labels.items())
        if label != "__name__"
    )
    return f"{name}{{{matchers}}}"
