"""GPU: allocation of the GPU nodes, and how the allocated GPUs are used.

Allocation is kube-state-metrics' view (requests of Pending and Running pods, per
resource: whole GPUs, MIG slices, shared GPUs); use comes from the DCGM exporter, per
device (GPU utilization, framebuffer) and per pod through the recorded series, which read
the pod labels whether they arrive as pod/namespace or as exported_pod/exported_namespace.
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


def per_device(metric: str) -> str:
    return f"max by ({DEVICE}) ({sel(metric)})"


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
        "GPU allocation (requests) and use (DCGM exporter) per namespace, device and pod.",
        [variables.datasource(), variables.cluster()],
        {"Summary": summary, "Allocation": allocation, "Devices and pods": devices},
    )
