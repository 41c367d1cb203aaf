"""Billing stays right when the exporters behave as they do on real clusters.

One small simulated cluster per behaviour of simulator/behaviours.py (and one with all of
them) is backfilled into the session's Prometheus, labelled cluster="sc-<behaviour>"
(tests/conftest.py). Each is collected and every job compared with the truth at the
project's tolerances (tests/fixtures/truth_compare.py); each behaviour is first shown to be really
in Prometheus, so that no scenario passes for want of its case.
"""

from datetime import datetime

import pytest

from billing.models import CollectedHour, DataGap
from billing.resources import QUANTITIES
from promadapter.client import PrometheusClient
from tests.conftest import SCENARIOS, scenario_cluster
from tests.fixtures.truth_compare import (
    PER_JOB_ONLY,
    TOTAL_TOLERANCE,
    collect,
    mismatches,
    usage_by_job,
)


def sel(label: str, metric: str, matchers: str = "") -> str:
    inner = ", ".join(m for m in (f'cluster="{label}"', matchers) if m)
    return f"{metric}{{{inner}}}"


def seen(metric: str, matchers: str = ""):
    """Series of metric (with matchers) existed in the window."""
    return lambda c: f"count(last_over_time({sel(c, metric, matchers)}[6h]))"


def seen_while(metric: str, matchers: str, phases: str, on: str = "namespace, pod, uid"):
    """Series of metric existed while their pod was in one of the phases."""

    def expr(c):
        phase = sel(c, "kube_pod_status_phase", f'phase=~"{phases}"')
        series = f"{sel(c, metric, matchers)} and on ({on}) ({phase} == 1)"
        return f"count(max_over_time(({series})[6h:30s]))"

    return expr


def more_than_one(by: str, metric: str = "kube_pod_info"):
    return lambda c: f"count(count by ({by}) (last_over_time({sel(c, metric)}[6h]))) > 1"


def both(first, second):
    return lambda c: f"{first(c)} and {second(c)}"


EXPORTER_POD = 'pod=~"nvidia-dcgm-exporter.*", exported_pod=""'
STOPPED = 'phase=~"Succeeded|Failed"'


def object_labels_of(series: str) -> str:
    """The series with exported_namespace/exported_pod moved to namespace/pod."""
    moved = f'label_replace({series}, "namespace", "$1", "exported_namespace", "(.+)")'
    return f'label_replace({moved}, "pod", "$1", "exported_pod", "(.+)")'


# Per behaviour, a PromQL expression that returns something only if the behaviour is in the
# scenario's data, evaluated at the end of the usage window over its six hours.
EVIDENCE = {
    "ksm-restart": more_than_one("instance"),
    "ksm-replicas": more_than_one("instance"),
    "ha-pair": more_than_one("prometheus_replica"),
    "honor-labels-false": both(
        seen("kube_pod_info", 'exported_namespace!=""'),
        seen("container_cpu_usage_seconds_total", 'exported_namespace!=""'),
    ),
    "ksm-old": lambda c: (
        f"{seen('kube_pod_info')(c)}"
        f" unless {seen('kube_pod_container_status_last_terminated_timestamp')(c)}"
    ),
    "ksm-empty-owners": seen("kube_pod_owner", 'owner_kind=""'),
    "started-kept": seen_while("kube_pod_container_state_started", "", "Succeeded|Failed"),
    "sidecar-outlives-main": seen_while("kube_pod_completion_time", "", "Running"),
    "crash-completion": seen_while("kube_pod_completion_time", "", "Running"),
    "unscheduled-pending": seen("kube_pod_info", 'node=""'),
    "init-containers": both(
        seen("kube_pod_init_container_info", 'restart_policy="Always"'),
        seen("kube_pod_init_container_info", 'restart_policy!="Always"'),
    ),
    "recreated-pod": lambda c: (
        "count by (namespace, pod) (count by (namespace, pod, uid) "
        f"(last_over_time({sel(c, 'kube_pod_info')}[6h]))) > 1"
    ),
    "mig": both(
        seen("DCGM_FI_DEV_FB_USED", 'GPU_I_PROFILE!=""'),
        seen("kube_pod_container_resource_requests", 'resource=~"nvidia_com_mig_.+"'),
    ),
    "shared-gpu": both(
        seen("DCGM_FI_DEV_FB_USED", 'vgpu!=""'),
        seen("kube_pod_container_resource_requests", 'resource="nvidia_com_gpu_shared"'),
    ),
    "idle-gpu-memory": lambda c: (
        f"count(max_over_time({sel(c, 'DCGM_FI_DEV_FB_USED', EXPORTER_POD)}[6h]) > 0)"
    ),
    "stale-gpu-labels": lambda c: (
        "count(max_over_time(("
        + object_labels_of(sel(c, "DCGM_FI_DEV_FB_USED", 'exported_pod!=""'))
        + " and on (namespace, pod) "
        + f"({sel(c, 'kube_pod_status_phase', STOPPED)} == 1))[6h:30s]))"
    ),
}
OUTAGES = ("prometheus-outage", "exporter-outage", "kubelet-outage", "long-outage")
EXPORTERS = {"cadvisor": "kubelet", "ksm": "kube-state-metrics", "dcgm": "dcgm-exporter"}


@pytest.fixture(scope="module")
def truths(usage_window):
    return {}


def truth_of(truths, label, usage_window):
    if label not in truths:
        truths[label] = scenario_cluster(label).truth(*usage_window)
    return truths[label]


@pytest.mark.parametrize("behaviour", sorted(EVIDENCE))
def test_the_behaviour_is_in_the_scenarios_data(prometheus_settings, usage_window, behaviour):
    expr = EVIDENCE[behaviour](f"sc-{behaviour}")
    answer = PrometheusClient().query(expr, at=usage_window[1])
    assert answer, f"{behaviour}: no evidence in Prometheus for {expr}"


@pytest.mark.parametrize("label", sorted(SCENARIOS))
def test_every_job_is_billed_within_the_tolerances_of_the_truth(
    prometheus_settings, api_client, usage_window, truths, label
):
    collect(usage_window, cluster=label)
    collected = usage_by_job(api_client, usage_window, cluster=label)
    truth = truth_of(truths, label, usage_window)
    assert collected, f"{label}: nothing collected"
    wrong = mismatches(collected, truth, usage_window)
    assert not wrong, f"{label}: {len(wrong)} outside tolerance:\n" + "\n".join(wrong[:30])


@pytest.mark.parametrize("label", sorted(SCENARIOS))
def test_cluster_totals_are_within_a_thousandth_of_the_observable_truth(
    prometheus_settings, api_client, usage_window, truths, label
):
    collect(usage_window, cluster=label)
    start, end = usage_window
    answer = api_client.get(
        "/api/v1/usage",
        {
            "start": start.isoformat(),
            "end": end.isoformat(),
            "group_by": "cluster",
            "cluster": label,
        },
    )
    (row,) = answer.json()["rows"]
    totals = truth_of(truths, label, usage_window)["totals"]
    for name in (q for q in QUANTITIES if q not in PER_JOB_ONLY):
        observed, rel = totals[name]["observed"], TOTAL_TOLERANCE.get(name, 0.001)
        assert row[name] == pytest.approx(observed, rel=rel, abs=1e-6), name


@pytest.mark.parametrize("behaviour", OUTAGES)
def test_an_outage_is_recorded_as_a_gap_of_each_silent_exporter_and_listed_by_the_api(
    prometheus_settings, api_client, usage_window, truths, behaviour
):
    label = f"sc-{behaviour}"
    collect(usage_window, cluster=label)
    start, end = usage_window
    outages = [
        g
        for g in truth_of(truths, label, usage_window)["scrape_gaps"]
        if behaviour in g["causes"] and g["prometheus_replica"] in (None, "prometheus-k8s-0")
    ]
    assert outages, f"{label}: the truth shows no {behaviour}"
    recorded = DataGap.objects.filter(cluster__name=label)
    for outage in outages:
        exporter = f"{EXPORTERS[outage['kind']]} {outage['node'] or ''}".strip()
        gaps = recorded.filter(
            exporter=exporter,
            start__lt=datetime.fromisoformat(outage["end"]),
            end__gt=datetime.fromisoformat(outage["start"]),
        )
        assert [g.bridged for g in gaps] == [outage["bridged"]], (exporter, outage)
    answer = api_client.get(
        "/api/v1/usage", {"start": start.isoformat(), "end": end.isoformat(), "cluster": label}
    )
    listed = {(g["exporter"], g["start"], g["bridged"]) for g in answer.json()["gaps"]}
    assert {(g.exporter, g.start.isoformat(), g.bridged) for g in recorded} <= listed
    flagged = CollectedHour.objects.filter(cluster__name=label, flagged=True)
    if behaviour == "long-outage":
        assert flagged.count() >= 2
        assert all("silent" in hour.flag_reason for hour in flagged)
    else:
        assert not flagged.exists()
