"""Calendar maths of the pages, as pure functions of an explicit `now` and time zone.

Billing periods are UTC months and the roll-up has UTC days (their maths: billing/utc.py);
pages label hours in the display zone, where a DST day has 23 or 25 hours.
"""

from datetime import UTC, date, datetime, timedelta, tzinfo

from billing.utc import month_bounds


def recent_days(now: datetime, count: int) -> tuple[date, date]:
    """The last `count` UTC days up to and including today's."""
    today = now.astimezone(UTC).date()
    return today - timedelta(days=count - 1), today


def month_days(month: date, now: datetime) -> tuple[date, date]:
    """The UTC days of a month, not beyond today's for the current month."""
    start, end = month_bounds(month)
    last = (end - timedelta(days=1)).date()
    return start.date(), min(last, max(start.date(), now.astimezone(UTC).date()))


def hour_label(hour: datetime, zone: tzinfo) -> str:
    """An hour as the display zone writes it: 29.03 03:00 (DST days skip or repeat hours)."""
    return hour.astimezone(zone).strftime("%d.%m %H:%M")


def lag(last_collected_end: datetime | None, now: datetime) -> timedelta | None:
    """How far collection is behind `now`: from the end of the last collected hour."""
    return None if last_collected_end is None else now - last_collected_end
