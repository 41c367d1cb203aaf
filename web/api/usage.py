"""The usage API: GET /api/v1/usage, hourly usage summed over any grouping, paginated.

Finance and ops see every account; anyone else only the accounts they are a member of
(web/access.py), so asking for another account by filter gives no rows, and only the data
gaps of the clusters where their accounts have usage or mappings.
"""

from datetime import UTC, datetime, time, timedelta

from django.db.models import Case, F, Sum, When
from django.db.models.functions import TruncDay
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.decorators import api_view
from rest_framework.response import Response

from billing.models import DailyUsage, DataGap, Job
from billing.resources import QUANTITIES
from billing.utc import floor_hour
from web import access
from web.api import schema
from web.api.pagination import paginate
from web.api.params import BadParam, check_window, time_param

GROUPS = {
    "cluster": {"cluster": F("job__cluster__name")},
    "account": {"account_name": F("account__name")},
    "namespace": {"namespace": F("job__namespace")},
    "job": {"job_id": None},  # a field of HourlyUsage itself
    "day": {"day": TruncDay("hour", tzinfo=UTC)},
    "hour": {"hour_start": F("hour")},
}
# A job's own fields, read for the page's jobs once the page is cut.
JOB_FIELDS = ("cluster__name", "namespace", "kind", "name", "parent_kind", "parent_name")
FILTERS = {
    "cluster": "job__cluster__name",
    "account": "account__name",
    "namespace": "job__namespace",
    "job": "job__name",
}
# The same groups and filters on the daily roll-up, for windows of whole UTC days.
DAILY_GROUPS = {
    "cluster": {"cluster_name": F("cluster__name")},
    "account": {"account_name": F("account__name")},
    "namespace": {"namespace": None},
    "day": {"day": None},
}
DAILY_FILTERS = {"cluster": "cluster__name", "account": "account__name", "namespace": "namespace"}
# Job-hours whose GPU energy is an estimate: a MIG instance's or a time-sliced GPU's share.
ESTIMATED = "gpu_energy_estimated_hours"
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


def usage_rows(user, start, end, groups: list[str], params):
    """The usage the user may see in [start, end), summed per group, in group order.

    Whole UTC days grouped without jobs or hours are read from the daily roll-up; job-hours
    are rows already, so they are not grouped again.
    """
    if daily_will_do(start, end, groups, params):
        return daily_rows(user, start, end, groups, params)
    fields = {}
    for group in groups:
        fields.update(GROUPS[group])
    filters = {FILTERS[name]: params[name] for name in FILTERS if params.get(name)}
    usage = access.visible_usage(user).filter(hour__gte=start, hour__lt=end, **filters)
    return summed(usage, fields, group=not {"job", "hour"} <= set(groups))


def summed(rows, fields: dict, group: bool = True):
    """The quantities per `fields` (None: a field of the model itself), in their order."""
    plain = [name for name, expression in fields.items() if expression is None]
    computed = {name: expression for name, expression in fields.items() if expression}
    estimated = estimated_hours(rows.model)
    if group:
        sums = {q: Sum(q) for q in QUANTITIES}
        rows = rows.values(*plain, **computed).annotate(**sums, **estimated)
    else:
        rows = rows.values(*plain, *QUANTITIES, **computed, **estimated)
    return rows.order_by(*fields)


def estimated_hours(model) -> dict:
    """The job-hours of a row whose GPU energy is an estimate (MIG or time-sliced)."""
    if model is DailyUsage:
        return {ESTIMATED: Sum(ESTIMATED)}
    return {ESTIMATED: Sum(Case(When(gpu_energy_estimated=True, then=1), default=0))}


def daily_will_do(start, end, groups: list[str], params) -> bool:
    whole_days = start.astimezone(UTC).time() == end.astimezone(UTC).time() == time()
    return whole_days and set(groups) <= set(DAILY_GROUPS) and not params.get("job")


def daily_rows(user, start, end, groups: list[str], params):
    fields = {}
    for group in groups:
        fields.update(DAILY_GROUPS[group])
    filters = {DAILY_FILTERS[name]: params[name] for name in DAILY_FILTERS if params.get(name)}
    daily = DailyUsage.objects.filter(
        account__in=access.visible_accounts(user),
        day__gte=start.astimezone(UTC).date(),
        day__lt=end.astimezone(UTC).date(),
        **filters,
    )
    return summed(daily, fields)


def with_jobs(rows: list[dict]) -> list[dict]:
    """Fill in the fields of the page's jobs, read in one query."""
    ids = {row["job_id"] for row in rows if "job_id" in row}
    if not ids:
        return rows
    jobs = {j["pk"]: j for j in Job.objects.filter(pk__in=ids).values("pk", *JOB_FIELDS)}
    for row in rows:
        job = jobs[row["job_id"]]
        row.update(
            cluster=job["cluster__name"],
            namespace=job["namespace"],
            kind=job["kind"],
            name=job["name"],
            parent_kind=job["parent_kind"],
            parent_name=job["parent_name"],
        )
    return rows


def data_gaps(user, start, end, cluster: str | None) -> tuple[list[dict], bool]:
    """The first MAX_GAPS exporter data gaps overlapping [start, end) of the clusters the user
    may see (web/access.py), and whether more exist."""
    gaps = DataGap.objects.filter(start__lt=end, end__gt=start).select_related("cluster")
    if cluster:
        gaps = gaps.filter(cluster__name=cluster)
    clusters = access.visible_clusters(user)
    if clusters is not None:
        gaps = gaps.filter(cluster__in=clusters)
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
    if "cluster_name" in row:  # the daily roll-up has a field `cluster`
        row["cluster"] = row.pop("cluster_name")
    if "day" in row:
        day = row["day"]
        row["day"] = (day.date() if isinstance(day, datetime) else day).isoformat()
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
    gpu_energy_estimated_hours = serializers.IntegerField(
        help_text="job-hours whose gpu_energy_joules is an estimate (a MIG instance's slice "
        "fraction or a time-sliced GPU's equal share), 0 when all of it is measured"
    )


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
    gaps=Gap(
        many=True,
        help_text="exporters' data gaps overlapping the window (a lab: of its clusters only)",
    ),
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
    responses={
        200: USAGE_PAGE,
        400: schema.BAD_PARAM,
        401: schema.UNAUTHENTICATED,
        403: schema.REFUSED,
    },
)
@api_view(["GET"])
def usage(request):
    """Usage per group over [start, end): every billed quantity (docs/collection.md)."""
    params = request.query_params
    end = time_param(params, "end", floor_hour(timezone.now()))
    start = time_param(params, "start", end - timedelta(days=1))
    check_window(start, end)
    groups = parse_groups(params)
    rows = usage_rows(request.user, start, end, groups, params)
    if "job" in groups and not {"hour", "day"} & set(groups):
        # A row per job at most: read whole, summing the window once. With a LIMIT,
        # PostgreSQL walks the job index through every hour of the table instead.
        rows = list(rows)
    rows, page = paginate(request, rows)
    # Stretches without data: bridged ones were billed through, the others were not.
    gaps, truncated = data_gaps(request.user, start, end, params.get("cluster"))
    return Response(
        {
            "start": start.isoformat(),
            "end": end.isoformat(),
            "group_by": groups,
            **page,
            "rows": [present(row) for row in with_jobs(rows)],
            "gaps": gaps,
            "gaps_truncated": truncated,
        }
    )
