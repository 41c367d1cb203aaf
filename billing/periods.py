"""Billing periods: calendar months (UTC) that are open, then closed for good.

A closed month never changes. Collecting one of its hours again leaves its usage rows as
they were; what the new collection found beyond what was billed becomes adjustments,
billed in the next open period at the tariff of the hour they belong to.
"""

import re
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from billing.hours import HOUR, floor_hour
from billing.models import (
    QUANTITIES,
    Adjustment,
    Cluster,
    CollectedHour,
    HourlyUsage,
    Period,
    Tariff,
)
from billing.pricing import RESOURCES, Tariffs, raw_quantity, to_unit

MONTH = re.compile(r"(\d{4})-(\d{2})")
DETAIL_STEP = Decimal("0.000000001")


class PeriodError(Exception):
    """A period cannot be closed (or does not exist); the message says why."""


def parse_month(text: str, now: datetime | None = None) -> date:
    """Return the first day of `YYYY-MM`, or of the month before now for `previous`."""
    if text == "previous":
        first = floor_hour(now or timezone.now()).date().replace(day=1)
        return (first - timedelta(days=1)).replace(day=1)
    m = MONTH.fullmatch(text or "")
    if not m or not 1 <= int(m[2]) <= 12:
        raise PeriodError(f"period: {text!r} is not a month; use YYYY-MM (or previous)")
    return date(int(m[1]), int(m[2]), 1)


def month_bounds(month: date) -> tuple[datetime, datetime]:
    """Return [start, end) of a month in UTC."""
    start = datetime(month.year, month.month, 1, tzinfo=UTC)
    end = datetime(month.year + month.month // 12, month.month % 12 + 1, 1, tzinfo=UTC)
    return start, end


def next_month(month: date) -> date:
    return month_bounds(month)[1].date()


def lock_period_at(t: datetime) -> Period:
    """The period containing `t`, created open if new, locked until the transaction ends.

    A collection holds it while it writes an hour, and close_period while it closes, so
    an hour is never rewritten under a closing month.
    """
    period, _ = Period.objects.get_or_create(month=date(t.year, t.month, 1))
    return Period.objects.select_for_update().get(pk=period.pk)


def closed_period_at(t: datetime) -> Period | None:
    """Return the closed period that contains time `t`, if any."""
    return Period.objects.filter(
        status=Period.Status.CLOSED, month=date(t.year, t.month, 1)
    ).first()


def tariff_change_problem(tariff: Tariff) -> str:
    """Return why saving `tariff` would change a closed period's prices, or ''."""
    if tariff.pk and Tariff.objects.filter(
        pk=tariff.pk, lines__statement__period__status=Period.Status.CLOSED
    ):
        return "this tariff priced a closed period and can no longer change"
    later = (
        Tariff.objects.filter(resource=tariff.resource, valid_from__gt=tariff.valid_from)
        .exclude(pk=tariff.pk)
        .order_by("valid_from")
        .first()
    )
    for period in Period.objects.filter(status=Period.Status.CLOSED):
        start, end = month_bounds(period.month)
        if end > tariff.valid_from and (later is None or start < later.valid_from):
            return (
                f"valid_from: from {tariff.valid_from:%Y-%m-%d} until the next {tariff.resource} "
                f"tariff it would price closed period {period}"
            )
    return ""


def next_open_period(month: date) -> Period:
    """Return the first period after `month` that is still open, creating it if needed."""
    month = next_month(month)
    while True:
        period, _ = Period.objects.get_or_create(month=month)
        if not period.is_closed:
            return period
        month = next_month(month)


def hour_ranges(hours: list[datetime]) -> list[list[str]]:
    """Compress sorted hours into [start, end) ranges of ISO times."""
    ranges: list[list[datetime]] = []
    for h in hours:
        if ranges and ranges[-1][1] == h:
            ranges[-1][1] = h + HOUR
        else:
            ranges.append([h, h + HOUR])
    return [[a.isoformat(), b.isoformat()] for a, b in ranges]


def uncollected_hours(month: date, now: datetime) -> dict[str, list[datetime]]:
    """Return, per cluster, the hours of the month (up to now) that were never collected."""
    start, end = month_bounds(month)
    end = min(end, floor_hour(now))
    missing = {}
    for cluster in Cluster.objects.order_by("name"):
        collected = set(
            CollectedHour.objects.filter(
                cluster=cluster, hour__gte=start, hour__lt=end
            ).values_list("hour", flat=True)
        )
        hours = []
        h = start
        while h < end:
            if h not in collected:
                hours.append(h)
            h += HOUR
        if hours:
            missing[cluster.name] = hours
    return missing


def flagged_hours(month: date) -> dict[str, list[dict]]:
    """Return, per cluster, the collected hours of the month flagged for a data gap."""
    start, end = month_bounds(month)
    flagged: dict[str, list[dict]] = {}
    for ch in (
        CollectedHour.objects.filter(flagged=True, hour__gte=start, hour__lt=end)
        .select_related("cluster")
        .order_by("cluster__name", "hour")
    ):
        flagged.setdefault(ch.cluster.name, []).append(
            {"hour": ch.hour.isoformat(), "reason": ch.flag_reason}
        )
    return flagged


def describe_missing(missing: dict[str, list[datetime]]) -> str:
    return "; ".join(
        f"{cluster}: " + ", ".join(f"{a}–{b}" for a, b in hour_ranges(hours))
        for cluster, hours in missing.items()
    )


def close_period(month: date, force: bool, now: datetime) -> tuple[Period, bool]:
    """Close a month: compute its statements one last time and freeze them.

    Return (period, closed_now); closing a closed period changes nothing. A month that
    has not ended, or (without `force`) has hours not collected, is refused.
    """
    from billing.statements import refresh_statements

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


def billed(row: dict, tariff: Tariff, hour: datetime) -> Decimal:
    """Return what `tariff` bills for one job-hour row, in its unit, to the detail step."""
    raw = raw_quantity(tariff.resource, tariff.policy, row)
    return to_unit(tariff.resource, raw, hour).quantize(DETAIL_STEP)


def record_late_hour(cluster, hour, usage, labels, accounts, run) -> int:
    """Turn a new collection of an hour of a closed period into adjustments.

    The hour's usage rows stay untouched. For each job, account and resource, the
    difference between the new collection and what was billed (usage rows plus earlier
    adjustments) becomes an adjustment in the next open period. Return how many.
    """
    from billing.store import jobs_for

    period = closed_period_at(hour)
    tariffs = Tariffs(Tariff.objects.all())
    now = timezone.now()
    with transaction.atomic():
        target = next_open_period(period.month)
        jobs = jobs_for(cluster, hour, usage)
        new = {
            (jobs[key].pk, accounts.account(key[0], hour, labels.get(key[0])).pk): ju.quantities
            for key, ju in usage.items()
        }
        old = {
            (r["job_id"], r["account_id"]): r
            for r in HourlyUsage.objects.filter(job__cluster=cluster, hour=hour).values(
                "job_id", "account_id", *QUANTITIES
            )
        }
        earlier: dict[tuple, Decimal] = {}
        for a in Adjustment.objects.filter(source_hour=hour, job__cluster=cluster):
            key = (a.job_id, a.account_id, a.resource)
            earlier[key] = earlier.get(key, Decimal(0)) + a.quantity
        zero = dict.fromkeys(QUANTITIES, 0.0)
        adjustments = []
        for job_id, account_id in sorted(new.keys() | old.keys()):
            for resource in RESOURCES:
                tariff = tariffs.at(resource, hour)
                if tariff is None:
                    continue  # the closed statement billed nothing for it either
                was = billed(old.get((job_id, account_id), zero), tariff, hour)
                was += earlier.get((job_id, account_id, resource), Decimal(0))
                delta = billed(new.get((job_id, account_id), zero), tariff, hour) - was
                if delta:
                    adjustments.append(
                        Adjustment(
                            period=target,
                            source_hour=hour,
                            job_id=job_id,
                            account_id=account_id,
                            resource=resource,
                            tariff=tariff,
                            quantity=delta,
                            reason=f"late collection of {cluster} {hour:%Y-%m-%d %H:00}Z "
                            f"(closed period {period})",
                            run=run,
                            created_at=now,
                        )
                    )
        Adjustment.objects.bulk_create(adjustments)
        CollectedHour.objects.update_or_create(
            cluster=cluster, hour=hour, defaults={"run": run, "collected_at": now}
        )
    return len(adjustments)
