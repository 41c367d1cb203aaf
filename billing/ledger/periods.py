"""Billing periods: calendar months (UTC) that are open, then closed for good.

A closed month never changes. Collecting one of its hours again leaves its usage rows as
they were; what the new collection found beyond what was billed becomes adjustments,
billed in the next open period at the tariff of the hour they belong to
(billing/ledger/adjustments.py).
"""

from datetime import date, datetime

from django.db import transaction

from billing.ledger.coverage import describe_missing, uncollected_hours
from billing.ledger.statements import refresh_statements
from billing.models import Period
from billing.utc import month_bounds, month_of, next_month


class PeriodError(Exception):
    """A period cannot be closed (or does not exist); the message says why."""


def lock_period_at(t: datetime) -> Period:
    """The period containing `t`, created open if new, locked until the transaction ends.

    A collection holds it while it writes an hour, and close_period while it closes, so
    an hour is never rewritten under a closing month.
    """
    period, _ = Period.objects.get_or_create(month=month_of(t))
    return Period.objects.select_for_update().get(pk=period.pk)


def closed_period_at(t: datetime) -> Period | None:
    """Return the closed period that contains time `t`, if any."""
    return Period.objects.filter(status=Period.Status.CLOSED, month=month_of(t)).first()


def next_open_period(month: date) -> Period:
    """Return the first period after `month` that is still open, creating it if needed."""
    month = next_month(month)
    while True:
        period, _ = Period.objects.get_or_create(month=month)
        if not period.is_closed:
            return period
        month = next_month(month)


def close_period(month: date, force: bool, now: datetime) -> tuple[Period, bool]:
    """Close a month: compute its statements one last time and freeze them.

    Return (period, closed_now); closing a closed period changes nothing. A month that
    has not ended, or (without `force`) has hours not collected, is refused.
    """
    start, end = month_bounds(month)
    if end > now:
        raise PeriodError(f"period: {month:%Y-%m} has not ended yet (it ends {end.isoformat()})")
    with transaction.atomic():
        period, _ = Period.objects.get_or_create(month=month)
        period = Period.objects.select_for_update().get(pk=period.pk)
        if period.is_closed:
            return period, False
        missing = uncollected_hours(month, now)
        if missing and not force:
            raise PeriodError(
                f"period {month:%Y-%m} has hours not collected, {describe_missing(missing)}; "
                "collect them, or close with --force to bill without them"
            )
        refresh_statements(period, now)
        period.status = Period.Status.CLOSED
        period.closed_at = now
        period.forced = bool(missing)
        period.save()
    return period, True
