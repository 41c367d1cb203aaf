"""Comparing collected usage with the simulator's truth, per job, with the project's tolerances.

- counters (CPU, network): exactly the observed counter increases (relative 1e-9);
- requests and GPU-seconds: within one scrape interval of each pod's effective request;
- gauges (working set, GPU memory): within 1 % for jobs that ran ten scrape intervals;
- storage: within one scrape interval of each claim's size.
"""

from datetime import datetime

from django.core.management import call_command

from billing.collection.gpus import gpu_weight
from tests.conftest import SCRAPE_INTERVAL

COUNTERS = ("cpu_core_seconds", "network_rx_bytes", "network_tx_bytes")
REQUESTS = {
    "cpu_request_core_seconds": "cpu",
    "memory_request_byte_seconds": "memory",
    "gpu_seconds": "gpus",
}
GAUGES = ("memory_byte_seconds", "gpu_memory_mib_seconds")


def collect(window, cluster="default"):
    start, end = window
    call_command("collect_usage", start=start.isoformat(), end=end.isoformat(), cluster=cluster)


def usage_by_job(api_client, window, cluster="default") -> dict[tuple, dict]:
    """Every job's usage in the window, page after page of the usage API."""
    start, end = window
    params = {"start": start.isoformat(), "end": end.isoformat(), "group_by": "job"}
    rows, page = [], 1
    while page:
        answer = api_client.get(
            "/api/v1/usage", {**params, "cluster": cluster, "page_size": 500, "page": page}
        )
        assert answer.status_code == 200, answer.content
        rows += answer.json()["rows"]
        page = page + 1 if answer.json()["next"] else None
    return {(r["namespace"], r["kind"], r["name"]): r for r in rows}


def truth_jobs(truth) -> dict[tuple, dict]:
    jobs = {(j["namespace"], j["kind"], j["name"]): j for j in truth["jobs"]}
    for claim in truth["pvcs"]:
        jobs[(claim["namespace"], "PersistentVolumeClaim", claim["name"])] = claim
    return jobs


def quantity(job: dict, name: str, which: str = "observed") -> float:
    return job["quantities"].get(name, {}).get(which, 0.0)


def amount(requests: dict, resource: str) -> float:
    if resource != "gpus":
        return requests.get(resource, 0)
    return sum(gpu_weight(r, {}) * v for r, v in requests.items())


def pod_request_tolerance(job: dict, resource: str) -> float:
    """One scrape interval of each pod's largest effective request (init phase or after)."""
    total = 0.0
    for pod in job.get("pods", []):
        steady = classic = 0.0
        for container in pod["containers"]:
            value = amount(container["requests"], resource)
            if container.get("init") and container.get("restart_policy") != "Always":
                classic = max(classic, value)
            else:
                steady += value
        total += max(steady, classic) * SCRAPE_INTERVAL
    return total


def pod_seconds_in(pod: dict, window) -> float:
    if not pod.get("running"):
        return 0.0
    start = datetime.fromisoformat(pod["running"])
    ends = [pod.get("completed"), pod.get("deleted")]
    end = min((datetime.fromisoformat(e) for e in ends if e), default=window[1])
    return max(0.0, (min(end, window[1]) - max(start, window[0])).total_seconds())


def long_running(job: dict, window) -> bool:
    """Did the job run at least ten scrape intervals inside the window?"""
    seconds = max((pod_seconds_in(pod, window) for pod in job.get("pods", [])), default=0.0)
    return seconds >= 10 * SCRAPE_INTERVAL


def within(got: float, expected: float, rel: float, tolerance: float) -> bool:
    """|got - expected| <= max(rel * |expected|, tolerance), as pytest.approx has it."""
    return abs(got - expected) <= max(rel * abs(expected), tolerance)


def job_checks(job: dict, window) -> list[tuple[str, float, float, float]]:
    """(quantity, expected, relative tolerance, absolute tolerance) of one truth job."""
    checks = [(name, quantity(job, name), 1e-9, 1e-6) for name in COUNTERS]
    if "pods" not in job:
        tolerance = job["storage_bytes"] * SCRAPE_INTERVAL
        return [
            *checks,
            ("storage_byte_seconds", quantity(job, "storage_byte_seconds"), 0, tolerance),
        ]
    for name, resource in REQUESTS.items():
        checks.append((name, quantity(job, name), 0, pod_request_tolerance(job, resource) + 1e-6))
    if long_running(job, window):
        checks += [(name, quantity(job, name), 0.01, 1e-6) for name in GAUGES]
    return checks


def mismatches(collected: dict, truth: dict, window) -> list[str]:
    """Every job and quantity outside its tolerance, described; empty when all hold."""
    jobs = truth_jobs(truth)
    wrong = [f"{key}: billed, unknown to the truth" for key in set(collected) - set(jobs)]
    for key, job in jobs.items():
        row = collected.get(key, {})
        for name, expected, rel, tolerance in job_checks(job, window):
            got = row.get(name, 0.0)
            if not within(got, expected, rel, tolerance):
                wrong.append(f"{key} {name}: collected {got!r}, truth {expected!r}")
    return wrong
