"""GPU resources and their weights: how many GPU-seconds a second of each resource is.

A whole GPU (`nvidia.com/gpu`) weighs 1. A MIG slice `nvidia.com/mig-<N>g.<M>gb` holds N of
the GPU's 7 compute slices and weighs N/7 by default. A time-sliced GPU renamed
`nvidia.com/gpu.shared` is one of several replicas of a device and weighs 1/4 by default
(the NVIDIA device plugin's example configuration); set KUBEMON_GPU_WEIGHTS to your
`replicas`. kube-state-metrics writes the names with `_` (nvidia_com_mig_3g_40gb).
"""

import re
from fractions import Fraction

MIG = re.compile(r"nvidia_com_mig_(\d+)g_\w+")
DEFAULT_WEIGHTS = {"nvidia_com_gpu": 1.0, "nvidia_com_gpu_shared": 0.25}


def parse_weights(text: str) -> dict[str, float]:
    """`resource=weight,...` (weights as decimals or fractions like 3/7) into a dict."""
    weights = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        resource, sep, weight = item.partition("=")
        try:
            value = float(Fraction(weight.strip()))
        except (ValueError, ZeroDivisionError):
            value = -1.0
        if not sep or not resource.strip() or value < 0:
            raise ValueError(
                f"KUBEMON_GPU_WEIGHTS: {item!r} is not resource=weight (weight >= 0, e.g. "
                "nvidia_com_gpu_shared=0.25 or nvidia_com_mig_3g_40gb=3/7)"
            )
        weights[resource.strip().replace(".", "_").replace("/", "_").replace("-", "_")] = value
    return weights


def gpu_weight(resource: str, overrides: dict[str, float]) -> float:
    """GPU-seconds per second of one unit of `resource`; 0 for resources that are no GPU."""
    if resource in overrides:
        return overrides[resource]
    if resource in DEFAULT_WEIGHTS:
        return DEFAULT_WEIGHTS[resource]
    if match := MIG.fullmatch(resource):
        return int(match.group(1)) / 7
    return 0.0
