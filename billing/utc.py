"""UTC hours, days and months: pure functions of explicit times, used by every part of billing.

Usage is collected per UTC hour [h, h + 1 h), rolled up per UTC day and billed per UTC
month. These functions align, split and name those spans; they never read the clock
themselves (a caller passes `now`), and they import nothing of the project.
"""

import calendar
import functools
import re
from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta

HOUR = timedelta(hours=1)
DAY = timedelta(days=1)
# `[0-9]`, not `\d`: Python's `\d` also matches Arabic-Indic and other Unicode digits.
MONTH_TEXT = re.compile(r"([0-9]{4})-([0-9]{2})")
# The times the project handles: a time or month parameter outside is refused (parse_month
# here, kubemon/params.py for times). Far enough on both sides for any bill; within what
# datetime holds, with room for the month after the last one.
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(2200, 1, 1, tzinfo=UTC)
FIRST_MONTH = EARLIEST.date()
LAST_MONTH = date(LATEST.year - 1, 12, 1)


class NotAMonth(ValueError):
    """A month parameter that is not YYYY-MM (or `previous`); the message says so."""


class MonthOutOfRange(NotAMonth):
    """A month written YYYY-MM, but before FIRST_MONTH or after LAST_MONTH."""


def require_aware(t: datetime, name: str) -> datetime:
    if t.tzinfo is None or t.utcoffset() is None:
        raise ValueError(f"{name} must carry a time zone, got {t.isoformat()}")
    return t.astimezone(UTC)


def floor_hour(t: datetime) -> datetime:
    """Return the start of the UTC hour that contains `t`."""
    t = require_aware(t, "time")
    return t.replace(minute=0, second=0, microsecond=0)


def is_hour_aligned(t: datetime) -> bool:
    return floor_hour(t) == require_aware(t, "time")


def hours_in(start: datetime, end: datetime) -> list[datetime]:
    """Return the starts of the whole UTC hours in [start, end)."""
    start, end = floor_hour(start), floor_hour(end)
    count = max(0, int((end - start) / HOUR))
    return [start + i * HOUR for i in range(count)]


@functools.lru_cache(maxsize=4096)  # a few evaluation times for many points
def hour_of(ts: float) -> datetime:
    """Return the hour whose last millisecond is the evaluation time `ts` (unix seconds)."""
    return datetime.fromtimestamp(round(ts + 0.001) - 3600, UTC)


def default_window(
    last_collected: datetime | None, now: datetime, lag: timedelta, first: timedelta
) -> tuple[datetime, datetime]:
    """Return the window a plain `collect_usage` run collects.

    It starts after the last fully collected hour (or `first` before now on the first
    run) and ends at the last hour boundary that lies at least `lag` before `now`, so
    that late scrapes have arrived.
    """
    end = floor_hour(now - lag)
    start = last_collected + HOUR if last_collected else floor_hour(now - first)
    return min(start, end), end


def hour_batches(hours: list[datetime], size: int) -> Iterator[list[datetime]]:
    """Split consecutive hours into runs of at most `size` hours."""
    for i in range(0, len(hours), size):
        yield hours[i : i + size]


def hour_ranges(hours: list[datetime]) -> list[list[str]]:
    """Compress sorted hours into [start, end) ranges of ISO times."""
    ranges: list[list[datetime]] = []
    for h in hours:
        if ranges and ranges[-1][1] == h:
            ranges[-1][1] = h + HOUR
        else:
            ranges.append([h, h + HOUR])
    return [[a.isoformat(), b.isoformat()] for a, b in ranges]


def day_bounds(day: date) -> tuple[datetime, datetime]:
    """Return [start, end) of a UTC day."""
    start = datetime.combine(day, time(), tzinfo=UTC)
    return start, start + DAY


def days_of(hours: list[datetime]) -> list[date]:
    """Return the sorted UTC days the hours fall in."""
    return sorted({h.astimezone(UTC).date() for h in hours})


def day_stretches(days: list[date]) -> list[tuple[date, date]]:
    """Group sorted days into [start, end) stretches of consecutive days."""
    out: list[tuple[date, date]] = []
    for day in days:
        if out and out[-1][1] == day:
            out[-1] = (out[-1][0], day + DAY)
        else:
            out.append((day, day + DAY))
    return out


def month_of(t: datetime) -> date:
    """Return the first day of the UTC month that holds `t`."""
    return require_aware(t, "time").date().replace(day=1)


def month_bounds(month: date) -> tuple[datetime, datetime]:
    """Return [start, end) of a month in UTC."""
    start = datetime(month.year, month.month, 1, tzinfo=UTC)
    end = datetime(month.year + month.month // 12, month.month % 12 + 1, 1, tzinfo=UTC)
    return start, end


def next_month(month: date) -> date:
    return date(month.year + month.month // 12, month.month % 12 + 1, 1)


def previous_month(month: date) -> date:
    return (month.replace(day=1) - timedelta(days=1)).replace(day=1)


def months_touching(start: datetime, end: datetime) -> list[date]:
    """Return the first days of the months that [start, end) touches."""
    months, month = [], month_of(start)
    while month_bounds(month)[0] < end:
        months.append(month)
        month = next_month(month)
    return months


def month_splits(start: date, stop: date) -> list[tuple[date, date]]:
    """Split the days [start, stop) at month starts."""
    out = []
    while start < stop:
        end = min(next_month(start), stop)
        out.append((start, end))
        start = end
    return out


def hours_in_month(t: datetime) -> int:
    """Return how many hours the calendar month of `t` has (storage is prorated by them)."""
    return calendar.monthrange(t.year, t.month)[1] * 24


def parse_month(text: str, now: datetime) -> date:
    """Return the first day of `YYYY-MM`, or of the month before `now` for `previous`.

    The one parser of a month parameter, for the commands, the pages and the API: a month
    outside FIRST_MONTH to LAST_MONTH is refused (MonthOutOfRange) before any date is made,
    so that year 0, or 9999-12 whose end no datetime holds, is an answer, not a crash.
    """
    if text == "previous":
        return previous_month(month_of(now))
    m = MONTH_TEXT.fullmatch(text or "")
    if not m or not 1 <= int(m[2]) <= 12:
        raise NotAMonth(f"period: {text!r} is not a month; use YYYY-MM (or previous)")
    # FIRST_MONTH is a January and LAST_MONTH a December: the year decides.
    if not FIRST_MONTH.year <= int(m[1]) <= LAST_MONTH.year:
        raise MonthOutOfRange(
            f"period: {text!r} is outside the months billed here; "
            f"use one from {FIRST_MONTH:%Y-%m} to {LAST_MONTH:%Y-%m}"
        )
    return date(int(m[1]), int(m[2]), 1)
