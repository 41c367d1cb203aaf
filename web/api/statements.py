"""The statements API: GET /api/v1/statements?period=YYYY-MM, GET /api/v1/statements/<id>, and
GET /api/v1/statements/<id>/pdf (a closed month's statement as its PDF; a draft has none: 404).

Finance (and staff) see every account's statements; account members only those of their
accounts, and another account's statement is a 404; ops handle no bills and see none
(web/access.py). A read writes nothing: an open period's drafts are shown as their writers left
them (billing/ledger/drafts.py), `drafts_current` saying whether they are older than what they
are made of; a month without a period has no statements and none is created. A lab member sees
the hours not collected or flagged of its account's clusters only. Money is given as decimal
strings, never as floats.
"""

from django.db.models import Prefetch
from django.http import HttpResponse
from django.utils import timezone
from django.utils.http import content_disposition_header
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.decorators import api_view
from rest_framework.exceptions import NotFound, PermissionDenied
from rest_framework.response import Response
from rest_framework.views import APIView

from billing.documents.pdf import DraftStatement, pdf_file_name, statement_pdf
from billing.ledger.coverage import only_clusters
from billing.ledger.drafts import drafts_are_current, period_to_read
from billing.ledger.statements import line_sources
from billing.models import Statement, StatementJob
from billing.utc import month_bounds
from web import access
from web.api import schema
from web.api.metrics import JSONOnly
from web.api.pagination import paginate
from web.api.params import month_param


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
        "estimated_quantity": str(line.estimated_quantity),
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
            for j in line.jobs.all()
        ],
        "sources": line_sources(line),
    }


class StatementSummary(serializers.Serializer):
    id = serializers.IntegerField()
    period = serializers.CharField(help_text="YYYY-MM")
    status = serializers.ChoiceField(["draft", "closed"])
    account = serializers.CharField()
    receiver_type = serializers.CharField(help_text="cctr, order or wbs; empty if unassigned")
    receiver = serializers.CharField()
    total_chf = serializers.DecimalField(max_digits=14, decimal_places=2)
    computed_at = serializers.DateTimeField()


class LineJob(serializers.Serializer):
    job_id = serializers.IntegerField()
    cluster = serializers.CharField()
    namespace = serializers.CharField()
    kind = serializers.CharField()
    name = serializers.CharField()
    quantity = serializers.DecimalField(max_digits=24, decimal_places=9)
    hours = serializers.IntegerField()


class Line(serializers.Serializer):
    kind = serializers.ChoiceField(["usage", "adjustment"])
    resource = serializers.CharField()
    unit = serializers.CharField()
    quantity = serializers.DecimalField(max_digits=18, decimal_places=3)
    estimated_quantity = serializers.DecimalField(
        max_digits=18,
        decimal_places=3,
        help_text="the part of quantity from job-hours whose usage is an estimate (GPU energy "
        "of MIG slices and time-sliced GPUs); 0 otherwise and for adjustments",
    )
    unit_price_chf = serializers.DecimalField(max_digits=14, decimal_places=6)
    amount_chf = serializers.DecimalField(max_digits=14, decimal_places=2)
    tariff_id = serializers.IntegerField()
    first_hour = serializers.DateTimeField()
    end_hour = serializers.DateTimeField()
    reason = serializers.CharField()
    jobs = LineJob(many=True)
    sources = serializers.DictField(help_text="job-hours and collection runs, or adjustments")


class StatementDetail(StatementSummary):
    period_closed_at = serializers.DateTimeField(allow_null=True)
    forced = serializers.BooleanField(help_text="closed although hours were missing")
    lines = Line(many=True)
    missing_hours = serializers.DictField(
        help_text="{cluster: [[start, end], ...]}; a lab: its account's clusters only"
    )
    flagged_hours = serializers.DictField(
        help_text="{cluster: [{hour, reason}, ...]}; a lab: its account's clusters only"
    )


@extend_schema(
    operation_id="statements_list",
    parameters=[
        OpenApiParameter("period", str, required=True, description="YYYY-MM, or previous"),
        *schema.page_parameters(),
    ],
    responses={
        200: schema.page_of(
            "StatementPage",
            StatementSummary,
            drafts_current=serializers.BooleanField(
                allow_null=True,
                help_text="false when an open month's drafts are older than its latest usage, "
                "adjustment or tariff (a refresh could not price them); null for ops",
            ),
        ),
        400: schema.BAD_PARAM,
        401: schema.UNAUTHENTICATED,
        403: schema.REFUSED,
    },
)
@api_view(["GET"])
def statements(request):
    """The statements of a period (`period=YYYY-MM`), paginated by account, as stored."""
    user = request.user
    visible = access.visible_statements(user)  # none for ops
    month = month_param(request.query_params, "period", required=True)
    current = None
    if access.sees_statements(user):
        begun = month_bounds(month)[0] <= timezone.now()
        current = not begun or drafts_are_current(month, period_to_read(month))
    rows, page = paginate(request, visible.filter(period__month=month).order_by("account__name"))
    return Response({**page, "drafts_current": current, "results": [summary(s) for s in rows]})


@extend_schema(
    operation_id="statement_retrieve",
    responses={
        200: StatementDetail,
        401: schema.UNAUTHENTICATED,
        403: schema.REFUSED,
        404: schema.NOT_FOUND,
    },
)
@api_view(["GET"])
def statement(request, pk: int):
    """One statement with its lines, per-job detail, sources and hours missing or flagged."""
    s = access.visible_statements(request.user).filter(pk=pk).first()
    if s is None:
        raise NotFound("no such statement")
    jobs = StatementJob.objects.select_related("job__cluster").order_by("job_id")
    lines = s.lines.select_related("tariff").prefetch_related(Prefetch("jobs", queryset=jobs))
    clusters = access.statement_clusters(request.user, s)
    return Response(
        {
            **summary(s),
            "period_closed_at": s.period.closed_at.isoformat() if s.period.closed_at else None,
            "forced": s.period.forced,
            "lines": [line_json(line) for line in lines],
            "missing_hours": only_clusters(s.missing_hours, clusters),
            "flagged_hours": only_clusters(s.flagged_hours, clusters),
        }
    )


class StatementPdf(APIView):
    """GET statements/<id>/pdf: the PDF of a closed month's statement."""

    # Errors answer JSON whatever the Accept header; the PDF is written by the view.
    content_negotiation_class = JSONOnly

    @extend_schema(
        operation_id="statement_pdf",
        responses={
            (200, "application/pdf"): OpenApiTypes.BINARY,
            401: schema.UNAUTHENTICATED,
            403: schema.REFUSED,
            404: OpenApiResponse(
                schema.ERROR,
                "no such statement among those the user may see, or a draft: an open "
                "month's statement has no PDF",
            ),
        },
    )
    def get(self, request, pk: int):
        """The statement as the PDF its account's contacts are mailed, in the account's
        language, named statement-YYYY-MM-<account>.pdf; only a closed month's."""
        if not access.sees_statements(request.user):
            raise PermissionDenied("statements are for finance and account members")
        s = access.visible_statements(request.user).filter(pk=pk).first()
        if s is None:
            raise NotFound("no such statement")
        try:
            pdf = statement_pdf(s)
        except DraftStatement:
            raise NotFound(
                f"statement {s.pk} is a draft: {s.period} is not closed, and only a closed "
                "month's statement has a PDF"
            ) from None
        response = HttpResponse(pdf, content_type="application/pdf")
        response["Content-Disposition"] = content_disposition_header(True, pdf_file_name(s))
        return response
