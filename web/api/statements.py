"""The statements API: GET /api/v1/statements?period=YYYY-MM and GET /api/v1/statements/<id>.

Finance (the `finance` group) and staff see every account's statements; anyone else only
those of the accounts they are a member of, and another account's statement is a 404.
Statements of an open period are drafts, recomputed when the period's list is asked for.
Money is given as decimal strings, never as floats.
"""

from django.http import Http404
from django.utils import timezone
from rest_framework.decorators import api_view
from rest_framework.pagination import PageNumberPagination
from rest_framework.response import Response

from billing.models import Period, Statement
from billing.periods import PeriodError, parse_month
from billing.statements import PricingError, line_sources, refresh_statements

FINANCE_GROUP = "finance"


class Pages(PageNumberPagination):
    page_size = 100


def sees_every_account(user) -> bool:
    return user.is_staff or user.groups.filter(name=FINANCE_GROUP).exists()


def visible(user):
    statements = Statement.objects.select_related("period", "account")
    if sees_every_account(user):
        return statements
    return statements.filter(account__members=user)


def summary(s: Statement) -> dict:
    return {
        "id": s.pk,
        "period": f"{s.period.month:%Y-%m}",
        "status": "closed" if s.period.is_closed else "draft",
        "account": s.account.name,
        "receiver_type": s.receiver_type,
        "receiver": s.receiver,
        "total_chf": str(s.total_chf),
        "computed_at": s.computed_at.isoformat(),
    }


def line_json(line) -> dict:
    return {
        "kind": line.kind,
        "resource": line.resource,
        "unit": line.unit,
        "quantity": str(line.quantity),
        "unit_price_chf": str(line.unit_price),
        "amount_chf": str(line.amount_chf),
        "tariff_id": line.tariff_id,
        "first_hour": line.first_hour.isoformat(),
        "end_hour": line.end_hour.isoformat(),
        "reason": line.reason,
        "jobs": [
            {
                "job_id": j.job_id,
                "cluster": j.job.cluster.name,
                "namespace": j.job.namespace,
                "kind": j.job.kind,
                "name": j.job.name,
                "quantity": str(j.quantity),
                "hours": j.hours,
            }
            for j in line.jobs.select_related("job__cluster").order_by("job_id")
        ],
        "sources": line_sources(line),
    }


@api_view(["GET"])
def statements(request):
    """The statements of a period (`period=YYYY-MM`), paginated."""
    try:
        month = parse_month(request.query_params.get("period", ""))
    except PeriodError as e:
        return Response({"detail": str(e), "param": "period"}, status=400)
    period, _ = Period.objects.get_or_create(month=month)
    if not period.is_closed:
        try:
            refresh_statements(period, timezone.now())
        except PricingError as e:
            return Response({"detail": str(e)}, status=409)
    pages = Pages()
    page = pages.paginate_queryset(
        visible(request.user).filter(period=period).order_by("account__name"), request
    )
    return pages.get_paginated_response([summary(s) for s in page])


@api_view(["GET"])
def statement(request, pk: int):
    """One statement with its lines, per-job detail, sources and hours missing or flagged."""
    s = visible(request.user).filter(pk=pk).first()
    if s is None:
        raise Http404("no such statement")
    return Response(
        {
            **summary(s),
            "period_closed_at": s.period.closed_at.isoformat() if s.period.closed_at else None,
            "forced": s.period.forced,
            "lines": [line_json(line) for line in s.lines.select_related("tariff")],
            "missing_hours": s.missing_hours,
            "flagged_hours": s.flagged_hours,
        }
    )
