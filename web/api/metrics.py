"""The metric API: the catalog of the 37 seed metrics and their values.

`GET metrics` lists the catalog; `GET metrics/<name>` answers a range query over the metric's
recorded series, in the original units, as JSON or CSV. Bad parameters get a 400 that names the
parameter, an unknown metric a 404 with the list of names, Prometheus trouble a 502 or 504; the
response shape is documented in docs/metrics.md. Both take `cluster`: one cluster's series (and the
availability of optional metrics there) instead of every cluster's.
"""

import csv
import io
from datetime import UTC, datetime

from django.conf import settings
from django.http import HttpResponse
from django.utils.http import content_disposition_header
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.permissions import BasePermission
from rest_framework.response import Response
from rest_framework.views import APIView

from kubemon.csv_cells import neutralise
from promadapter.catalog import BY_NAME, METRICS, Metric
from promadapter.client import (
    PrometheusBadResponse,
    PrometheusClient,
    PrometheusError,
    PrometheusTimeout,
)
from promadapter.params import (
    FILTER_PARAMS,
    MetricQuery,
    ParamError,
    parse_cluster,
    parse_metric_query,
)
from promadapter.series import availability, iso, series_count, series_out
from web import access

UNAVAILABLE_REASON = (
    "Prometheus holds no series for this metric{where}: the container runtime does not expose "
    "it (containerd reports no per-container filesystem statistics)"
)


# The OpenAPI description of the answers (drf-spectacular); docs/metrics.md has the details.
ERRORS = {
    400: inline_serializer(
        "MetricParamError",
        {
            "detail": serializers.CharField(),
            "param": serializers.CharField(),
            "reason": serializers.CharField(),
        },
    ),
    401: inline_serializer("MetricUnauthenticated", {"detail": serializers.CharField()}),
    403: inline_serializer("MetricRefused", {"detail": serializers.CharField()}),
}
PROMETHEUS_ERROR = inline_serializer(
    "PrometheusError",
    {
        "detail": serializers.CharField(),
        "prometheus": serializers.ChoiceField(["unavailable", "bad_response", "timeout"]),
    },
)
CLUSTER = OpenApiParameter("cluster", str, description="one cluster's series (default: all)")
CATALOG = inline_serializer(
    "MetricCatalog",
    {
        "cluster": serializers.CharField(allow_null=True),
        "metrics": inline_serializer(
            "MetricInfo",
            {
                "name": serializers.CharField(),
                "description": serializers.CharField(),
                "unit": serializers.CharField(),
                "scope": serializers.ChoiceField(["container", "pod", "node"]),
                "available": serializers.BooleanField(allow_null=True),
            },
            many=True,
        ),
    },
)
VALUES = inline_serializer(
    "MetricValues",
    {
        "metric": serializers.CharField(),
        "unit": serializers.CharField(),
        "scope": serializers.CharField(),
        "available": serializers.BooleanField(),
        "reason": serializers.CharField(required=False),
        "cluster": serializers.CharField(allow_null=True),
        "start": serializers.DateTimeField(),
        "end": serializers.DateTimeField(),
        "step": serializers.FloatField(help_text="seconds"),
        "series": serializers.ListField(
            child=serializers.DictField(), help_text="{labels: {...}, points: [[time, value]]}"
        ),
    },
)
VALUE_PARAMETERS = [
    *(OpenApiParameter(label, str, description=f"only this {label}") for label in FILTER_PARAMS),
    OpenApiParameter("start", str, description="ISO 8601 or unix seconds, 1970 to 2200"),
    OpenApiParameter("end", str, description="ISO 8601 or unix seconds, 1970 to 2200"),
    OpenApiParameter("step", str, description="seconds or a duration (1m), 1 ms to 3653 days"),
    OpenApiParameter(
        "limit",
        {"type": "integer", "minimum": 1},
        description="only the latest N points of each series (at most PROMETHEUS_MAX_POINTS)",
    ),
    OpenApiParameter("format", str, enum=["json", "csv"], default="json"),
    CLUSTER,
]


class JSONOnly(BaseContentNegotiation):
    """Always answer JSON; CSV is chosen by `format=csv` and written by the view itself.

    DRF's default negotiation would treat `format=csv` as a renderer name and answer 404.
    """

    def select_parser(self, request, parsers):
        return parsers[0] if parsers else None

    def select_renderer(self, request, renderers, format_suffix=None):
        return renderers[0], renderers[0].media_type


def prometheus_error(error: PrometheusError) -> Response:
    """Return the 502/504 answer for a Prometheus failure."""
    status = 504 if isinstance(error, PrometheusTimeout) else 502
    kind = "bad_response" if isinstance(error, PrometheusBadResponse) else "unavailable"
    kind = "timeout" if status == 504 else kind
    return Response({"detail": error.detail, "prometheus": kind}, status=status)


def bad_param(error: ParamError) -> Response:
    return Response({"detail": str(error), "param": error.param, "reason": error.reason}, 400)


class OpsOnly(BasePermission):
    """Metric values span every namespace, so only ops and finance (web/access.py) read them.

    Labs see their own usage through the usage API, scoped to their accounts; no lab may
    read another lab's pods here.
    """

    def has_permission(self, request, view):
        return access.sees_every_account(request.user)


class MetricList(APIView):
    """GET metrics: the catalog (name, description, unit, scope, available)."""

    content_negotiation_class = JSONOnly
    permission_classes = [OpsOnly]

    @extend_schema(
        operation_id="metrics_list", parameters=[CLUSTER], responses={200: CATALOG, **ERRORS}
    )
    def get(self, request):
        try:
            cluster = parse_cluster(request.query_params)
        except ParamError as e:
            return bad_param(e)
        try:
            available = availability(PrometheusClient(), cluster)
        except PrometheusError:
            # The catalog is still useful without Prometheus; availability is then unknown.
            available = {m.name: None for m in METRICS if m.optional}
        return Response(
            {
                "cluster": cluster,
                "metrics": [
                    {
                        "name": m.name,
                        "description": m.description,
                        "unit": m.unit,
                        "scope": m.scope,
                        "available": available.get(m.name, True),
                    }
                    for m in METRICS
                ],
            }
        )


def metric_csv(metric: Metric, series: list[dict]) -> HttpResponse:
    """Return the series as CSV: one row per point, one column per label, cells neutralised."""
    label_names = sorted({k for s in series for k in s["labels"]})
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["metric", "unit", *label_names, "timestamp", "value"])
    for s in series:
        labels = [s["labels"].get(k, "") for k in label_names]
        for ts, value in s["points"]:
            row = [metric.name, metric.unit, *labels, ts, "" if value is None else value]
            writer.writerow([neutralise(cell) for cell in row])
    response = HttpResponse(buffer.getvalue(), content_type="text/csv; charset=utf-8")
    filename = metric.name.replace("/", "_") + ".csv"
    response["Content-Disposition"] = content_disposition_header(True, filename)
    return response


class MetricValues(APIView):
    """GET metrics/<name>: the metric's values over a range, in the original units."""

    content_negotiation_class = JSONOnly
    permission_classes = [OpsOnly]

    @extend_schema(
        operation_id="metric_values",
        parameters=VALUE_PARAMETERS,
        responses={
            (200, "application/json"): VALUES,
            (200, "text/csv"): OpenApiTypes.STR,
            404: inline_serializer(
                "UnknownMetric",
                {
                    "detail": serializers.CharField(),
                    # Absent when the URL matches no route at all (web/api/errors.py).
                    "metrics": serializers.ListField(child=serializers.CharField(), required=False),
                },
            ),
            **ERRORS,
            502: PROMETHEUS_ERROR,
            504: PROMETHEUS_ERROR,
        },
    )
    def get(self, request, name: str):
        metric = BY_NAME.get(name)
        if metric is None:
            return Response(
                {"detail": f"no metric named {name!r}", "metrics": [m.name for m in METRICS]},
                status=404,
            )
        max_points = settings.PROMETHEUS_MAX_POINTS
        try:
            query = parse_metric_query(metric, request.query_params, now(), max_points)
        except ParamError as e:
            return bad_param(e)
        try:
            body = self.values(metric, query, PrometheusClient(), max_points)
        except ParamError as e:
            return bad_param(e)
        except PrometheusError as e:
            return prometheus_error(e)
        if query.csv:
            return metric_csv(metric, body["series"])
        return Response(body)

    def values(self, metric: Metric, query: MetricQuery, client, max_points: int) -> dict:
        home = settings.KUBEMON_CLUSTER
        expr = metric.promql(query.filters, query.cluster, home)
        count = series_count(client, expr, query)
        if count * query.steps > max_points:
            raise ParamError(
                "step",
                f"{count} series x {query.steps} points is more than the {max_points} allowed; "
                "filter by namespace, pod, container or node, or use a larger step",
            )
        matrix = (
            client.query_range(expr, query.start, query.end, query.step, max_points)
            if count
            else []
        )
        body = {
            "metric": metric.name,
            "unit": metric.unit,
            "scope": metric.scope,
            "available": True,
            "cluster": query.cluster,
            "start": iso(query.start.timestamp()),
            "end": iso(query.end.timestamp()),
            "step": query.step,
            "series": series_out(metric, matrix, query.limit),
        }
        # Empty because of the filters, or because the runtime never exposes the metric?
        everything = metric.promql({}, query.cluster, home)
        if metric.optional and not matrix and not series_count(client, everything, query):
            body["available"] = False
            where = "" if query.cluster is None else f" in cluster {query.cluster}"
            body["reason"] = UNAVAILABLE_REASON.format(where=where)
        return body


def now() -> datetime:
    return datetime.now(tz=UTC)
