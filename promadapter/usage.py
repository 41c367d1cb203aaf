"""The PromQL that hourly usage collection runs, one expression per fact.

Every expression is evaluated at the last millisecond of a UTC hour, T = h + 1 h - 1 ms, in a
range query with a one-hour step, so one query answers for many hours. Range selectors then
cover exactly the hour's samples: `[3599999ms]` at T is [h, T] on Prometheus 2 (closed
ranges), `[3600000ms]` is (h - 1 ms, T] on Prometheus 3 and VictoriaMetrics (left-open);
`hour_range` picks it from what promadapter.windows found the engine to do.

Counters are never passed through rate() or increase(), which extrapolate to the window
edges. For each raw series (one container instance, one sandbox interface) the hour's
increase is its last sample in the hour minus its last sample before the hour, or minus
zero when the series is new: both are read here, with the series' smallest sample and its
resets, and the collector subtracts; a series with a counter reset in or at the edge of
the hour is fetched raw and its values after each reset added.

kube-state-metrics facts are first reduced per object (`max by` the object's labels), so the
same object exported by several series (a restarted exporter's old and new `instance`, two
replicas or shards, an HA Prometheus pair) counts once; only then are containers summed.
Aggregations keep `exported_namespace`/`exported_pod`/`exported_container` beside the plain
labels: scraped with honor_labels false, the object's labels arrive under those names
(billing.collection.series.object_labels moves them back).
"""

from promadapter.params import duration_seconds
from promadapter.promql import LABEL_NAME, quote

# cAdvisor series of real containers: not the pod cgroup (container=""), not the
# pause/infra sandbox (image of pause with container="" or container="POD").
CONTAINER = 'container!="", container!="POD", image!=""'
# Network counters live on the sandbox series only; the root cgroup (pod="") is the node.
SANDBOX = 'pod!=""'
RUNNING = 'phase="Running"'
TERMINAL = 'phase=~"Succeeded|Failed"'
# The resources billed per pod: CPU, memory, whole GPUs, time-sliced and MIG slices.
RESOURCES = 'resource=~"cpu|memory|nvidia_com_gpu|nvidia_com_gpu_shared|nvidia_com_mig_.+"'

COUNTERS = {
    "cpu_core_seconds": ("container_cpu_usage_seconds_total", CONTAINER),
    "network_rx_bytes": ("container_network_receive_bytes_total", SANDBOX),
    "network_tx_bytes": ("container_network_transmit_bytes_total", SANDBOX),
}
NS = "namespace, exported_namespace"
POD = f"{NS}, pod, exported_pod, uid"
CONTAINER_OF_POD = f"{POD}, container, exported_container"
# One series per exporter that is always there while it is scraped: the heartbeats that
# tell data gaps apart from objects that are gone. (kind, metric, matchers, labels to keep)
HEARTBEATS = (
    ("kubelet", "container_cpu_usage_seconds_total", 'id="/"', "job, instance, node"),
    ("ksm", "kube_node_status_capacity", 'resource="cpu"', "job, instance"),
    ("dcgm", "DCGM_FI_DEV_FB_USED", 'gpu="0"', "job, instance, Hostname, hostname, node"),
)


def hour_range(left_open: bool) -> str:
    return "3600000ms" if left_open else "3599999ms"


class UsageQueries:
    """Expressions for one cluster (an optional `cluster` matcher on every selector)."""

    def __init__(
        self,
        hour: str,
        cluster: str | None = None,
        lookback: str = "6h",
        replica_labels: tuple[str, ...] = (),
    ):
        self.hour = hour
        self.cluster = f"cluster={quote(cluster)}" if cluster is not None else ""
        self.lookback = lookback
        self.lookback_seconds = duration_seconds(lookback)
        self.replicas = replica_labels

    def one_series(self, expr: str, merge: str = "max") -> str:
        """expr with an HA pair's replicas of a counter merged into one series.

        Both replicas read the same counter, so the larger of their values at an instant is
        the one sampled last: merged, they are one series sampled at either's scrapes.
        """
        if not self.replicas:
            return expr
        return f"{merge} without ({', '.join(self.replicas)}) ({expr})"

    def sel(self, metric: str, matchers: str = "") -> str:
        inner = ", ".join(m for m in (matchers, self.cluster) if m)
        return f"{metric}{{{inner}}}"

    def last(self, series: str) -> str:
        return f"last_over_time({series}[{self.hour}])"

    def before(self, series: str) -> str:
        """The last sample before the hour, looking back at most `lookback`."""
        return f"last_over_time({series}[{self.lookback}] offset 1h)"

    def widened(self, seconds: int) -> str:
        """The hour's range selector widened by `seconds` (evaluated that much later)."""
        return f"{int(self.hour.removesuffix('ms')) + seconds * 1000}ms"

    def counter_fact(self, metric: str, matchers: str, part: str) -> str:
        """One fact of each counter series in the hour: its last sample, its last sample
        before the hour, or (only for the series that went down at or after the hour's
        start: a reset inside the hour, or a first sample below the last before) a mark."""
        s = self.sel(metric, matchers)
        if part == "last":
            return self.one_series(self.last(s))
        if part == "before":
            return self.one_series(self.before(s))
        # "reset": the hour's first sample compared with the last before it within the
        # lookback; "reset_after_full_hour": with the previous hour's last sample, enough
        # for the series that had one (the others are asked again with "reset").
        previous = (
            self.before(s) if part == "reset" else f"last_over_time({s}[{self.hour}] offset 1h)"
        )
        lowest = self.one_series(f"min_over_time({s}[{self.hour}])", "min")
        return (
            f"({self.one_series(f'resets({s}[{self.hour}]) > 0')})"
            f" or ({lowest} < {self.one_series(previous)})"
        )

    def raw_around(self, series: str, margin: int, hours: int = 1) -> str:
        """Raw samples from `margin` seconds before a stretch of `hours` hours to `margin`
        after it, evaluated at the last hour's end plus `margin`."""
        return f"{series}[{self.widened(2 * margin + 3600 * (hours - 1))}]"

    # Pods, from kube-state-metrics. A pod is active while it is Running or one of its init
    # containers runs (a pod initialising is still Pending).
    def pod_active(self) -> str:
        running = self.sel("kube_pod_status_phase", RUNNING)
        init = self.sel("kube_pod_init_container_status_running")
        return (
            f"max by ({POD}) (max_over_time({running}[{self.hour}]) == 1)"
            f" or max by ({POD}) (max_over_time({init}[{self.hour}]) == 1)"
        )

    def pod_active_at_end(self, window: str) -> str:
        running = self.sel("kube_pod_status_phase", RUNNING)
        init = self.sel("kube_pod_init_container_status_running")
        return (
            f"max by ({POD}) (last_over_time({running}[{window}]) == 1)"
            f" or max by ({POD}) (last_over_time({init}[{window}]) == 1)"
        )

    def pod_terminal(self, lookahead: int) -> str:
        """Pods seen Succeeded or Failed by `lookahead` seconds after the hour's end."""
        terminal = self.sel("kube_pod_status_phase", TERMINAL)
        return f"max by ({POD}) (max_over_time({terminal}[{self.widened(lookahead)}]) == 1)"

    def pod_start(self) -> str:
        return f"max by ({POD}) ({self.last(self.sel('kube_pod_start_time'))})"

    def first_container_start(self) -> str:
        """When the pod's first app container started, as seen during the hour."""
        started = self.sel("kube_pod_container_state_started")
        return f"min by ({POD}) (min_over_time({started}[{self.hour}]))"

    def init_container_starts(self) -> str:
        """When each init container started (KSM 2.13+; absent before)."""
        started = self.sel("kube_pod_init_container_state_started")
        return f"min by ({CONTAINER_OF_POD}) (min_over_time({started}[{self.hour}]))"

    def pod_completion(self, lookahead: int, fn: str = "max") -> str:
        """The completion time, evaluated `lookahead` seconds after the hour's end.

        kube-state-metrics publishes the latest FinishedAt of the containers that have
        terminated, also while the pod still runs (a sidecar outliving the main container,
        a crash before its restart), so its smallest and largest values are both read.
        """
        completion = self.sel("kube_pod_completion_time")
        return f"{fn} by ({POD}) ({fn}_over_time({completion}[{self.widened(lookahead)}]))"

    def pod_info(self) -> str:
        return f"max by ({POD}, node, host_network) ({self.last(self.sel('kube_pod_info'))})"

    def pod_owner(self) -> str:
        return f"max by ({POD}, owner_kind, owner_name) ({self.last(self.sel('kube_pod_owner'))})"

    def pod_requests(self) -> str:
        """Requests of app containers, per pod and resource, each container counted once."""
        requests = self.sel("kube_pod_container_resource_requests", RESOURCES)
        per_container = f"max by ({CONTAINER_OF_POD}, resource) ({self.last(requests)})"
        return f"sum by ({POD}, resource) ({per_container})"

    def init_requests(self) -> str:
        """Requests of each init container (classic ones and native sidecars)."""
        requests = self.sel("kube_pod_init_container_resource_requests", RESOURCES)
        return f"max by ({CONTAINER_OF_POD}, resource) ({self.last(requests)})"

    def native_sidecars(self) -> str:
        """Init containers with restartPolicy Always: they run beside the app containers."""
        info = self.sel("kube_pod_init_container_info", 'restart_policy="Always"')
        return f"max by ({CONTAINER_OF_POD}) ({self.last(info)})"

    def replicaset_owner(self) -> str:
        return (
            f"max by ({NS}, replicaset, owner_kind, owner_name) "
            f"({self.last(self.sel('kube_replicaset_owner'))})"
        )

    def job_owner(self) -> str:
        return (
            f"max by ({NS}, job_name, owner_kind, owner_name) "
            f"({self.last(self.sel('kube_job_owner'))})"
        )

    def namespace_label(self, label: str) -> str:
        return f"max by ({NS}, {label}) ({self.last(self.sel('kube_namespace_labels'))})"

    def pod_label(self, label: str) -> str:
        """Each pod's value of one kube_pod_labels label, for the pods that carry it."""
        if not LABEL_NAME.fullmatch(label):
            raise ValueError(f"not a label name: {label!r}")
        labelled = self.sel("kube_pod_labels", f'{label}!=""')
        return f"max by ({POD}, {label}) ({self.last(labelled)})"

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
        return f"max by ({NS}, pod, container, id) ({self.last(s)})"

    def last_terminations(self, lookahead: int, fn: str = "max") -> str:
        """The ends of restarted containers' previous instances, seen by the hour."""
        s = self.sel("kube_pod_container_status_last_terminated_timestamp")
        window = self.widened(lookahead)
        return f"{fn} by ({CONTAINER_OF_POD}) ({fn}_over_time({s}[{window}]))"

    def gpu_memory_sum(self) -> str:
        return f"sum_over_time({self.sel('DCGM_FI_DEV_FB_USED')}[{self.hour}])"

    def gpu_memory_count(self) -> str:
        return f"count_over_time({self.sel('DCGM_FI_DEV_FB_USED')}[{self.hour}])"

    def pvc_bytes(self) -> str:
        s = self.sel("kube_persistentvolumeclaim_resource_requests_storage_bytes")
        return f"max by ({NS}, persistentvolumeclaim) (avg_over_time({s}[{self.hour}]))"

    def pvc_created(self) -> str:
        """When each claim was created (kube-state-metrics 2.5+)."""
        s = self.sel("kube_persistentvolumeclaim_created")
        return f"max by ({NS}, persistentvolumeclaim) ({self.last(s)})"

    def pvc_present(self, window: str, at_start: bool) -> str:
        """Claims with a sample in the `window` before the hour's start or end."""
        s = self.sel("kube_persistentvolumeclaim_resource_requests_storage_bytes")
        offset = " offset 1h" if at_start else ""
        return f"max by ({NS}, persistentvolumeclaim) (last_over_time({s}[{window}]{offset}))"

    def heartbeat(self, metric: str, matchers: str, by: str) -> str:
        """The time of each exporter's latest sample (one value per scrape).

        Per replica of an HA pair and per exporter instance: merged here, a later sample of
        one would hide another's earlier one from a range query; the collector merges them.
        """
        by = ", ".join([by, *self.replicas])
        return f"max by ({by}) (timestamp({self.sel(metric, matchers)}))"

    def heartbeat_count(self, metric: str, matchers: str, by: str) -> str:
        """How many samples each exporter's heartbeat had in the hour before each step."""
        by = ", ".join([by, *self.replicas])
        return f"max by ({by}) (count_over_time({self.sel(metric, matchers)}[1h]))"

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
