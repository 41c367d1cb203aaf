"""Hour arithmetic for collection: pure functions of explicit times, all in UTC.

Usage is collected per UTC hour [h, h + 1 h). These functions align, split and choose
windows; they never read the clock themselves.
"""

import functools
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

HOUR = timedelta(hours=1)


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


def chunks(hours: list[datetime], size: int) -> Iterator[list[datetime]]:
    """Split consecutive hours into runs of at most `size` hours."""
    for i in range(0, len(hours), size):
        yield hours[i : i + size]
