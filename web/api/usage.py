"""The usage API: GET /api/v1/usage, hourly usage summed over any grouping."""

from datetime import UTC, datetime, timedelta

from django.db.models import F, Sum
from django.db.models.functions import TruncDay
from django.utils import timezone
from rest_framework.decorators import api_view
from rest_framework.response import Response

from billing.hours import floor_hour
from billing.models import QUANTITIES, DataGap, HourlyUsage
from promadapter.params import ParamError, parse_time

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


def time_param(params, name: str, default: datetime) -> datetime:
    value = params.get(name)
    return parse_time(name, value) if value else default


def parse_groups(params) -> list[str]:
    groups = [g.strip() for g in params.get("group_by", "job").split(",") if g.strip()]
    unknown = [g for g in groups if g not in GROUPS]
    if unknown or not groups:
        raise ParamError(
            "group_by", f"unknown group {', '.join(unknown) or '(empty)'}; use {', '.join(GROUPS)}"
        )
    return list(dict.fromkeys(groups))


def usage_rows(user, start, end, groups, filters) -> list[dict]:
    fields = {}
    for group in groups:
        fields.update(GROUPS[group])
    plain = [name for name, expression in fields.items() if expression is None]
    computed = {name: expression for name, expression in fields.items() if expression}
    usage = HourlyUsage.objects.filter(hour__gte=start, hour__lt=end, **filters)
    if not user.is_staff:
        # A lab sees the accounts it belongs to, never another lab's.
        usage = usage.filter(account__members=user)
    rows = (
        usage.values(*plain, **computed)
        .annotate(**{q: Sum(q) for q in QUANTITIES})
        .order_by(*fields)
    )
    return [present(row) for row in rows]


def data_gaps(start, end, cluster: str | None) -> list[dict]:
    """The exporters' data gaps that overlap [start, end), as collection recorded them."""
    gaps = DataGap.objects.filter(start__lt=end, end__gt=start).select_related("cluster")
    if cluster:
        gaps = gaps.filter(cluster__name=cluster)
    return [
        {
            "cluster": gap.cluster.name,
            "exporter": gap.exporter,
            "start": gap.start.isoformat(),
            "end": gap.end.isoformat(),
            "bridged": gap.bridged,
        }
        for gap in gaps.order_by("start", "cluster__name", "exporter")
    ]


def present(row: dict) -> dict:
    """Name the row's fields as the API does: annotations may not reuse model field names."""
    if "account_name" in row:
        row["account"] = row.pop("account_name")
    if "day" in row:
        row["day"] = row["day"].date().isoformat()
    if "hour_start" in row:
        row["hour"] = row.pop("hour_start").isoformat()
    return row


@api_view(["GET"])
def usage(request):
    """Usage per group over [start, end): every billed quantity (docs/collection.md).

    Staff see every account; anyone else only the accounts they are a member of.
    """
    params = request.query_params
    try:
        end = time_param(params, "end", floor_hour(timezone.now()))
        start = time_param(params, "start", end - timedelta(days=1))
        if start >= end:
            raise ParamError("start", "must be before end")
        groups = parse_groups(params)
    except ParamError as e:
        return Response({"detail": str(e), "param": e.param, "reason": e.reason}, status=400)
    filters = {FILTERS[name]: params[name] for name in FILTERS if params.get(name)}
    return Response(
        {
            "start": start.isoformat(),
            "end": end.isoformat(),
            "group_by": groups,
            "rows": usage_rows(request.user, start, end, groups, filters),
            # Stretches without data: bridged ones were billed through, the others were not.
            "gaps": data_gaps(start, end, params.get("cluster")),
        }
    )
