"""GET /api/v1/statements/workbook?period=YYYY-MM: a month's statements as an Excel workbook.

For finance only (anyone else: 403), like the page that downloads it (web/views/workbooks.py).
A read: an open month's drafts as stored; a month without a period is a 404, none created.
"""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.decorators import api_view
from rest_framework.exceptions import NotFound

from billing.ledger.drafts import period_to_read
from web import access
from web.api import schema
from web.api.params import month_param
from web.views.workbooks import XLSX, workbook_response


@extend_schema(
    operation_id="statements_workbook",
    parameters=[
        OpenApiParameter("period", str, required=True, description="YYYY-MM, or previous"),
    ],
    responses={
        (200, XLSX): OpenApiResponse(
            OpenApiTypes.BINARY,
            "the workbook: a sheet `Statements` (one row per account) and a sheet `Lines` "
            "(one row per statement line); amounts in CHF as numbers, hours in UTC",
        ),
        400: schema.BAD_PARAM,
        401: schema.UNAUTHENTICATED,
        403: schema.REFUSED,
        404: OpenApiResponse(schema.ERROR, "the month has no period: no statements"),
    },
)
@api_view(["GET"])
def statements_workbook(request):
    """Every statement of a month and its lines, as one .xlsx file (finance only)."""
    access.require_finance(request.user)
    month = month_param(request.query_params, "period", required=True)
    period = period_to_read(month)
    if period is None:
        raise NotFound(f"{month:%Y-%m} has no period: no statements")
    return workbook_response(period)
