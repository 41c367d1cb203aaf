"""A month's statements as an Excel workbook (billing/documents/workbook.py), for finance.

Linked from the statements page of the month. It reads only: an open month's drafts as
stored, no period created for a month without one (a 404 that says so); a month that is
not one is the statements page's 400.
"""

from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import render
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _

from billing.documents.workbook import statements_workbook
from billing.ledger.drafts import period_to_read
from web import access
from web.forms import PeriodField

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def workbook_response(period) -> HttpResponse:
    """The workbook as an attachment named for its month (the page's and the API's)."""
    answer = HttpResponse(statements_workbook(period), content_type=XLSX)
    name = f"statements-{period.month:%Y-%m}.xlsx"
    answer["Content-Disposition"] = content_disposition_header(True, name)
    return answer


@login_required
def statements_workbook_download(request, month: str):
    """statements/<YYYY-MM>.xlsx: every statement of the month and its lines."""
    access.require_finance(request.user)
    try:
        first_day = PeriodField().clean(month)
    except ValidationError as e:
        return refused(request, month, " ".join(e.messages), 400)
    period = period_to_read(first_day)
    if period is None:
        message = _("%(month)s has no statements: nothing was billed in it yet.")
        return refused(request, month, message % {"month": month}, 404)
    return workbook_response(period)


def refused(request, month: str, error: str, status: int) -> HttpResponse:
    """The statements page with why there is no workbook to download."""
    context = {"error": error, "period_text": month}
    return render(request, "web/statement_list.html", context, status=status)
