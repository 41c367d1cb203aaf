"""GPU: allocation of the GPU nodes, how the allocated GPUs are used, and their energy.

Allocation is kube-state-metrics' view (requests of Pending and Running pods, per
resource: whole GPUs, MIG slices, shared GPUs); use comes from the DCGM exporter, per
device (GPU utilization, framebuffer) and per pod through the recorded series, which read
the pod labels whether they arrive as pod/namespace or as exported_pod/exported_namespace.

Power and energy are the physical GPU's on every series of it (each MIG instance, each
time-sliced pod, each replica of an HA pair repeats them), so they are taken once per device
UUID before summing. The energy per hour is `increase()` of each device's counter, merged
over its series by a subquery: resets (driver reloads) are handled, the hour's edges are
extrapolated. It is a dashboard approximation; the bills come from the collector, which
reads every sample (docs/collection.md). Activity is read per holder, as billing reads it:
GR_ENGINE_ACTIVE when the GPU reports it, else GPU_UTIL / 100, a time-sliced pod's own
GPU_UTIL; only pods that request GPUs and run count as holders, so a finished pod whose
labels linger on its GPU is not one. These are raw exporter series: no recording rule.
"""

from dashboards import variables
from dashboards.layout import dashboard
from dashboards.panels import FULL, GPUS, graph, sel, single

GPU_RESOURCES = 'resource=~"nvidia_com_.+"'
WHOLE_GPUS = 'resource="nvidia_com_gpu"'
REQUESTS = "node_namespace_pod_container:kube_pod_container_resource_requests:active"
GPU_MEMORY = "node_namespace_pod_container:DCGM_FI_DEV_FB_USED:sum"
# A device is one GPU (or GPU instance) of one node, whatever pods its series name.
DEVICE = "cluster, Hostname, gpu"
# A physical GPU: what its power and energy counter belong to.
PHYSICAL = "cluster, Hostname, UUID"
# A pod's hold on a GPU, a MIG instance (GPU_I_ID) or a time-sliced replica of one.
HOLDER = "cluster, namespace, pod, Hostname, UUID, GPU_I_ID"
POWER = "DCGM_FI_DEV_POWER_USAGE"
ENERGY = "DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION"
MJ_PER_KWH = "3.6e9"
# A held GPU is idle below this activity: KUBEMON_GPU_IDLE_PERCENT's default, 5 %.
IDLE_RATIO = "0.05"


def per_device(metric: str) -> str:
    return f"max by ({DEVICE}) ({sel(metric)})"


def per_gpu(metric: str) -> str:
    """The value of each physical GPU, once whatever series repeat it."""
    return f"max by ({PHYSICAL}) ({sel(metric)})"


def with_pod(metric: str, *matchers: str) -> str:
    """`metric`'s series that name a pod, as pod/namespace or as exported_pod/_namespace."""
    exported = sel(metric, 'exported_pod!=""', *matchers)
    renamed = (
        f'label_replace(label_replace({exported}, "namespace", "$1", "exported_namespace", '
        '"(.+)"), "pod", "$1", "exported_pod", "(.+)")'
    )
    direct = sel(metric, 'exported_pod=""', 'pod!=""', *matchers)
    return f"{renamed} or {direct}"


def held_activity() -> str:
    """Each held GPU's activity (0-1): a time-sliced pod's own utilization, else
    GR_ENGINE_ACTIVE, else GPU_UTIL / 100; only for running pods that request GPUs."""
    util = "DCGM_FI_DEV_GPU_UTIL"
    shared = with_pod(util, 'vgpu!=""')
    first = [
        f"max by ({HOLDER}) ({shared}) / 100",
        f"max by ({HOLDER}) ({with_pod('DCGM_FI_PROF_GR_ENGINE_ACTIVE')})",
        f"max by ({HOLDER}) ({with_pod(util)}) / 100",
    ]
    return (
        "(" + " or ".join(first) + ") and on (cluster, namespace, pod) "
        f"{sel(REQUESTS, GPU_RESOURCES)}"
    )


def energy_panels() -> list:
    activity = held_activity()
    return [
        single("GPU power", "watt", f"sum({per_gpu(POWER)})"),
        single(
            "GPUs held",
            GPUS,
            f"count({activity})",
            description="GPUs, MIG instances and time-sliced replicas held by running pods.",
        ),
        single(
            "Held GPUs idle",
            GPUS,
            f"sum(({activity}) < bool {IDLE_RATIO})",
            description="Held with an activity below 5 % (KUBEMON_GPU_IDLE_PERCENT's default).",
        ),
        single(
            "GPU efficiency",
            "percentunit",
            f"avg({activity})",
            description="Mean activity of the held GPUs: GR_ENGINE_ACTIVE, else GPU_UTIL.",
        ),
        graph(
            "GPU power per node",
            "watt",
            {"{{cluster}} {{Hostname}}": f"sum by (cluster, Hostname) ({per_gpu(POWER)})"},
            description="DCGM_FI_DEV_POWER_USAGE, once per GPU (UUID): MIG instances, "
            "time-sliced pods and HA replicas repeat it.",
        ),
        graph(
            "GPU energy per node, last hour",
            "kwatth",
            {
                "{{cluster}} {{Hostname}}": "sum by (cluster, Hostname) "
                f"(increase(({per_gpu(ENERGY)})[1h:1m])) / {MJ_PER_KWH}"
            },
            description="increase() of DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION per GPU (UUID) "
            "over the hour before each point, resets handled: an approximation. Bills "
            "come from the collector.",
        ),
        graph(
            "GPU efficiency by namespace",
            "percentunit",
            {"{{cluster}} {{namespace}}": f"avg by (cluster, namespace) ({activity})"},
            description="Mean activity of the namespace's held GPUs, MIG instances and "
            "time-sliced replicas, each counting once (billing weighs them by their GPU "
            "fraction).",
        ),
        graph(
            "Held GPUs idle by namespace",
            GPUS,
            {
                "{{cluster}} {{namespace}}": "sum by (cluster, namespace) "
                f"(({activity}) < bool {IDLE_RATIO})"
            },
            description="Held GPUs, MIG instances and time-sliced replicas with an "
            "activity below 5 %.",
        ),
    ]


def build():
    summary = [
        single(
            "GPUs allocatable",
            GPUS,
            f"sum({sel('node:kube_node_status_allocatable:max', WHOLE_GPUS)})",
        ),
        single(
            "GPUs requested",
            GPUS,
            f"sum({sel(REQUESTS, WHOLE_GPUS)})",
            description="Whole GPUs requested by Pending and Running pods.",
        ),
        single(
            "GPU reservation",
            "percentunit",
            "max({})".format(
                sel(
                    "node_resource:kube_pod_container_resource_requests_per_allocatable:ratio",
                    WHOLE_GPUS,
                )
            ),
            description="The fullest GPU node: requested over allocatable GPUs.",
        ),
        single("GPU memory used", "mbytes", f"sum({sel(GPU_MEMORY)})"),
    ]
    allocation = [
        graph(
            "GPU resources requested by namespace",
            GPUS,
            {
                "{{cluster}} {{namespace}} {{resource}}": "sum by (cluster, namespace, resource) "
                f"({sel(REQUESTS, GPU_RESOURCES)})"
            },
        ),
        graph(
            "GPU memory used by namespace",
            "mbytes",
            {"{{cluster}} {{namespace}}": f"sum by (cluster, namespace) ({sel(GPU_MEMORY)})"},
        ),
    ]
    devices = [
        graph(
            "GPU utilization per device",
            "percent",
            {"{{Hostname}} GPU {{gpu}}": per_device("DCGM_FI_DEV_GPU_UTIL")},
            description="DCGM_FI_DEV_GPU_UTIL; not reported for MIG GPU instances.",
        ),
        graph(
            "GPU memory free per device",
            "mbytes",
            {"{{Hostname}} GPU {{gpu}}": per_device("DCGM_FI_DEV_FB_FREE")},
        ),
        graph(
            "GPU memory used by pod (top 10)",
            "mbytes",
            {
                "{{namespace}}/{{pod}}": "topk(10, sum by (cluster, namespace, pod) "
                f"({sel(GPU_MEMORY)}))"
            },
            width=FULL,
        ),
    ]
    return dashboard(
        "kubemon-gpu",
        "kube-monitoring / GPU",
        "GPU allocation (requests), use, energy and efficiency (DCGM exporter) per "
        "namespace, node, device and pod.",
        [variables.datasource(), variables.cluster()],
        {
            "Summary": summary,
            "Allocation": allocation,
            "Devices and pods": devices,
            "Energy and efficiency": energy_panels(),
        },
    )
