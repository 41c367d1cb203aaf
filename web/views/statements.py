"""Statements per month, with lines, adjustments and per-job detail.

Finance sees every account's statements, an account member only those of their accounts (another
account's statement is a 404), ops none at all (403): they do not handle bills. The pages only
read: an open period's drafts as its writers left them (billing/ledger/drafts.py), with a notice
when they are older than what they are made of; a month without a period as it is (no
statements, its hours not collected so far), without creating one; a closed period's statements
as they were frozen. A lab member sees the hours not collected or flagged of the clusters of its
accounts only.
"""

from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Prefetch
from django.http import Http404
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from billing.ledger.coverage import uncollected_hours
from billing.ledger.drafts import drafts_are_current, period_to_read
from billing.models import StatementJob, StatementLine
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


def require_statements(user):
    if not access.sees_statements(user):
        raise PermissionDenied(_("Statements are for finance and account members."))


def receiver_type_name(kind: str) -> str:
    return str(RECEIVER_TYPES.get(kind, kind or "–"))


def resource_name(resource: str) -> str:
    return str(RESOURCE_NAMES.get(resource, resource))


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
        missing = missing_rows(access.only_clusters(ranges, access.visible_clusters(user)))
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
    clusters = access.statement_clusters(user, s)
    usage = [line for line in lines if line.kind == StatementLine.Kind.USAGE]
    adjustments = [line for line in lines if line.kind == StatementLine.Kind.ADJUSTMENT]
    context = {
        "statement": s,
        "period": s.period,
        "receiver_type_name": receiver_type_name(s.receiver_type),
        "lines": usage + adjustments,
        "adjustment_lines": adjustments,
        "lines_total": sum((line.amount_chf for line in lines), Decimal(0)),
        "missing": missing_rows(access.only_clusters(s.missing_hours or {}, clusters)),
        "flagged": flagged_rows(access.only_clusters(s.flagged_hours or {}, clusters)),
    }
    return render(request, "web/statement.html", context)
