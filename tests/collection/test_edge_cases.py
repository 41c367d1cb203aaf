"""collect_usage on the hand-made edge cases of tests/fixtures/edge_cluster.py, real Prometheus."""

from datetime import timedelta

import pytest
from django.core.management import call_command

from billing.models import HourlyUsage
from tests.fixtures import edge_cluster


@pytest.fixture
def edge_usage(db, prometheus_settings):
    start = edge_cluster.START
    call_command(
        "collect_usage",
        start=start.isoformat(),
        end=(start + timedelta(hours=2)).isoformat(),
        cluster=edge_cluster.CLUSTER,
    )
    rows = HourlyUsage.objects.filter(job__cluster__name=edge_cluster.CLUSTER)
    return {(row.job.name, row.hour.hour): row for row in rows.select_related("job")}


def test_a_counter_reset_inside_a_series_adds_the_value_after_it(edge_usage):
    for hour, expected in edge_cluster.RESET_POD_CPU.items():
        assert edge_usage[("reset-pod", hour)].cpu_core_seconds == expected


def test_a_pod_deleted_while_running_is_billed_until_it_vanished(edge_usage):
    for hour, expected in edge_cluster.VANISH_POD_CPU_REQUEST.items():
        assert edge_usage[("vanish-pod", hour)].cpu_request_core_seconds == expected
    assert ("vanish-pod", 9) not in edge_usage


def test_a_pod_running_through_both_hours_is_billed_its_request_for_each(edge_usage):
    assert edge_usage[("reset-pod", 8)].cpu_request_core_seconds == 2 * 3600
    assert edge_usage[("reset-pod", 9)].cpu_request_core_seconds == 2 * 3600
