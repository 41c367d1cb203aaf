"""Prometheus series as kube-monitoring shows them, and what the catalog can answer now.

Values in the metric's original unit (NaN and infinities as None), times as ISO 8601 in
UTC, the labels a reader needs (HIDDEN_LABELS left out); the cheap count that guards a range
query, and which optional metrics have recorded series. Used by the metric API
(web/api/metrics.py) and the live page (web/views/live.py).
"""

import math
from datetime import UTC, datetime

from django.conf import settings

from promadapter.catalog import HIDDEN_LABELS, METRICS, Metric
from promadapter.client import PrometheusClient
from promadapter.params import MetricQuery
from promadapter.promql import Regex, cluster_matchers, matchers_text, regex_escape


def availability(client: PrometheusClient, cluster: str | None) -> dict[str, bool]:
    """Return, for each optional metric, whether Prometheus holds its recorded series now.

    Per cluster when one is named: a docker cluster has filesystem series, a containerd one not.
    """
    records = sorted({m.record for m in METRICS if m.optional})
    matchers = {
        "__name__": Regex("|".join(regex_escape(r) for r in records)),
        **cluster_matchers(cluster, settings.KUBEMON_CLUSTER),
    }
    expr = "count by (__name__) ({" + matchers_text(matchers) + "})"
    present = {item["metric"].get("__name__") for item in client.query(expr)}
    return {m.name: m.record in present for m in METRICS if m.optional}


def number(raw: str, factor: float) -> float | int | None:
    """Return a Prometheus sample value in the original unit; NaN/Inf become None (JSON null)."""
    value = float(raw) * factor
    if not math.isfinite(value):
        return None
    # Whole values (counters, requests, capacities) stay exact integers in JSON.
    return int(value) if value.is_integer() and abs(value) < 2**63 else value


def iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, tz=UTC).isoformat().replace("+00:00", "Z")


def series_out(metric: Metric, matrix: list[dict], limit: int | None) -> list[dict]:
    """Return the response series: visible labels and [iso time, value] points, sorted by labels."""
    out = []
    for item in matrix:
        values = item["values"][-limit:] if limit else item["values"]
        labels = {k: v for k, v in item["metric"].items() if k not in HIDDEN_LABELS}
        points = [[iso(float(ts)), number(value, metric.factor)] for ts, value in values]
        out.append({"labels": labels, "points": points})
    return sorted(out, key=lambda s: sorted(s["labels"].items()))


def series_count(client: PrometheusClient, expr: str, query: MetricQuery) -> int:
    """Return how many series the range query would return (one cheap instant query)."""
    window = math.ceil((query.end - query.start).total_seconds()) + 300
    counted = client.query(f"count(count_over_time({expr}[{window}s]))", at=query.end)
    return int(float(counted[0]["value"][1])) if counted else 0
