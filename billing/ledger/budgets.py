"""Budgets: an account's month-to-date cost, its month-end forecast and how much of its
monthly budget it has used.

Month-to-date is priced as the pages price usage (billing/ledger/costs.py): the month's
daily roll-up per stretch of constant tariffs, each stretch rounded as a statement line,
so it equals the account's statement when tariffs change at midnight UTC. Not the draft
statement: drafts are refreshed by their writers and may lag (a refresh that could not
price), while the forecast needs the usage of the last hours anyway; one source for both.

The forecast adds to the month-to-date the rate of the last RATE_HOURS collected hours
(their cost over their count, across the month start if needed) times the hours from the
end of the collected data to the month's end. The maths are pure functions of an explicit
`now` (`forecast`, `rate_window`, `used`); the database is read by `budgets` alone, in a
fixed number of queries whatever the number of accounts. It reads only.
"""

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.db.models import Case, IntegerField, Value, When

from billing.ledger.costs import (
    chf,
    cost_at,
    daily_cost_sums,
    hourly_cost_sums,
    priced,
    tariff_segments,
)
from billing.ledger.pricing import Tariffs, every_tariff
from billing.models import Account, CollectedHour, DailyUsage, HourlyUsage
from billing.resources import RESOURCES
from billing.utc import HOUR, day_bounds, month_bounds, month_of

# The forecast's rate: the cost of the last 7 × 24 collected hours, per hour.
RATE_HOURS = 7 * 24
WARNING = Decimal("0.8")
ZERO = Decimal("0.00")
RATIO_STEP = Decimal("0.0001")


@dataclass(frozen=True)
class Budget:
    """An account's figures of the month of `now`: budget, month-to-date, forecast (CHF)."""

    budget_chf: Decimal | None
    month_to_date_chf: Decimal
    forecast_chf: Decimal

    @property
    def used(self) -> Decimal | None:
        return used(self.month_to_date_chf, self.budget_chf)

    @property
    def forecast_used(self) -> Decimal | None:
        return used(self.forecast_chf, self.budget_chf)

    @property
    def passed(self) -> list[str]:
        """The thresholds passed, as BudgetAlert.Threshold values: 80, 100, forecast."""
        return passed_thresholds(self.month_to_date_chf, self.forecast_chf, self.budget_chf)


def used(cost: Decimal, budget: Decimal | None) -> Decimal | None:
    """The share of the budget `cost` is (1 = all of it), to 0.0001; None without a budget."""
    if not budget:
        return None
    return (cost / budget).quantize(RATIO_STEP)


def passed_thresholds(month_to_date: Decimal, forecast: Decimal, budget: Decimal | None):
    """80 when the month-to-date reaches 80 % of the budget, 100 when it reaches the budget,
    forecast when the month-end forecast is above it."""
    if not budget:
        return []
    passed = []
    if month_to_date >= WARNING * budget:
        passed.append("80")
    if month_to_date >= budget:
        passed.append("100")
    if forecast > budget:
        passed.append("forecast")
    return passed


def rate_window(latest_hours: list[datetime]) -> tuple[datetime, datetime, int] | None:
    """[start, end) and count of the collected hours the rate is taken over.

    `latest_hours`: the distinct collected hours, newest first, at most RATE_HOURS of them;
    fewer when collection began less than 7 days ago. Hours not collected inside the
    window (a gap) are not counted in the duration. None when nothing was collected.
    """
    if not latest_hours:
        return None
    return min(latest_hours), max(latest_hours) + HOUR, len(latest_hours)


def forecast(
    month_to_date: Decimal,
    recent_cost: Decimal,
    window: tuple[datetime, datetime, int] | None,
    now: datetime,
) -> Decimal:
    """The month-end cost: month-to-date + the recent rate × the hours left to the month's end.

    The hours left run from the end of the collected data (the month's start when that is
    earlier, as on the 1st) to the month's end: the hours between the data's end and `now`
    are not in the month-to-date yet. Without collected data the forecast is the
    month-to-date.
    """
    if window is None:
        return chf(month_to_date)
    _start, data_end, hours = window
    month_start, month_end = month_bounds(month_of(now))
    left = (month_end - min(max(data_end, month_start), month_end)) / HOUR
    return chf(month_to_date + recent_cost / hours * Decimal(left))


def account_tariffs(accounts) -> dict[int, Tariffs]:
    """The tariffs that price each account (its rate class's), read once for all of them."""
    every = every_tariff()
    return {a.pk: every.for_class(a.rate_class) for a in accounts}


def budgets(accounts: list[Account], now: datetime) -> dict[int, Budget]:
    """The figures of each account for the month of `now`, in four queries.

    `accounts` must be a list (evaluated once); their budget may be None (no budget: only
    month-to-date and forecast are meaningful).
    """
    if not accounts:
        return {}
    tariffs = account_tariffs(accounts)
    ids = [a.pk for a in accounts]
    to_date = month_to_date(ids, month_of(now), tariffs)
    window = rate_window(latest_collected_hours(now))
    recent = recent_costs(ids, window, tariffs) if window else {}
    return {
        a.pk: Budget(
            a.budget_chf,
            to_date.get(a.pk, ZERO),
            forecast(to_date.get(a.pk, ZERO), recent.get(a.pk, ZERO), window, now),
        )
        for a in accounts
    }


def latest_collected_hours(now: datetime) -> list[datetime]:
    """The last RATE_HOURS distinct hours collected (on any cluster) that ended by `now`."""
    hours = (
        CollectedHour.objects.filter(hour__lte=now - HOUR)
        .values_list("hour", flat=True)
        .distinct()
        .order_by("-hour")
    )
    return list(hours[:RATE_HOURS])


def month_to_date(ids: list[int], month, tariffs: dict[int, Tariffs]) -> dict[int, Decimal]:
    """Each account's month so far: its days summed per stretch of constant tariffs (a day
    at the tariffs in force when it began), each stretch priced as a statement line."""
    start, end = month_bounds(month)
    rows = (
        DailyUsage.objects.filter(account_id__in=ids, day__gte=start.date(), day__lt=end.date())
        .values("account_id", "day")
        .annotate(**daily_cost_sums())
        .order_by()
    )
    stretches: dict[tuple, dict] = {}
    for row in rows:
        account_tariff = tariffs[row["account_id"]]
        day_start = day_bounds(row["day"])[0]
        key = (row["account_id"], *(account_tariff.at(r, day_start) for r in RESOURCES))
        stretch = stretches.setdefault(key, {"at": day_start})
        stretch["at"] = min(stretch["at"], day_start)
        for field, value in row.items():
            if field not in ("account_id", "day"):
                stretch[field] = stretch.get(field, 0.0) + (value or 0.0)
    costs: dict[int, Decimal] = defaultdict(lambda: ZERO)
    for (account_id, *_), sums in stretches.items():
        lines = priced(sums, sums["at"], tariffs[account_id])
        costs[account_id] += sum((cost for _, cost in lines.values()), ZERO)
    return dict(costs)


def recent_costs(ids: list[int], window, tariffs: dict[int, Tariffs]) -> dict[int, Decimal]:
    """Each account's cost over the window's hours, unrounded (a rate, not a bill).

    One query grouped by stretch where no tariff of any account changes and no month
    starts, so each stretch has one price per resource for every account.
    """
    start, end, _hours = window
    segments = common_segments(start, end, tariffs.values())
    segment = Case(
        *(When(hour__lt=seg_end, then=Value(i)) for i, (_, seg_end) in enumerate(segments)),
        output_field=IntegerField(),
    )
    rows = (
        HourlyUsage.objects.filter(account_id__in=ids, hour__gte=start, hour__lt=end)
        .values("account_id", segment=segment)
        .annotate(**hourly_cost_sums())
        .order_by()
    )
    costs: dict[int, Decimal] = defaultdict(lambda: ZERO)
    for row in rows:
        at = segments[row["segment"]][0]
        costs[row["account_id"]] += sum(cost_at(row, at, tariffs[row["account_id"]]).values(), ZERO)
    return dict(costs)


def common_segments(start: datetime, end: datetime, schedules) -> list[tuple]:
    """[start, end) split wherever any of the accounts' tariffs changes or a month starts."""
    distinct = {id(schedule): schedule for schedule in schedules}.values()
    edges = sorted(
        {edge for ts in distinct for seg in tariff_segments(start, end, ts) for edge in seg}
    )
    return list(zip(edges, edges[1:], strict=False))
