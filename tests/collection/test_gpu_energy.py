"""GPU energy, busy and idle seconds collected from the session's Prometheus, against the
simulator's truth (docs/simulator.md, "GPU truth") and the energy counters themselves."""

import math
from datetime import datetime, timedelta

import pytest

from billing.models import GpuIdleEnergy, HourlyUsage
from promadapter.client import PrometheusClient
from tests.conftest import SCRAPE_INTERVAL, scenario_cluster
from tests.fixtures.truth_compare import collect, pod_seconds_in, quantity, usage_by_job

TDP_WATTS = 400  # the simulated A100s' most: the power at any start or end is below it
ENERGY = "DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION"


def gpu_weights_of(pod: dict) -> list[float]:
    """One weight per GPU (or slice, or time-sliced replica) the pod held."""
    weights = []
    for container in pod["containers"]:
        for resource, count in container["requests"].items():
            if resource == "nvidia_com_gpu":
                weights += [1.0] * int(count)
            elif resource.startswith("nvidia_com_mig_"):
                weights += [int(resource.split("_")[3].removesuffix("g")) / 7] * int(count)
            elif resource == "nvidia_com_gpu_shared":
                weights += [0.25] * int(count)
    return weights


def energy_tolerance(job: dict) -> float:
    """One scrape interval of its GPUs' power at each start and end of each pod."""
    return sum(2 * len(gpu_weights_of(pod)) * TDP_WATTS * SCRAPE_INTERVAL for pod in job["pods"])


def activity_tolerance(job: dict) -> float:
    """One interval per pod and GPU, times the GPU's weight, at each start and end."""
    return sum(2 * sum(gpu_weights_of(pod)) * SCRAPE_INTERVAL for pod in job["pods"])


def held_seconds(job: dict, window) -> float:
    """The longest time one of the job's pods held its GPUs inside the window."""
    return max((pod_seconds_in(pod, window) for pod in job["pods"]), default=0.0)


def gpu_jobs(truth: dict) -> dict[tuple, dict]:
    return {
        (j["namespace"], j["kind"], j["name"]): j
        for j in truth["jobs"]
        if quantity(j, "gpu_energy_joules", "real") > 0
    }


def counters_increase(cluster_matcher: str, window) -> tuple[float, int]:
    """(joules, devices) of every GPU counter over the window, read here on its own: each
    device's samples merged, a drop counted from 0, the intervals across the edges pro rata."""
    start, end = (t.timestamp() for t in window)
    margin = 2 * SCRAPE_INTERVAL
    seconds = int(end - start + 2 * margin)
    answer = PrometheusClient().query(f"{ENERGY}{{{cluster_matcher}}}[{seconds}s]", at=end + margin)
    devices: dict[str, set] = {}
    for series in answer:
        devices.setdefault(series["metric"]["UUID"], set()).update(
            (float(t), float(v)) for t, v in series["values"]
        )
    total = []
    for samples in devices.values():
        ordered = sorted(samples)
        for (t0, v0), (t1, v1) in zip(ordered, ordered[1:], strict=False):
            lo, hi = max(t0, start), min(t1, end)
            if hi > lo:
                total.append((v1 - v0 if v1 >= v0 else v1) / 1000 * (hi - lo) / (t1 - t0))
    return math.fsum(total), len(devices)


def held_and_idle(cluster: str, window) -> tuple[float, float]:
    held = HourlyUsage.objects.filter(
        job__cluster__name=cluster, hour__gte=window[0], hour__lt=window[1]
    ).values_list("gpu_energy_joules", flat=True)
    idle = GpuIdleEnergy.objects.filter(
        cluster__name=cluster, hour__gte=window[0], hour__lt=window[1]
    ).values_list("joules", flat=True)
    return math.fsum(held), math.fsum(idle)


@pytest.fixture(scope="module")
def truths(cluster, usage_window):
    found = {"default": cluster.truth(*usage_window)}

    def truth(label):
        if label not in found:
            found[label] = scenario_cluster(label).truth(*usage_window)
        return found[label]

    return truth


def collected_energy(label, window, api_client):
    collect(window, cluster=label)
    return usage_by_job(api_client, window, cluster=label)


@pytest.mark.parametrize(
    "label",
    ["default", "sc-driver-reload", "sc-ha-pair", "sc-honor-labels-false", "sc-long-outage"],
)
def test_every_whole_gpu_jobs_energy_is_within_one_interval_of_its_gpus_power_at_each_end(
    prometheus_settings, api_client, usage_window, truths, label
):
    collected = collected_energy(label, usage_window, api_client)
    jobs = gpu_jobs(truths(label))
    assert jobs, f"{label}: no GPU job in the truth"
    long = 0
    for key, job in jobs.items():
        got = collected.get(key, {}).get("gpu_energy_joules", 0.0)
        expected = quantity(job, "gpu_energy_joules")
        assert abs(got - expected) <= energy_tolerance(job), (label, key, got, expected)
        # The interval cut at each start and end is split by the power sampled at its two
        # ends (docs/collection.md): 1 % from 10 intervals on, as issue 22 asks.
        if held_seconds(job, usage_window) >= 10 * SCRAPE_INTERVAL:
            assert got == pytest.approx(expected, rel=0.01), (label, key)
            long += 1
        # A job that ran inside an outage only is unknown to the collection: no row at all.
        assert collected.get(key, {}).get("gpu_energy_estimated_hours", 0) == 0, key
    assert long >= 1


@pytest.mark.parametrize("label", ["default", "sc-driver-reload", "sc-all", "sc-long-outage"])
def test_held_and_idle_energy_add_up_to_the_counters_increase_exactly(
    db, prometheus_settings, usage_window, truths, label
):
    collect(usage_window, cluster=label)
    held, idle = held_and_idle(label, usage_window)
    matcher = 'cluster=""' if label == "default" else f'cluster="{label}"'
    increase, gpus = counters_increase(matcher, usage_window)
    assert held + idle == pytest.approx(increase, rel=1e-9)
    nodes = truths(label)["gpu_energy"]["nodes"]
    # Against the exact integral: the edges of the window, and what a reload hid.
    edges = 2 * gpus * TDP_WATTS * SCRAPE_INTERVAL
    reloads = sum(len(n["driver_loads"]) for n in nodes.values()) * TDP_WATTS * SCRAPE_INTERVAL
    truth_total = truths(label)["gpu_energy"]["total_energy_joules"]
    assert abs(held + idle - truth_total) <= edges + reloads


def test_a_driver_reload_mid_job_is_billed_without_loss_or_double_count(
    prometheus_settings, api_client, usage_window, truths
):
    label = "sc-driver-reload"
    truth = truths(label)
    loads = truth["gpu_energy"]["nodes"]["gpu-node-1"]["driver_loads"]
    assert loads, "no driver load in the window"
    collected = collected_energy(label, usage_window, api_client)
    reloaded = 0
    for key, job in gpu_jobs(truth).items():
        pods = [p for p in job["pods"] if p.get("node") == "gpu-node-1" and p.get("completed")]
        if not any(p["running"] < load < p["completed"] for p in pods for load in loads):
            continue
        reloaded += 1
        got = collected[key]["gpu_energy_joules"]
        real, observed = (quantity(job, "gpu_energy_joules", w) for w in ("real", "observed"))
        # A lost reset would miss the counter's value before the load (kJ); a doubled one
        # would count it twice: only the last interval before the load is unknowable.
        assert abs(got - observed) <= energy_tolerance(job), (key, got, observed)
        assert got <= real + energy_tolerance(job)
    assert reloaded >= 1


@pytest.mark.parametrize("label", ["default", "sc-mig", "sc-shared-gpu"])
def test_busy_and_idle_seconds_are_within_one_interval_per_pod(
    prometheus_settings, api_client, usage_window, truths, label
):
    collected = collected_energy(label, usage_window, api_client)
    for key, job in gpu_jobs(truths(label)).items():
        for name in ("gpu_busy_seconds", "gpu_idle_seconds"):
            got = collected.get(key, {}).get(name, 0.0)
            expected = quantity(job, name)
            assert abs(got - expected) <= activity_tolerance(job) + 1e-6, (key, name, got)


def handovers_inside_one_interval(truth: dict, label: str, window) -> list[tuple[dict, dict]]:
    """(job whose pod ended, job whose pod started next) on gpu-node-1's GPUs (the
    `gpu-handover` behaviour chains them) with no DCGM sample between the end and the start."""
    start, end = (t.timestamp() for t in window)
    answer = PrometheusClient().query(
        f'{ENERGY}{{cluster="{label}", Hostname="gpu-node-1"}}[{int(end - start) + 60}s]',
        at=window[1] + timedelta(seconds=60),
    )
    times = sorted({float(t) for series in answer for t, _ in series["values"]})
    pods = sorted(
        (
            (datetime.fromisoformat(p["running"]).timestamp(), p, job)
            for job in gpu_jobs(truth).values()
            for p in job["pods"]
            if p.get("node") == "gpu-node-1" and p.get("completed")
        ),
        key=lambda found: found[0],
    )
    pairs = []
    for (_, before, first), (began, _, then) in zip(pods, pods[1:], strict=False):
        ended = datetime.fromisoformat(before["completed"]).timestamp()
        if start < ended < began < end and not any(ended <= t <= began for t in times):
            pairs.append((first, then))
    return pairs


def test_a_gpu_handed_over_inside_one_interval_is_split_between_the_two_pods_as_the_truth(
    prometheus_settings, api_client, usage_window, truths
):
    label = "sc-gpu-handover"
    collected = collected_energy(label, usage_window, api_client)
    pairs = handovers_inside_one_interval(truths(label), label, usage_window)
    assert pairs, "the scenario hands no GPU over inside one scrape interval"
    for job in {id(j): j for pair in pairs for j in pair}.values():
        key = (job["namespace"], job["kind"], job["name"])
        got, expected = collected[key]["gpu_energy_joules"], quantity(job, "gpu_energy_joules")
        assert abs(got - expected) <= energy_tolerance(job), (key, got, expected)
        if held_seconds(job, usage_window) >= 10 * SCRAPE_INTERVAL:
            assert got == pytest.approx(expected, rel=0.01), key


@pytest.mark.parametrize("label", ["sc-mig", "sc-shared-gpu"])
def test_mig_and_time_sliced_energy_is_flagged_as_an_estimate_and_split_as_the_truth(
    prometheus_settings, api_client, usage_window, truths, label
):
    collected = collected_energy(label, usage_window, api_client)
    estimates = 0
    for key, job in gpu_jobs(truths(label)).items():
        row = collected[key]
        assert (row["gpu_energy_estimated_hours"] > 0) == bool(job.get("gpu_energy_estimate"))
        estimates += bool(job.get("gpu_energy_estimate"))
        got, expected = row["gpu_energy_joules"], quantity(job, "gpu_energy_joules")
        assert abs(got - expected) <= energy_tolerance(job), (key, got, expected)
    assert estimates >= 1


def test_the_energy_reads_cost_two_queries_per_chunk(
    db, prometheus_settings, usage_window, settings, monkeypatch
):
    asked = []
    for method in ("query", "query_range"):
        original = getattr(PrometheusClient, method)

        def recording(self, expr, *args, original=original, **kwargs):
            asked.append(expr)
            return original(self, expr, *args, **kwargs)

        monkeypatch.setattr(PrometheusClient, method, recording)
    settings.KUBEMON_COLLECT_CHUNK_HOURS = 2
    collect(usage_window)  # six hours: three chunks
    families = (ENERGY, "DCGM_FI_PROF_GR_ENGINE_ACTIVE", "DCGM_FI_DEV_GPU_UTIL")
    energy_reads = [expr for expr in asked if any(f in expr for f in families)]
    # The counter with the power gauge, and the two activity families: one read each.
    assert len(energy_reads) == 3 * 2, energy_reads
