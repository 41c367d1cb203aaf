"""Each counter series' exact increase in each hour of a chunk.

Two facts per series and hour come from range queries over the chunk
(promadapter.usage.counter_fact): its last sample in the hour, and, only for the series
that went down (a reset inside the hour, or a first sample below the last one before), a
mark. The last sample before an hour is the last sample of the hour before it, so it is
asked of Prometheus only for the chunk's first hour, and again for a later hour only where a
series was silent the whole hour before and had been seen earlier (an exporter's long gap:
the lookback window decides). The increase is last - before (or last, for a new series); a
marked series is read raw and its values after each reset added
(billing.facts.counter_increase).

Those raw reads are batched: one query per counter and chunk for all the series that reset
in it, told apart again here, instead of one query per series.
"""

from datetime import datetime

from billing.facts import counter_increase
from billing.hours import hour_of
from billing.series import around, object_labels
from promadapter.promql import any_of
from promadapter.usage import COUNTERS, exact_selector

# Labels that tell one counter series from another, the most selective first.
DISTINCT = ("id", "pod", "exported_pod")


def read_counters(collector, data, hours: list[datetime]) -> None:
    """Add each series' increase in each hour to data[hour].counters[quantity][pod]."""
    for quantity, (metric, matchers) in COUNTERS.items():
        last = counter_facts(collector, metric, matchers, "last", hours)
        went_down = counter_facts(collector, metric, matchers, "reset", hours)
        before = previous_values(collector, metric, matchers, hours, last)
        increases, resets = {}, {}
        for key, value in last.items():
            previous = before.get(key)
            if key in went_down:
                resets.setdefault(key[0], []).append((key[1], previous or 0.0))
            else:
                increases[key] = value - (previous or 0.0)
        if resets:
            increases.update(reset_increases(collector, metric, matchers, resets))
        for (h, items), increase in increases.items():
            labels = object_labels(dict(items))
            data[h].counters[quantity][(labels["namespace"], labels["pod"])].append(increase)


def counter_facts(collector, metric: str, matchers: str, part: str, hours) -> dict:
    """{(hour, label items): value} of one fact of every series in the hours.

    Replicas of an HA pair are merged by the expression itself: the labels are the series'.
    """
    facts = {}
    for series in collector.matrix(collector.q.counter_fact(metric, matchers, part), hours):
        items = tuple(sorted(series["metric"].items()))
        for ts, value in series["values"]:
            facts[(hour_of(ts), items)] = float(value)
    return facts


def previous_values(collector, metric: str, matchers: str, hours, last: dict) -> dict:
    """{(hour, label items): the series' last sample before the hour} where it had one.

    Within the lookback, the last sample before an hour is the previous hour's last one
    when there was one. A series silent the whole previous hour but seen before it may or
    may not have a sample within the lookback: that hour is asked of Prometheus.
    """
    by_hour: dict[datetime, dict[tuple, float]] = {h: {} for h in hours}
    for (h, items), value in last.items():
        by_hour[h][items] = value
    before = counter_facts(collector, metric, matchers, "before", hours[:1])
    seen = {items for _, items in before}
    for previous, h in zip(hours, hours[1:], strict=False):
        earlier = by_hour[previous]
        if any(items not in earlier and items in seen for items in by_hour[h]):
            before.update(counter_facts(collector, metric, matchers, "before", [h]))
        else:
            before.update(((h, items), value) for items, value in earlier.items())
        seen.update(earlier)
    return before


def reset_increases(collector, metric: str, matchers: str, resets: dict) -> dict:
    """{(hour, label items): exact increase over the hour} of the series that reset in it.

    `resets` is {hour: [(label items, last value before the hour)]}. Each series is the set
    of stored series whose labels include its own, as its exact selector would match: an HA
    pair's two replicas, merged in time order. One query reads them all, for every hour.
    """
    everything = [items for series in resets.values() for items, _ in series]
    label = next((k for k in DISTINCT if all(k in dict(items) for items in everything)), None)
    if label is None:  # nothing to batch on: one query per series
        answers = {
            (h, items): raw_hours(
                collector, exact_selector({**dict(items), "__name__": metric}), [h]
            )[h]
            for h, series in resets.items()
            for items, _ in series
        }
    else:
        wanted = f"{label}=~{any_of(dict(items)[label] for items in everything)}"
        selector = collector.q.sel(metric, ", ".join(m for m in (matchers, wanted) if m))
        batch = raw_hours(collector, selector, sorted(resets))
        answers = {
            (h, items): [s for s in batch[h] if set(items) <= set(s[0].items())]
            for h, series in resets.items()
            for items, _ in series
        }
    out = {}
    for h, series in resets.items():
        for items, previous in series:
            samples = sorted({sample for _, values in answers[(h, items)] for sample in values})
            out[(h, items)] = counter_increase(previous, [v for _, v in samples])
    return out


def raw_hours(collector, selector: str, hours: list[datetime]) -> dict:
    """{hour: [(raw labels, [(t, v)])]} of the samples in each of the sorted hours, one query."""
    series = collector.samples(selector, hours)
    return {h: around(series, h, 0) for h in hours}
