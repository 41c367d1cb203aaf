"""Draft statements, kept current by whoever changes what they are made of, read as stored.

An open month's statements (drafts) are made of its usage rows, its collected and flagged
hours, its adjustments, the tariffs and the accounts' receivers and rate classes. Each
writer of those recomputes the open months' drafts right after its write, by an explicit
call:

- collection, after each run, the open months of its window (`refresh_open_drafts`, through
  billing.ledger.intake); the adjustments it records are among its writes;
- the tariff and account imports (billing/ledger/imports.py) and the admin's saves and
  deletions of tariffs, accounts, usage rows and collected hours (billing/admin.py), through
  `refresh_open_periods`;
- the close, one last time (billing/ledger/periods.py).

Explicit calls, not model signals: a signal fires once per row (an import of a hundred
tariffs would recompute every open month a hundred times), inside the writer's transaction,
and hides who computes. A refresh that meets usage no tariff prices leaves that month's
drafts as they were and says why; the write before it stands.

Pages and the API only read: `period_to_read` never creates a period, and
`drafts_are_current` tells, reading only, whether the stored drafts are older than what they
are made of (a refresh that could not price, or a change made behind the writers' back), so
that a page can say so.
"""

from datetime import date, datetime

from django.db.models import Max, Min, Q

from billing.ledger.statements import PricingError, refresh_statements
from billing.models import Adjustment, CollectedHour, HourlyUsage, Period, Tariff
from billing.utc import month_bounds, months_touching


def refresh_open_drafts(start: datetime, end: datetime, now: datetime) -> list[Period]:
    """Recompute the drafts of the open periods that [start, end) touches, and of those that
    bill adjustments of its hours (a closed month's hours collected again); return them.

    Raises PricingError when usage has no tariff (collection reports it as a warning).
    """
    late = Adjustment.objects.filter(source_hour__gte=start, source_hour__lt=end)
    touched = Q(month__in=months_touching(start, end)) | Q(pk__in=late.values("period_id"))
    refreshed = []
    for period in Period.objects.filter(touched, status=Period.Status.OPEN).order_by("month"):
        refresh_statements(period, now)
        refreshed.append(period)
    return refreshed


def refresh_open_periods(now: datetime, months: list[date] | None = None) -> list[str]:
    """Recompute the drafts of every open period, or of the open ones of `months` (made if
    new: a write may create a period); return why a month could not be priced.

    A month that cannot be priced keeps its drafts as they were; the others are recomputed.
    """
    periods = Period.objects.filter(status=Period.Status.OPEN)
    if months is not None:
        for month in months:
            Period.objects.get_or_create(month=month)
        periods = periods.filter(month__in=months)
    problems = []
    for period in periods.order_by("month"):
        try:
            refresh_statements(period, now)
        except PricingError as e:
            problems.append(f"draft statements of {period} not recomputed: {e}")
    return problems


def period_to_read(month: date) -> Period | None:
    """The month's period as stored; None if it has none (a read never creates one)."""
    return Period.objects.filter(month=month).first()


def drafts_are_current(month: date, period: Period | None) -> bool:
    """Whether the month's stored statements are computed from what they are made of now.

    Reads only. A closed month's statements are final. A month without statements is
    current when it has nothing to bill; otherwise the oldest draft must be younger than the
    last hour collected, adjustment recorded and tariff saved. (Receivers, rate classes and
    usage rows changed in the admin or the import leave no time behind: those writers
    refresh the drafts themselves.)
    """
    if period is not None and period.is_closed:
        return True
    start, end = month_bounds(month)
    computed = None
    if period is not None:
        computed = period.statements.aggregate(oldest=Min("computed_at"))["oldest"]
    if computed is None:
        used = HourlyUsage.objects.filter(hour__gte=start, hour__lt=end).exists()
        return not used and not (period is not None and period.adjustments.exists())
    changes = [
        CollectedHour.objects.filter(hour__gte=start, hour__lt=end).aggregate(
            t=Max("collected_at")
        ),
        period.adjustments.aggregate(t=Max("created_at")),
        Tariff.objects.aggregate(t=Max("changed_at")),
    ]
    return all(c["t"] is None or c["t"] <= computed for c in changes)
