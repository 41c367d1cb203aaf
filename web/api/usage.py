"""The usage API: GET /api/v1/usage, hourly usage summed over any grouping, paginated.

Finance and ops see every account; anyone else only the accounts they are a member of
(web/access.py), so asking for another account by filter gives no rows.
"""

from datetime import UTC, timedelta

from django.db.models import F, Sum
from django.db.models.functions import TruncDay
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.decorators import api_view
from rest_framework.response import Response

from billing.hours import floor_hour
from billing.models import QUANTITIES, DataGap
from web import access
from web.api import schema
from web.api.pagination import paginate
from web.api.params import BadParam, check_window, time_param

GROUPS = {
    "cluster": {"cluster": F("job__cluster__name")},
    "account": {"account_name": F("account__name")},
    "namespace": {"namespace": F("job__namespace")},
    "job": {
        "job_id": None,  # a field of HourlyUsage itself
        "cluster": F("job__cluster__name"),
        "namespace": F("job__namespace"),
        "kind": F("job__kind"),
        "name": F("job__name"),
        "parent_kind": F("job__parent_kind"),
        "parent_name": F("job__parent_name"),
    },
    "day": {"day": TruncDay("hour", tzinfo=UTC)},
    "hour": {"hour_start": F("hour")},
}
FILTERS = {
    "cluster": "job__cluster__name",
    "account": "account__name",
    "namespace": "job__namespace",
    "job": "job__name",
}
# The data gaps of the window answered at most; `gaps_truncated` says when there were more.
MAX_GAPS = 100


def parse_groups(params) -> list[str]:
    groups = [g.strip() for g in params.get("group_by", "job").split(",") if g.strip()]
    unknown = [g for g in groups if g not in GROUPS]
    if unknown or not groups:
        raise BadParam(
            "group_by", f"unknown group {', '.join(unknown) or '(empty)'}; use {', '.join(GROUPS)}"
        )
    return list(dict.fromkeys(groups))


def usage_rows(user, start, end, groups, filters):
    """The usage the user may see in [start, end), summed per group, in group order."""
    fields = {}
    for group in groups:
        fields.update(GROUPS[group])
    plain = [name for name, expression in fields.items() if expression is None]
    computed = {name: expression for name, expression in fields.items() if expression}
    usage = access.visible_usage(user).filter(hour__gte=start, hour__lt=end, **filters)
    return (
        usage.values(*plain, **computed)
        .annotate(**{q: Sum(q) for q in QUANTITIES})
        .order_by(*fields)
    )


def data_gaps(start, end, cluster: str | None) -> tuple[list[dict], bool]:
    """The first MAX_GAPS exporter data gaps overlapping [start, end), and whether more exist."""
    gaps = DataGap.objects.filter(start__lt=end, end__gt=start).select_related("cluster")
    if cluster:
        gaps = gaps.filter(cluster__name=cluster)
    first = list(gaps.order_by("start", "cluster__name", "exporter")[: MAX_GAPS + 1])
    return [
        {
            "cluster": gap.cluster.name,
            "exporter": gap.exporter,
            "start": gap.start.isoformat(),
            "end": gap.end.isoformat(),
            "bridged": gap.bridged,
        }
        for gap in first[:MAX_GAPS]
    ], len(first) > MAX_GAPS


def present(row: dict) -> dict:
    """Name the row's fields as the API does: annotations may not reuse model field names."""
    if "account_name" in row:
        row["account"] = row.pop("account_name")
    if "day" in row:
        row["day"] = row["day"].date().isoformat()
    if "hour_start" in row:
        row["hour"] = row.pop("hour_start").isoformat()
    return row


class UsageRow(schema.Quantities):
    """A group's sums; only the fields of the requested groups are present."""

    cluster = serializers.CharField(required=False)
    account = serializers.CharField(required=False)
    namespace = serializers.CharField(required=False)
    job_id = serializers.IntegerField(required=False)
    kind = serializers.CharField(required=False)
    name = serializers.CharField(required=False)
    parent_kind = serializers.CharField(required=False)
    parent_name = serializers.CharField(required=False)
    day = serializers.DateField(required=False)
    hour = serializers.DateTimeField(required=False, help_text="start of the UTC hour")


class Gap(serializers.Serializer):
    cluster = serializers.CharField()
    exporter = serializers.CharField()
    start = serializers.DateTimeField()
    end = serializers.DateTimeField()
    bridged = serializers.BooleanField(help_text="billed through: short enough to bridge")


USAGE_PAGE = schema.page_of(
    "UsagePage",
    UsageRow,
    results="rows",
    start=serializers.DateTimeField(),
    end=serializers.DateTimeField(),
    group_by=serializers.ListField(child=serializers.ChoiceField(choices=list(GROUPS))),
    gaps=Gap(many=True, help_text="exporters' data gaps overlapping the window"),
    gaps_truncated=serializers.BooleanField(help_text=f"more than {MAX_GAPS} gaps"),
)


@extend_schema(
    operation_id="usage_list",
    parameters=[
        schema.time_parameter("start", "window start (default: a day before end)"),
        schema.time_parameter(
            "end", "window end, excluded (default: the start of the current hour)"
        ),
        OpenApiParameter(
            "group_by",
            OpenApiTypes.STR,
            many=True,
            explode=False,
            enum=list(GROUPS),
            description="groups, comma separated (default: job)",
        ),
        schema.text_parameter("cluster", "only this cluster's usage"),
        schema.text_parameter("account", "only usage billed to this account"),
        schema.text_parameter("namespace", "only this namespace's usage"),
        schema.text_parameter("job", "only jobs of this name"),
        *schema.page_parameters(),
    ],
    responses={200: USAGE_PAGE, 400: schema.BAD_PARAM, 403: schema.REFUSED},
)
@api_view(["GET"])
def usage(request):
    """Usage per group over [start, end): every billed quantity (docs/collection.md)."""
    params = request.query_params
    end = time_param(params, "end", floor_hour(timezone.now()))
    start = time_param(params, "start", end - timedelta(days=1))
    check_window(start, end)
    groups = parse_groups(params)
    filters = {FILTERS[name]: params[name] for name in FILTERS if params.get(name)}
    rows, page = paginate(request, usage_rows(request.user, start, end, groups, filters))
    # Stretches without data: bridged ones were billed through, the others were not.
    gaps, truncated = data_gaps(start, end, params.get("cluster"))
    return Response(
        {
            "start": start.isoformat(),
            "end": end.isoformat(),
            "group_by": groups,
            **page,
            "rows": [present(row) for row in rows],
            "gaps": gaps,
            "gaps_truncated": truncated,
        }
    )
