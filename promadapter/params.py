"""Parse and check the query parameters of the metric API.

Every problem raises ParamError naming the parameter and saying why, which the views turn into a
400 answer. Times, windows, whole numbers and text are parsed by kubemon/params.py, shared with
the REST API. Nothing here talks to Prometheus.
"""

import math
import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from kubemon.params import MAX_WINDOW, ParamError, check_span, parse_time, parse_whole
from promadapter.catalog import SCOPE_FILTERS, Metric
from promadapter.promql import LabelValueError, check_label_value

FILTER_PARAMS = ("namespace", "pod", "container", "node")
# Heapster kept 15 minutes of data at one-minute resolution; that is the default window and step.
DEFAULT_WINDOW = timedelta(minutes=15)
DEFAULT_STEP = 60.0
# ASCII digits only, and at most 12 of them per part: `[0-9]`, since `\d` matches any digit.
DURATION_PART = re.compile(r"([0-9]{1,12})(ms|s|m|h|d|w|y)")
DURATION_SECONDS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800, "y": 31536000}
PLAIN_SECONDS = re.compile(r"[0-9]{1,9}(\.[0-9]{1,3})?")


@dataclass(frozen=True)
class MetricQuery:
    """The checked parameters of one metric request."""

    filters: dict[str, str]
    start: datetime
    end: datetime
    step: float
    limit: int | None
    csv: bool
    # None: every cluster; else one cluster's series (checked, not yet a matcher).
    cluster: str | None = None

    @property
    def steps(self) -> int:
        """Return the number of points per series the range query yields."""
        return math.floor((self.end - self.start).total_seconds() / self.step) + 1


def duration_seconds(raw: str) -> float:
    """Return seconds from seconds ("60", "0.5") or a Prometheus duration ("1m30s").

    Raises ValueError for anything else.
    """
    if PLAIN_SECONDS.fullmatch(raw):
        return float(raw)
    if raw and "".join(m.group(0) for m in DURATION_PART.finditer(raw)) == raw:
        return sum(int(n) * DURATION_SECONDS[u] for n, u in DURATION_PART.findall(raw))
    raise ValueError(f"{raw!r} is neither seconds (60) nor a Prometheus duration (1m, 1h30m)")


def parse_step(raw: str) -> float:
    """Return a step in seconds from seconds ("60", "0.5") or a Prometheus duration ("1m30s")."""
    try:
        seconds = duration_seconds(raw)
    except ValueError:
        raise ParamError(
            "step", "must be seconds (60) or a Prometheus duration (1m, 1h30m)"
        ) from None
    if not 0.001 <= seconds <= MAX_WINDOW.total_seconds():
        raise ParamError("step", f"must be from 1 ms to {MAX_WINDOW.days} days")
    return seconds


def parse_limit(raw: str, max_points: int) -> int:
    return parse_whole("limit", raw, max_points)


def parse_filters(metric: Metric, params) -> dict[str, str]:
    """Return the label filters of the request, valid names, allowed at the metric's scope."""
    filters = {}
    for label in FILTER_PARAMS:
        if label not in params:
            continue
        if label not in SCOPE_FILTERS[metric.scope]:
            raise ParamError(label, f"{metric.name} is a {metric.scope} metric, not per {label}")
        try:
            filters[label] = check_label_value(label, params[label])
        except LabelValueError as e:
            raise ParamError(label, e.reason) from None
    return filters


def parse_cluster(params) -> str | None:
    """Return the requested cluster name (None: every cluster), a valid label value."""
    if "cluster" not in params:
        return None
    try:
        return check_label_value("cluster", params["cluster"])
    except LabelValueError as e:
        raise ParamError("cluster", e.reason) from None


def parse_metric_query(metric: Metric, params, now: datetime, max_points: int) -> MetricQuery:
    """Return the checked parameters of a metric request (params: a QueryDict or a dict)."""
    end = parse_time("end", params["end"]) if "end" in params else now
    start = parse_time("start", params["start"]) if "start" in params else end - DEFAULT_WINDOW
    if start > end:
        raise ParamError("start", "must not be after end")
    check_span(start, end)
    query = MetricQuery(
        filters=parse_filters(metric, params),
        start=start,
        end=end,
        step=parse_step(params["step"])
        if "step" in params
        else default_step(start, end, max_points),
        limit=parse_limit(params["limit"], max_points) if "limit" in params else None,
        csv=params.get("format", "json") == "csv",
        cluster=parse_cluster(params),
    )
    if params.get("format", "json") not in ("json", "csv"):
        raise ParamError("format", "must be json or csv")
    if query.steps > max_points:
        raise ParamError(
            "step" if "step" in params else "start",
            f"{query.steps} points per series is more than the {max_points} allowed; "
            "use a larger step or a shorter range",
        )
    return query


def default_step(start: datetime, end: datetime, max_points: int) -> float:
    """Return one minute, or the smallest whole-second step that keeps the range in bounds."""
    span = (end - start).total_seconds()
    return max(DEFAULT_STEP, float(math.ceil(span / max(max_points - 1, 1))))
