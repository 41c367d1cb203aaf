"""Each counter series' exact increase in each hour of a chunk.

Four facts per series and hour come from range queries (promadapter.usage.counter_fact):
its last sample in the hour, its last before the hour, its smallest in the hour and whether
it reset. The increase is last - before (or last, for a new series); a series that went
down is read raw and its values after each reset added (billing.facts.counter_increase).

Those raw reads are batched: one query per counter and hour for all the series that reset
in it, told apart again here, instead of one query per series.
"""

from datetime import datetime, timedelta

from billing.facts import counter_increase
from billing.hours import HOUR
from billing.series import object_labels
from promadapter.promql import quote, regex_escape
from promadapter.usage import COUNTERS, exact_selector

MS = timedelta(milliseconds=1)
# Labels that tell one counter series from another, the most selective first.
DISTINCT = ("id", "pod", "exported_pod")


def read_counters(collector, data, hours: list[datetime]) -> None:
    """Add each series' increase in each hour to data[hour].counters[quantity][pod]."""
    q = collector.q
    for quantity, (metric, matchers) in COUNTERS.items():
        facts: dict[tuple, dict[str, float]] = {}
        for part in ("last", "before", "min", "resets"):
            for h, raw, value in collector.points(q.counter_fact(metric, matchers, part), hours):
                facts.setdefault((h, tuple(sorted(raw.items()))), {})[part] = value
        increases, resets = {}, {}
        for key, fact in facts.items():
            if "last" not in fact:
                continue
            before = fact.get("before")
            if fact.get("resets") or (before is not None and fact["min"] < before):
                resets.setdefault(key[0], []).append((key[1], before or 0.0))
            else:
                increases[key] = fact["last"] - (before or 0.0)
        for h, series in resets.items():
            increases.update(reset_increases(collector, metric, matchers, h, series))
        for (h, items), increase in increases.items():
            labels = object_labels(dict(items))
            data[h].counters[quantity][(labels["namespace"], labels["pod"])].append(increase)


def reset_increases(collector, metric: str, matchers: str, hour: datetime, series: list) -> dict:
    """{(hour, label items): exact increase over the hour} of the series that reset in it.

    Each series is the set of stored series whose labels include its own, as its exact
    selector would match: an HA pair's two replicas, merged in time order.
    """
    label = next((k for k in DISTINCT if all(k in dict(items) for items, _ in series)), None)
    if label is None:  # nothing to batch on: one query per series
        answers = {
            items: raw_hour(collector, exact_selector({**dict(items), "__name__": metric}), hour)
            for items, _ in series
        }
    else:
        values = sorted({dict(items)[label] for items, _ in series})
        wanted = f"{label}=~{quote('|'.join(regex_escape(v) for v in values))}"
        selector = collector.q.sel(metric, ", ".join(m for m in (matchers, wanted) if m))
        batch = raw_hour(collector, selector, hour)
        answers = {
            items: [s for s in batch if set(items) <= set(s["metric"].items())]
            for items, _ in series
        }
    out = {}
    for items, previous in series:
        samples = sorted({(float(t), float(v)) for s in answers[items] for t, v in s["values"]})
        out[(hour, items)] = counter_increase(previous, [v for _, v in samples])
    return out


def raw_hour(collector, selector: str, hour: datetime) -> list:
    return collector.timed(collector.client.query, collector.q.raw_hour(selector), hour + HOUR - MS)
