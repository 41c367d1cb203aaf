"""The naive GPU energy bill of bench/collect.py and bench/collect_usage.py, and its error.

    sum by (pod) (increase(DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION[1h]))

at each hour's end of the window: the way a dashboard or a quick script reads dcgm-exporter's
energy counter, per pod label, through Prometheus' extrapolating increase(). The group
without a pod label (on plainly labelled nodes, the GPUs no pod held) is left out: no pod to
bill it to. docs/benchmarks.md says what it gets wrong and by how much.
"""

import math
import statistics
from datetime import datetime, timedelta

import requests

NAIVE = "sum by (pod) (increase(DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION[1h]))"


def naive_energy(url: str, start: datetime, end: datetime) -> dict[str, float]:
    """Joules per pod name over the window's hours, as the naive query bills them."""
    params = {
        "query": NAIVE,
        "start": (start + timedelta(hours=1)).timestamp(),
        "end": end.timestamp(),
        "step": 3600,
    }
    answer = requests.post(f"{url.rstrip('/')}/api/v1/query_range", data=params, timeout=300)
    answer.raise_for_status()
    joules: dict[str, float] = {}
    for series in answer.json()["data"]["result"]:
        if pod := series["metric"].get("pod"):
            joules[pod] = math.fsum(float(v) for _, v in series["values"]) / 1000  # mJ
    return joules


def by_job(per_pod: dict[str, float], pods_of_job: dict[str, list[str]]) -> dict[str, float]:
    """Each job's joules: the sum over its pods' names (`sum by (pod)` has no namespace)."""
    return {job: math.fsum(per_pod.get(p, 0.0) for p in pods) for job, pods in pods_of_job.items()}


def errors(got: dict[str, float], truth: dict[str, float], total: float) -> dict:
    """The relative error of `total` against the truth's, and the median and the worst
    absolute relative error over the truth's jobs (a job missing from `got` counts as 0)."""
    relative = [abs(got.get(job, 0.0) / real - 1) for job, real in truth.items() if real > 0]
    return {
        "total": total / math.fsum(truth.values()) - 1,
        "median": statistics.median(relative),
        "worst": max(relative),
        "jobs": len(relative),
    }
