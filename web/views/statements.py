"""Statements per month, with lines, adjustments and per-job detail.

Finance sees every account's statements, an account member only those of their accounts (another
account's statement is a 404), ops none at all (403): they do not handle bills. Statements of an
open period are drafts, recomputed after each collection and, when the period's list is shown,
if out of date (billing.ledger.statements.period_to_read); a closed period's statements are
shown as they were frozen.
"""

from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import Prefetch
from django.http import Http404
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from billing.ledger.statements import PricingError, period_to_read
from billing.models import StatementJob, StatementLine
from billing.utc import NotAMonth, month_bounds, next_month, parse_month, previous_month
from web import access

RECEIVER_TYPES = {
    "cctr": gettext_lazy("Cost centre"),
    "order": gettext_lazy("Internal order"),
    "wbs": gettext_lazy("WBS element (EOTP)"),
}
RESOURCE_NAMES = {
    "cpu": gettext_lazy("CPU"),
    "memory": gettext_lazy("Memory"),
    "gpu": gettext_lazy("GPU"),
    "gpu_memory": gettext_lazy("GPU memory"),
    "storage": gettext_lazy("Storage"),
    "network_rx": gettext_lazy("Network received"),
    "network_tx": gettext_lazy("Network sent"),
}
SHOWN_STEP = Decimal("0.001")
# Months the pages accept: parse_month takes any four-digit year, month_bounds needs a next one.
FIRST_YEAR, LAST_YEAR = 2000, 9998


def require_statements(user):
    if not access.sees_statements(user):
        raise PermissionDenied(_("Statements are for finance and account members."))


def receiver_type_name(kind: str) -> str:
    return str(RECEIVER_TYPES.get(kind, kind or "–"))


def resource_name(resource: str) -> str:
    return str(RESOURCE_NAMES.get(resource, resource))


def page_month(raw: str | None, today: date) -> date:
    """Return the first day of the month asked for (default: this month), or NotAMonth."""
    if raw is None or raw == "":
        return today.replace(day=1)
    month = parse_month(raw.strip(), timezone.now())
    if not FIRST_YEAR <= month.year <= LAST_YEAR:
        raise NotAMonth(
            _("period: %(year)s is out of range; use a year from %(first)s to %(last)s")
            % {"year": month.year, "first": FIRST_YEAR, "last": LAST_YEAR}
        )
    return month


@login_required
def statement_list(request):
    """The statements of one month (`?period=YYYY-MM`, default this month)."""
    user = request.user
    require_statements(user)
    today = timezone.localdate()
    context = {"period_text": request.GET.get("period", "")}
    try:
        month = page_month(request.GET.get("period"), today)
    except ValueError as e:  # NotAMonth, or a date the calendar cannot hold
        context["error"] = str(e)
        return render(request, "web/statement_list.html", context, status=400)
    context.update(
        month=month,
        period_text=f"{month:%Y-%m}",
        previous=f"{previous_month(month):%Y-%m}",
        next=f"{next_month(month):%Y-%m}" if month.year < LAST_YEAR or month.month < 12 else "",
        is_current=month == today.replace(day=1),
    )
    now = timezone.now()
    try:
        period = period_to_read(month, now)
    except PricingError as e:
        context["error"] = _("The drafts of this month cannot be priced: %(reason)s") % {
            "reason": e
        }
        return render(request, "web/statement_list.html", context, status=409)
    statements = []
    if period is not None:
        statements = list(
            access.visible_statements(user).filter(period=period).order_by("account__name")
        )
    for s in statements:
        s.receiver_type_name = receiver_type_name(s.receiver_type)
    context.update(
        period=period,
        statements=statements,
        not_started=month_bounds(month)[0] > now,
        show_total=access.is_finance(user),
        total=sum((s.total_chf for s in statements), Decimal(0)),
    )
    return render(request, "web/statement_list.html", context)


def missing_rows(ranges: dict) -> list[dict]:
    """Turn {cluster: [[start, end], ...]} (ISO strings) into rows with datetimes."""
    rows = []
    for cluster, pairs in sorted(ranges.items()):
        for start, end in pairs:
            start, end = datetime.fromisoformat(start), datetime.fromisoformat(end)
            hours = int((end - start).total_seconds()) // 3600
            rows.append({"cluster": cluster, "start": start, "end": end, "hours": hours})
    return rows


def flagged_rows(flagged: dict) -> list[dict]:
    """Turn {cluster: [{hour, reason}, ...]} into rows with datetimes."""
    return [
        {"cluster": cluster, "hour": datetime.fromisoformat(f["hour"]), "reason": f["reason"]}
        for cluster, hours in sorted(flagged.items())
        for f in hours
    ]


@login_required
def statement(request, pk: int):
    """One statement: header, usage lines, adjustments, per-job detail, hours missing or flagged."""
    user = request.user
    require_statements(user)
    s = access.visible_statements(user).filter(pk=pk).first()
    if s is None:
        raise Http404(_("No such statement."))
    jobs = StatementJob.objects.select_related("job__cluster").order_by(
        "job__namespace", "job__name", "job_id"
    )
    lines = list(
        s.lines.order_by("kind", "resource", "first_hour").prefetch_related(
            Prefetch("jobs", queryset=jobs)
        )
    )
    for line in lines:
        line.job_rows = list(line.jobs.all())
        for detail in line.job_rows:
            # Rounded half-up here: the amount filter cuts decimals off rather than rounding.
            detail.quantity_shown = detail.quantity.quantize(SHOWN_STEP, ROUND_HALF_UP)
        line.resource_name = resource_name(line.resource)
        line.kind_name = (
            _("Adjustment") if line.kind == StatementLine.Kind.ADJUSTMENT else _("Usage")
        )
    usage = [line for line in lines if line.kind == StatementLine.Kind.USAGE]
    adjustments = [line for line in lines if line.kind == StatementLine.Kind.ADJUSTMENT]
    context = {
        "statement": s,
        "period": s.period,
        "receiver_type_name": receiver_type_name(s.receiver_type),
        "lines": usage + adjustments,
        "adjustment_lines": adjustments,
        "lines_total": sum((line.amount_chf for line in lines), Decimal(0)),
        "missing": missing_rows(s.missing_hours or {}),
        "flagged": flagged_rows(s.flagged_hours or {}),
    }
    return render(request, "web/statement.html", context)
