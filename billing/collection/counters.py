"""Each counter series' exact increase in each hour of a chunk.

Two facts per series and hour come from range queries over the chunk
(promadapter.usage.counter_fact): its last sample in the hour, and, only for the series
that went down (a reset inside the hour, or a first sample below the last one before), a
mark. The last sample before an hour is the last sample of the hour before it: a run carries
each counter's last hour from one chunk to the next (CounterHistory), so Prometheus is asked
for it only at the run's first chunk, and again for an hour where a series was silent the
whole hour before and had been seen within the lookback (an exporter's long gap). The
increase is last - before (or last, for a new series); a marked series is read raw and its
values after each reset added (billing.collection.facts.counter_increase).

Those raw reads are batched: one query per counter and chunk for all the series that reset
in it, told apart again here, instead of one query per series.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from billing.collection.facts import counter_increase
from billing.collection.series import around, object_labels
from billing.utc import HOUR, hour_of
from promadapter.promql import any_of
from promadapter.usage import COUNTERS, exact_selector

# Labels that tell one counter series from another, the most selective first.
DISTINCT = ("id", "pod", "exported_pod")


@dataclass
class CounterHistory:
    """What a run has read of one counter, carried to its next chunk."""

    since: datetime  # the run's first hour
    next_hour: datetime  # the hour after the last one read
    last: dict[tuple, float]  # each series' last sample in the last hour read
    seen: dict[tuple, datetime]  # the last hour each series had samples, within the lookback


def read_counters(reader, data, hours: list[datetime]) -> None:
    """Add each series' increase in each hour to data[hour].counters[quantity][pod]."""
    for quantity, (metric, matchers) in COUNTERS.items():
        carried = carried_history(reader, metric, hours[0])
        last = counter_facts(reader, metric, matchers, "last", hours)
        before, asked = previous_values(reader, metric, matchers, hours, last, carried)
        went_down = marks(reader, metric, matchers, hours, asked, carried is not None)
        increases, resets = {}, {}
        for key, value in last.items():
            previous = before.get(key)
            if key in went_down:
                resets.setdefault(key[0], []).append((key[1], previous or 0.0))
            else:
                increases[key] = value - (previous or 0.0)
        if resets:
            increases.update(reset_increases(reader, metric, matchers, resets))
        for (h, items), increase in increases.items():
            labels = object_labels(dict(items))
            data[h].counters[quantity][(labels["namespace"], labels["pod"])].append(increase)


def carried_history(reader, metric: str, first: datetime) -> CounterHistory | None:
    """The run's history of the counter, if it ends where the chunk begins and the run began
    at least a lookback earlier (nothing before the run can then be the last before)."""
    history = reader.counter_history.get(metric)
    lookback = timedelta(seconds=reader.q.lookback_seconds)
    if history and history.next_hour == first and first - lookback >= history.since:
        return history
    return None


def counter_facts(reader, metric: str, matchers: str, part: str, hours) -> dict:
    """{(hour, label items): value} of one fact of every series in the hours.

    Replicas of an HA pair are merged by the expression itself: the labels are the series'.
    """
    facts = {}
    for series in reader.matrix(reader.q.counter_fact(metric, matchers, part), hours):
        items = tuple(sorted(series["metric"].items()))
        for ts, value in series["values"]:
            facts[(hour_of(ts), items)] = float(value)
    return facts


def marks(reader, metric: str, matchers: str, hours, asked: list, carried: bool) -> dict:
    """The (hour, label items) of the series that went down in the hour or across its start.

    Where the last sample before an hour is the previous hour's, comparing with that is
    enough; the hours whose last sample before was asked of Prometheus compare with it.
    """
    if not carried:
        return counter_facts(reader, metric, matchers, "reset", hours)
    found = counter_facts(reader, metric, matchers, "reset_after_full_hour", hours)
    for h in asked:
        found = {key: v for key, v in found.items() if key[0] != h}
        found |= counter_facts(reader, metric, matchers, "reset", [h])
    return found


def previous_values(reader, metric, matchers, hours, last: dict, carried=None) -> tuple:
    """({(hour, label items): the series' last sample before the hour}, the hours asked).

    Within the lookback, the last sample before an hour is the previous hour's last one
    when there was one. A series silent the whole previous hour but seen before it may or
    may not have a sample within the lookback: that hour is asked of Prometheus, as is the
    first hour of a run. The counter's history moves on to the chunk's end.
    """
    by_hour: dict[datetime, dict[tuple, float]] = {h: {} for h in hours}
    for (h, items), value in last.items():
        by_hour[h][items] = value
    lookback = timedelta(seconds=reader.q.lookback_seconds)
    if carried is None:
        before = counter_facts(reader, metric, matchers, "before", hours[:1])
        earlier, seen, asked = None, {items: hours[0] for _, items in before}, [hours[0]]
    else:
        before, earlier, seen, asked = {}, carried.last, dict(carried.seen), []
    for h in hours:
        if earlier is not None:
            if any(items not in earlier and items in seen for items in by_hour[h]):
                before.update(counter_facts(reader, metric, matchers, "before", [h]))
                asked.append(h)
            else:
                before.update(((h, items), value) for items, value in earlier.items())
        seen.update(dict.fromkeys(by_hour[h], h))
        # A series last seen more than a lookback ago has no sample left within it.
        seen = {items: at for items, at in seen.items() if at + HOUR + lookback > h}
        earlier = by_hour[h]
    since = carried.since if carried else hours[0]
    reader.counter_history[metric] = CounterHistory(since, hours[-1] + HOUR, earlier, seen)
    return before, asked


def reset_increases(reader, metric: str, matchers: str, resets: dict) -> dict:
    """{(hour, label items): exact increase over the hour} of the series that reset in it.

    `resets` is {hour: [(label items, last value before the hour)]}. Each series is the set
    of stored series whose labels include its own, as its exact selector would match: an HA
    pair's two replicas, merged in time order. One query reads them all, for every hour.
    """
    everything = [items for series in resets.values() for items, _ in series]
    label = next((k for k in DISTINCT if all(k in dict(items) for items in everything)), None)
    if label is None:  # nothing to batch on: one query per series
        answers = {
            (h, items): raw_hours(reader, exact_selector({**dict(items), "__name__": metric}), [h])[
                h
            ]
            for h, series in resets.items()
            for items, _ in series
        }
    else:
        wanted = f"{label}=~{any_of(dict(items)[label] for items in everything)}"
        selector = reader.q.sel(metric, ", ".join(m for m in (matchers, wanted) if m))
        batch = raw_hours(reader, selector, sorted(resets))
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


def raw_hours(reader, selector: str, hours: list[datetime]) -> dict:
    """{hour: [(raw labels, [(t, v)])]} of the samples in each of the sorted hours, one query."""
    series = reader.samples(selector, hours)
    return {h: around(series, h, 0) for h in hours}
