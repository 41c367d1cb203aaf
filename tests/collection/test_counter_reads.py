"""Each counter's selector is read once per hour: the last sample before an hour is derived
from the hour before it, and must be exactly what Prometheus answers for it, whatever the
exporters did (outages, HA pairs, restarts). Raw samples read for many hours at once are cut
back to each hour's own window."""

from datetime import UTC, datetime, timedelta

import pytest
from django.conf import settings

from billing.collection.counters import carried_history, counter_facts, marks, previous_values
from billing.collection.reader import UsageReader
from billing.collection.series import around
from billing.utc import hours_in
from promadapter.client import PrometheusClient
from promadapter.usage import COUNTERS, UsageQueries, hour_range
from tests.conftest import SCENARIOS

HOUR = timedelta(hours=1)


class CountingReader(UsageReader):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.asked: list[str] = []

    def matrix(self, expr, hours, later=0):
        self.asked.append(expr)
        return super().matrix(expr, hours, later)


def reader_of(url: str, cluster: str | None, lookback: str = "6h") -> CountingReader:
    replicas = settings.KUBEMON_REPLICA_LABELS
    queries = UsageQueries(hour_range(False), cluster, lookback, replicas)
    return CountingReader(PrometheusClient(url), queries, "cost-center", 30, 3600, replicas)


# The clusters whose counters do something: outages of every length, an HA pair, labels
# moved by honor_labels false, and all of the behaviours together.
COUNTER_SCENARIOS = [
    label
    for label, behaviour in SCENARIOS.items()
    if behaviour.endswith("outage") or behaviour in ("ha-pair", "honor-labels-false", "all")
]


def derived_facts(reader, metric, matchers, chunks):
    """(last, before, marks) of consecutive chunks read as a run reads them."""
    last, before, went_down = {}, {}, {}
    for hours in chunks:
        carried = carried_history(reader, metric, hours[0])
        chunk_last = counter_facts(reader, metric, matchers, "last", hours)
        chunk_before, asked = previous_values(reader, metric, matchers, hours, chunk_last, carried)
        last |= chunk_last
        before |= chunk_before
        went_down |= marks(reader, metric, matchers, hours, asked, carried is not None)
    return last, before, went_down


@pytest.mark.parametrize("cluster", [None, *COUNTER_SCENARIOS])
@pytest.mark.parametrize("lookback, chunk", [("6h", 6), ("1h", 2)])
def test_the_last_sample_before_each_hour_is_the_one_prometheus_reads(
    prometheus, history_window, cluster, lookback, chunk
):
    # Six hours in one chunk, or in chunks of two hours, each carried to the next (the run
    # began a lookback before): either way, what Prometheus answers hour by hour.
    hours = hours_in(history_window[0] + HOUR, history_window[1])
    chunks = [hours[i : i + chunk] for i in range(0, len(hours), chunk)]
    reader = reader_of(prometheus.url, cluster, lookback)
    for metric, matchers in COUNTERS.values():
        last, before, went_down = derived_facts(reader, metric, matchers, chunks)
        asked, asked_marks = {}, {}
        for h in hours:
            asked |= counter_facts(reader, metric, matchers, "before", [h])
            asked_marks |= counter_facts(reader, metric, matchers, "reset", [h])
        assert last, f"{metric}: no series in {cluster}"
        assert {k: before.get(k) for k in last} == {k: asked.get(k) for k in last}
        assert went_down.keys() == asked_marks.keys()


class CannedReader(CountingReader):
    """Answers each counter fact from a table: {(part, hour): {series id: value}}."""

    def __init__(self, table):
        super().__init__(None, UsageQueries(hour_range(False)), "cost-center", 30)
        self.table = table

    def matrix(self, expr, hours, later=0):
        self.asked.append(expr)
        part = "before" if "offset 1h" in expr else "last"
        return [
            {"metric": {"id": series}, "values": [[(h + HOUR).timestamp() - 0.001, str(v)]]}
            for h in hours
            for series, v in self.table.get((part, h), {}).items()
        ]


def test_a_series_silent_a_whole_hour_then_back_makes_prometheus_read_that_hour():
    # The long outage of the simulated history does not cover a whole hour: a canned one.
    h0 = datetime(2026, 3, 2, 6, tzinfo=UTC)
    h1, h2, h3 = h0 + HOUR, h0 + 2 * HOUR, h0 + 3 * HOUR
    table = {
        ("before", h0): {"a": 9.0, "b": 4.0},
        ("last", h0): {"a": 10.0, "b": 5.0},
        ("last", h1): {"b": 6.0, "new": 1.0},  # a silent all hour; a new series starts
        ("before", h2): {"a": 10.0, "b": 6.0, "new": 1.0},
        ("last", h2): {"a": 30.0, "b": 7.0, "new": 2.0},
        ("last", h3): {"a": 31.0, "b": 8.0, "new": 3.0},
    }
    reader = CannedReader(table)
    metric, matchers = COUNTERS["cpu_core_seconds"]
    hours = [h0, h1, h2, h3]
    last = counter_facts(reader, metric, matchers, "last", hours)
    reader.asked.clear()
    before, asked = previous_values(reader, metric, matchers, hours, last)
    assert asked == [h0, h2] and len(reader.asked) == 2
    expected = {
        (h0, "a"): 9.0,
        (h0, "b"): 4.0,
        (h1, "b"): 5.0,
        (h1, "new"): None,
        (h2, "a"): 10.0,
        (h2, "b"): 6.0,
        (h2, "new"): 1.0,
        (h3, "a"): 30.0,
        (h3, "b"): 7.0,
        (h3, "new"): 2.0,
    }
    assert {(h, dict(items)["id"]): before.get((h, items)) for h, items in last} == expected


def test_samples_read_for_many_hours_are_cut_to_each_hours_window():
    h = datetime(2026, 3, 2, 6, tzinfo=UTC)
    t0 = h.timestamp()
    series = [
        ({"id": "a"}, [(t0 - 60.0, 1.0), (t0, 2.0), (t0 + 3599.999, 3.0), (t0 + 3600.0, 4.0)]),
        ({"id": "b"}, [(t0 + 7200.0, 5.0)]),
    ]
    assert around(series, h, 0) == [({"id": "a"}, [(t0, 2.0), (t0 + 3599.999, 3.0)])]
    assert around(series, h, 60) == [({"id": "a"}, series[0][1])]
    assert around(series, h + 2 * HOUR, 0) == [({"id": "b"}, [(t0 + 7200.0, 5.0)])]
