"""Which stretches of simulated history the demo loads, and in which order.

Pure functions of an explicit `now` (UTC). The demo wants the end of the previous month (so
that it can close and export a month) and the current month to date. What it loaded before
(recorded in var/demo/state.json) is not loaded again. The stretch the pages need first, the
end of the previous month and the last hours, is loaded before the app is served; the rest
of the current month loads in the background, newest day first.
"""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

HOUR = timedelta(hours=1)
DAY = timedelta(days=1)

Span = tuple[datetime, datetime]


@dataclass(frozen=True)
class Plan:
    previous: Span  # the end of the previous month, to be closed and exported
    foreground: list[Span]  # loaded before the app is served
    background: list[Span]  # loaded afterwards, newest first
    end: datetime  # the last scrape slot of the history; live scrapes take over from there


def month_start(at: datetime) -> datetime:
    return at.astimezone(UTC).replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def floor_hour(at: datetime) -> datetime:
    return at.replace(minute=0, second=0, microsecond=0)


def ceil_hour(at: datetime) -> datetime:
    down = floor_hour(at)
    return down if down == at else down + HOUR


def last_slot(now: datetime, scrape_interval: int) -> datetime:
    """The last scrape time at or before `now` on the simulator's grid."""
    seconds = int(now.timestamp()) // scrape_interval * scrape_interval
    return datetime.fromtimestamp(seconds, UTC)


def subtract(spans: list[Span], covered: list[Span]) -> list[Span]:
    """Return the parts of `spans` that no span of `covered` contains, in order."""
    out = []
    for start, end in spans:
        pieces = [(start, end)]
        for c0, c1 in covered:
            pieces = [
                p for a, b in pieces for p in ((a, min(b, c0)), (max(a, c1), b)) if p[0] < p[1]
            ]
        out += pieces
    return out


def by_day(span: Span) -> list[Span]:
    """Cut a span at UTC midnights, newest piece first."""
    start, end = span
    pieces = []
    while start < end:
        cut = min(end, start.replace(hour=0, minute=0, second=0, microsecond=0) + DAY)
        pieces.append((start, cut))
        start = cut
    return pieces[::-1]


def plan(
    now: datetime,
    scrape_interval: int,
    previous_hours: int,
    recent_hours: int,
    current_hours: int | None = None,
    covered: list[Span] = (),
) -> Plan:
    """Return what to load: `previous_hours` before the month, the month to date.

    `current_hours` limits the current month's part to that many hours before now (a short
    demo, as the tests run it); `recent_hours` of it are loaded in the foreground.
    """
    end = last_slot(now, scrape_interval)
    month = month_start(end)
    previous = (month - previous_hours * HOUR, month)
    current_start = (
        month if current_hours is None else max(month, floor_hour(end) - current_hours * HOUR)
    )
    recent_start = max(current_start, floor_hour(end) - recent_hours * HOUR)
    foreground = subtract([previous, (recent_start, end)], list(covered))
    older = subtract([(current_start, recent_start)], list(covered))
    background = [piece for span in reversed(older) for piece in by_day(span)]
    return Plan(previous, foreground, background, end)
