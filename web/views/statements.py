"""Statements per month, with lines, adjustments and per-job detail.

Finance sees every account's statements, an account member only those of their accounts (another
account's statement is a 404), ops none at all (403): they do not handle bills. The pages only
read: an open period's drafts as its writers left them (billing/ledger/drafts.py), with a notice
when they are older than what they are made of; a month without a period as it is (no
statements, its hours not collected so far), without creating one; a closed period's statements
as they were frozen. A lab member sees the hours not collected or flagged of the clusters of its
accounts only. A statement's content is billing/documents/content.py's, which its PDF shows
too; the PDF downloads for a closed month only (an open month's statement is a draft: 404).
"""

from datetime import date
from decimal import Decimal

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponse, HttpResponseNotFound
from django.shortcuts import render
from django.utils import timezone
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _

from billing.documents.content import missing_rows, receiver_type_name, statement_content
from billing.documents.pdf import DraftStatement, pdf_file_name, statement_pdf
from billing.ledger.coverage import only_clusters, uncollected_hours
from billing.ledger.drafts import drafts_are_current, period_to_read
from billing.utc import (
    FIRST_MONTH,
    LAST_MONTH,
    hour_ranges,
    month_bounds,
    next_month,
    previous_month,
)
from web import access
from web.forms import PeriodField


def require_statements(user):
    if not access.sees_statements(user):
        raise PermissionDenied(_("Statements are for finance and account members."))


def page_month(raw: str | None, today: date) -> date:
    """Return the first day of the month asked for (default: this month); a month that is
    not one, or out of range, is the PeriodField's ValidationError (the pages' one parser)."""
    return PeriodField(required=False).clean(raw) or today.replace(day=1)


@login_required
def statement_list(request):
    """The statements of one month (`?period=YYYY-MM`, default this month), as stored."""
    user = request.user
    require_statements(user)
    today = timezone.localdate()
    context = {"period_text": request.GET.get("period", "")}
    try:
        month = page_month(request.GET.get("period"), today)
    except ValidationError as e:
        context["error"] = " ".join(e.messages)
        return render(request, "web/statement_list.html", context, status=400)
    now = timezone.now()
    period = period_to_read(month)
    begun = month_bounds(month)[0] <= now
    statements = []
    if period is not None:
        statements = list(
            access.visible_statements(user).filter(period=period).order_by("account__name")
        )
    for s in statements:
        s.receiver_type_name = receiver_type_name(s.receiver_type)
    missing = []
    if begun and not (period and period.is_closed):
        # Read from the collected hours as they are: what the drafts will list.
        ranges = {c: hour_ranges(hs) for c, hs in uncollected_hours(month, now).items()}
        missing = missing_rows(only_clusters(ranges, access.visible_clusters(user)))
    context.update(
        month=month,
        period_text=f"{month:%Y-%m}",
        previous=f"{previous_month(month):%Y-%m}" if month > FIRST_MONTH else "",
        next=f"{next_month(month):%Y-%m}" if month < LAST_MONTH else "",
        is_current=month == today.replace(day=1),
        period=period,
        statements=statements,
        not_started=not begun,
        stale=begun and not drafts_are_current(month, period),
        missing=missing,
        show_total=access.is_finance(user),
        total=sum((s.total_chf for s in statements), Decimal(0)),
    )
    return render(request, "web/statement_list.html", context)


def visible_statement(user, pk: int):
    """The statement the user may read, or a 404 (another account's too: ids tell nothing)."""
    require_statements(user)
    s = access.visible_statements(user).filter(pk=pk).first()
    if s is None:
        raise Http404(_("No such statement."))
    return s


@login_required
def statement(request, pk: int):
    """One statement: header, usage lines, adjustments, per-job detail, hours missing or flagged."""
    user = request.user
    s = visible_statement(user, pk)
    content = statement_content(s, access.statement_clusters(user, s))
    context = {
        "content": content,
        "statement": s,
        "period": s.period,
        "receiver_type_name": content.receiver_type_name,
        "lines": content.lines,
        "adjustment_lines": content.adjustment_lines,
        "lines_total": sum((line.amount_chf for line in content.lines), Decimal(0)),
        "missing": content.missing,
        "flagged": content.flagged,
    }
    return render(request, "web/statement.html", context)


@login_required
def statement_pdf_download(request, pk: int):
    """The PDF of a closed month's statement; an open month's is a draft, with no PDF (404)."""
    s = visible_statement(request.user, pk)
    try:
        pdf = statement_pdf(s)
    except DraftStatement:
        message = _(
            "The statement of %(account)s for %(month)s is a draft: the month is not closed "
            "yet, and only a closed month's statement has a PDF."
        )
        return HttpResponseNotFound(
            message % {"account": s.account.name, "month": f"{s.period.month:%Y-%m}"},
            content_type="text/plain; charset=utf-8",
        )
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = content_disposition_header(True, pdf_file_name(s))
    return response
