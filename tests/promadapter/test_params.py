"""Metric API parameters: times, steps, limits and filters, each refused with its name and why."""

from datetime import UTC, datetime, timedelta

import pytest

from promadapter.catalog import BY_NAME
from promadapter.params import ParamError, parse_metric_query, parse_step, parse_time

NOW = datetime(2026, 3, 2, 12, tzinfo=UTC)
CPU = BY_NAME["cpu/usage_rate"]


def parse(metric=CPU, max_points=11000, **params):
    return parse_metric_query(metric, params, NOW, max_points)


def test_defaults_are_the_last_15_minutes_at_one_minute():
    q = parse()
    assert (q.start, q.end, q.step, q.steps) == (NOW - timedelta(minutes=15), NOW, 60.0, 16)


@pytest.mark.parametrize(
    "raw",
    ["2026-03-02T12:00:00Z", "2026-03-02T13:00:00+01:00", "2026-03-02T12:00:00", "1772452800"],
)
def test_times_may_be_iso_8601_or_unix_seconds(raw):
    assert parse_time("end", raw) == NOW


@pytest.mark.parametrize("raw", ["yesterday", "1e9", "-5", "2026-13-01", "nan", "12:00"])
def test_a_bad_time_is_rejected_naming_the_parameter(raw):
    with pytest.raises(ParamError) as e:
        parse(start=raw)
    assert e.value.param == "start"


def test_start_after_end_is_rejected():
    with pytest.raises(ParamError, match="start: must not be after end"):
        parse(start="2026-03-02T13:00:00Z")


@pytest.mark.parametrize(
    ("raw", "seconds"), [("60", 60), ("0.5", 0.5), ("1m30s", 90), ("2h", 7200)]
)
def test_steps_may_be_seconds_or_prometheus_durations(raw, seconds):
    assert parse_step(raw) == seconds


@pytest.mark.parametrize("raw", ["0", "-1", "1x", "m", "1m 30s", "∞", "1e3"])
def test_a_bad_step_is_rejected(raw):
    with pytest.raises(ParamError) as e:
        parse_step(raw)
    assert e.value.param == "step"


def test_a_range_of_more_points_than_allowed_is_rejected():
    with pytest.raises(ParamError) as e:
        parse(start="2026-03-01T00:00:00Z", step="1", max_points=11000)
    assert e.value.param == "step" and "11000" in e.value.reason


def test_without_a_step_a_long_range_gets_a_step_that_fits():
    q = parse(start="2025-03-02T12:00:00Z", max_points=1000)
    assert q.steps <= 1000


@pytest.mark.parametrize("raw", ["0", "-3", "x", "1.5", "99999999999"])
def test_a_bad_limit_is_rejected(raw):
    with pytest.raises(ParamError) as e:
        parse(limit=raw)
    assert e.value.param == "limit"


def test_a_container_filter_on_a_pod_metric_is_rejected():
    with pytest.raises(ParamError) as e:
        parse(BY_NAME["network/rx_rate"], container="app")
    assert e.value.param == "container"


def test_a_pod_filter_on_a_node_metric_is_rejected():
    with pytest.raises(ParamError) as e:
        parse(BY_NAME["cpu/node_capacity"], pod="p")
    assert e.value.param == "pod"


def test_a_bad_label_value_is_rejected_with_its_parameter():
    with pytest.raises(ParamError) as e:
        parse(namespace='ml"} or vector(1)')
    assert e.value.param == "namespace"


def test_an_unknown_format_is_rejected():
    with pytest.raises(ParamError) as e:
        parse(format="xml")
    assert e.value.param == "format"


def test_without_a_cluster_every_cluster_is_asked():
    assert parse().cluster is None


def test_a_cluster_may_be_named_with_dots():
    assert parse(cluster="eu-west.prod").cluster == "eu-west.prod"


@pytest.mark.parametrize("raw", ["", "EU", "lab.", 'lab"', "a" * 254, "la|b"])
def test_a_bad_cluster_is_rejected_naming_the_parameter(raw):
    with pytest.raises(ParamError) as e:
        parse(cluster=raw)
    assert e.value.param == "cluster"
