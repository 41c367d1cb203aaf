"""Live metrics from Prometheus, for ops and finance: a chart and the latest value per series.

The 13 metrics of the original system's web pages, read through promadapter only: the filters
are checked and escaped by promadapter.params (the metric API's parsing), the selector comes
from the catalog, and Prometheus is asked by promadapter's client with its timeout and retries.
A bad filter is a 400 naming the field; Prometheus down or too slow is a 503 page that says so.
"""

import math
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from django import forms
from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from promadapter.catalog import BY_NAME, HIDDEN_LABELS, NODE, POD, SCOPE_FILTERS, Metric
from promadapter.client import PrometheusClient, PrometheusError, PrometheusTimeout
from promadapter.params import MetricQuery, ParamError, parse_metric_query
from promadapter.series import number, series_out
from web import access
from web.charts import chart
from web.forms import show_drawn

# The metrics of the original system's web pages, in its order.
LIVE_METRICS = (
    "cpu/node_capacity",
    "cpu/usage",
    "cpu/usage_rate",
    "gpu/usage",
    "memory/node_capacity",
    "memory/usage",
    "memory/cache",
    "memory/rss",
    "network/rx",
    "network/rx_rate",
    "network/tx",
    "network/tx_rate",
    "uptime",
)
DEFAULT_METRIC = "cpu/usage_rate"
# Time ranges offered, with the step that gives about 60 to 100 points per series.
RANGES = {
    "15m": (timedelta(minutes=15), 15),
    "1h": (timedelta(hours=1), 60),
    "6h": (timedelta(hours=6), 300),
    "24h": (timedelta(hours=24), 900),
}
RANGE_LABELS = {
    "15m": gettext_lazy("last 15 minutes"),
    "1h": gettext_lazy("last hour"),
    "6h": gettext_lazy("last 6 hours"),
    "24h": gettext_lazy("last 24 hours"),
}
DEFAULT_RANGE = "1h"
# Series drawn in the chart (the largest latest values); the table lists every series.
CHART_SERIES = 10
# The table lists at most this many series, the largest; filters find the others.
MAX_ROWS = 200
FILTERS = ("cluster", "namespace", "pod", "node")


class LiveForm(forms.Form):
    metric = forms.ChoiceField(
        label=gettext_lazy("Metric"), choices=[(m, m) for m in LIVE_METRICS], required=False
    )
    range = forms.ChoiceField(
        label=gettext_lazy("Time range"), choices=list(RANGE_LABELS.items()), required=False
    )
    end = forms.DateTimeField(
        label=gettext_lazy("Until"),
        required=False,
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M"],
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        help_text=gettext_lazy("empty: now"),
    )
    cluster = forms.CharField(label=gettext_lazy("Cluster"), required=False, max_length=253)
    namespace = forms.CharField(label=gettext_lazy("Namespace"), required=False, max_length=253)
    pod = forms.CharField(label=gettext_lazy("Pod"), required=False, max_length=253)
    node = forms.CharField(label=gettext_lazy("Node"), required=False, max_length=253)

    def clean_end(self):
        end = self.cleaned_data.get("end")
        if end is not None and end < datetime(1970, 1, 2, tzinfo=UTC):
            raise forms.ValidationError(_("Give a time after 1970."))
        return end


@dataclass
class Row:
    labels: dict[str, str]
    name: str
    value: float | int | None
    cells: list[str] = field(default_factory=list)
    shown: float | int | None = None
    decimals: int = 3


def series_name(labels: dict[str, str], metric: Metric, clusters: int) -> str:
    """A short name for a series: its node, namespace/pod, or namespace/pod/container."""
    if metric.scope == NODE:
        parts = [labels.get("node", "")]
    elif metric.scope == POD:
        parts = [labels.get("namespace", ""), labels.get("pod", "")]
    else:
        parts = [labels.get("namespace", ""), labels.get("pod", ""), labels.get("container", "")]
    name = "/".join(p for p in parts if p) or "–"
    if clusters > 1:
        name = f"{labels.get('cluster') or settings.KUBEMON_CLUSTER}: {name}"
    return name


def visible(labels: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in labels.items() if k not in HIDDEN_LABELS}


def latest_rows(metric: Metric, vector: list[dict]) -> list[Row]:
    """The latest value of every series, largest first, in the metric's unit."""
    clusters = len({item["metric"].get("cluster", "") for item in vector})
    rows = []
    for item in vector:
        labels = visible(item["metric"])
        value = number(item["value"][1], metric.factor)
        row = Row(labels, series_name(labels, metric, clusters), value)
        # Rounded here: the amount filter cuts decimals off rather than rounding them.
        row.shown = None if value is None else round(value, 3)
        row.decimals = 0 if isinstance(value, int) else 3
        rows.append(row)
    rows.sort(key=lambda r: (r.value is None, -(r.value or 0), r.name))
    return rows


def chart_of(metric: Metric, matrix: list[dict], clusters: int, title: str) -> dict:
    """The chart of the series drawn, labelled in local HH:MM; gaps stay gaps (null)."""
    series = {}
    for s in series_out(metric, matrix, None):
        name = base = series_name(s["labels"], metric, clusters)
        n = 1
        while name in series:  # series that differ only by labels the name leaves out
            n += 1
            name = f"{base} ({n})"
        series[name] = {datetime.fromisoformat(t): v for t, v in s["points"]}
    times = sorted({t for points in series.values() for t in points})
    labels = [timezone.localtime(t).strftime("%H:%M") for t in times]
    values = {name: [points.get(t) for t in times] for name, points in series.items()}
    spec = chart(
        "live-chart",
        title,
        labels,
        {name: [v or 0.0 for v in vs] for name, vs in values.items()},
        y_title=metric.unit,
    )
    # web/charts.py wants numbers; Chart.js draws null as a gap, which is what a gap is.
    for dataset in spec["datasets"]:
        dataset["data"] = [
            None if v is None else round(float(v), 4) for v in values[dataset["label"]]
        ]
    return spec


def query_of(metric: Metric, data: dict, now: datetime) -> MetricQuery:
    """The checked query of the form's values, through the metric API's own parsing."""
    span, step = RANGES[data.get("range") or DEFAULT_RANGE]
    end = data.get("end") or now
    params = {
        "start": (end - span).isoformat(),
        "end": end.astimezone(UTC).isoformat(),
        "step": str(step),
    }
    for name in FILTERS:
        value = (data.get(name) or "").strip()
        if value:
            params[name] = value
    return parse_metric_query(metric, params, now, settings.PROMETHEUS_MAX_POINTS)


@dataclass
class Answer:
    """What Prometheus said: how many series (and clusters) match, and those read."""

    count: int
    clusters: int
    latest: list = field(default_factory=list)
    matrix: list = field(default_factory=list)

    @property
    def too_many(self) -> bool:
        return self.count > settings.PROMETHEUS_MAX_SERIES


def count(client: PrometheusClient, expr: str, at: datetime) -> int:
    """How many series expr has at `at`: an answer of one series, however many they are."""
    counted = client.query(f"count({expr})", at=at)
    return int(float(counted[0]["value"][1])) if counted else 0


def fetch(metric: Metric, query: MetricQuery, client: PrometheusClient) -> Answer:
    """Count the series first; read at most MAX_ROWS latest values and CHART_SERIES ranges.

    The client reads an answer whole before it checks its series against
    PROMETHEUS_MAX_SERIES, so the page asks only for answers it knows to be small: a cheap
    count (as the metric API does before a range query), and nothing more when it is above
    PROMETHEUS_MAX_SERIES; then the number of clusters (series are named with their cluster
    when there are several), the latest values of the MAX_ROWS largest series (`topk`,
    chosen by Prometheus), and the range of the CHART_SERIES largest, pinned to the range's
    end with `@` so that every step draws the same series. The selector is the catalog's,
    built from the filters promadapter checked and escaped; around it only fixed PromQL.
    """
    expr = metric.promql(query.filters, query.cluster, settings.KUBEMON_CLUSTER)
    window = f"[{math.ceil((query.end - query.start).total_seconds())}s]"
    latest = f"last_over_time({expr}{window})"
    answer = Answer(count(client, latest, query.end), clusters=0)
    if answer.count == 0 or answer.too_many:
        return answer
    answer.clusters = count(client, f"count by (cluster) ({latest})", query.end)
    answer.latest = client.query(f"topk({MAX_ROWS}, {latest})", at=query.end)
    at = f"{query.end.timestamp():.3f}"
    largest = f"topk({CHART_SERIES}, last_over_time({expr}{window} @ {at}))"
    answer.matrix = client.query_range(f"{expr} and {largest}", query.start, query.end, query.step)
    return answer


def field_label(form: LiveForm, param: str) -> str:
    field = form.fields.get(param)
    return str(field.label) if field is not None else param


@login_required
def live(request):
    """The form, then the chart and the table of the metric asked for."""
    access.require_ops(request.user)
    form = LiveForm(request.GET or None, initial={"metric": DEFAULT_METRIC, "range": DEFAULT_RANGE})
    context = {"form": form}
    if request.GET and not form.is_valid():
        return render(request, "web/live.html", context, status=400)
    data = form.cleaned_data if request.GET else {}
    metric = BY_NAME[data.get("metric") or DEFAULT_METRIC]
    if request.GET:
        shown = {"metric": metric.name, "range": data.get("range") or DEFAULT_RANGE}
        if data.get("end"):
            # As the datetime-local input expects it: local time, to the minute.
            shown["end"] = timezone.localtime(data["end"]).strftime("%Y-%m-%dT%H:%M")
        show_drawn(form, **shown)
    now = timezone.now()
    try:
        query = query_of(metric, data, now)
    except ParamError as e:
        form.add_error(e.param if e.param in form.fields else None, e.reason)
        return render(request, "web/live.html", context, status=400)
    context.update(metric=metric, query=query)
    try:
        answer = fetch(metric, query, PrometheusClient())
    except PrometheusError as e:
        context["prometheus_error"] = e.detail
        context["prometheus_timeout"] = isinstance(e, PrometheusTimeout)
        return render(request, "web/live.html", context, status=503)
    context.update(count=answer.count, too_many=answer.too_many)
    if answer.too_many:
        context["max_series"] = settings.PROMETHEUS_MAX_SERIES
        return render(request, "web/live.html", context)
    rows = latest_rows(metric, answer.latest)[:MAX_ROWS]
    columns = [
        c for c in ("cluster", *SCOPE_FILTERS[metric.scope]) if any(c in r.labels for r in rows)
    ]
    for row in rows:
        row.cells = [row.labels.get(c, "") for c in columns]
        if columns and columns[0] == "cluster":
            row.cells[0] = row.cells[0] or settings.KUBEMON_CLUSTER
    title = _("%(metric)s (%(unit)s)") % {"metric": metric.name, "unit": metric.unit}
    context.update(
        truncated=answer.count > len(rows),
        rows=rows,
        columns=[field_label(form, c) if c in form.fields else _("Container") for c in columns],
        chart=chart_of(metric, answer.matrix, answer.clusters, title) if rows else None,
    )
    return render(request, "web/live.html", context)
