"""The calendar maths of the pages (web/dates.py, web/reports.py day_segments), pure."""

import zoneinfo
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from billing.ledger.costs import tariff_segments
from billing.ledger.pricing import Tariffs
from billing.models import Tariff
from billing.utc import month_of, previous_month
from web import dates
from web.reports import day_segments

ZURICH = zoneinfo.ZoneInfo("Europe/Zurich")


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


def test_the_current_month_is_the_utc_month_even_past_midnight_in_zurich():
    # 00:30 on 1 November in Zurich is still October in UTC, the billing months' zone.
    assert month_of(utc(2026, 10, 31, 23, 30)) == date(2026, 10, 1)
    assert month_of(datetime(2026, 11, 1, 0, 30, tzinfo=ZURICH)) == date(2026, 10, 1)
    assert month_of(utc(2026, 11, 1, 0, 0)) == date(2026, 11, 1)


def test_the_month_before_january_is_december_of_the_year_before():
    assert previous_month(date(2027, 1, 1)) == date(2026, 12, 1)
    assert previous_month(date(2028, 3, 1)) == date(2028, 2, 1)


def test_recent_days_end_today_in_utc():
    assert dates.recent_days(utc(2028, 3, 1, 0, 5), 3) == (date(2028, 2, 28), date(2028, 3, 1))
    assert dates.recent_days(utc(2026, 1, 1, 12), 1) == (date(2026, 1, 1), date(2026, 1, 1))


def test_month_days_of_a_leap_february_and_of_the_month_still_running():
    now = utc(2028, 6, 15, 10)
    assert dates.month_days(date(2028, 2, 1), now) == (date(2028, 2, 1), date(2028, 2, 29))
    assert dates.month_days(date(2027, 2, 1), now) == (date(2027, 2, 1), date(2027, 2, 28))
    assert dates.month_days(date(2028, 6, 1), now) == (date(2028, 6, 1), date(2028, 6, 15))
    # A month not begun shows its first day only, never a negative range.
    assert dates.month_days(date(2028, 7, 1), now) == (date(2028, 7, 1), date(2028, 7, 1))


def test_hour_labels_skip_an_hour_when_zurich_springs_forward():
    hours = [utc(2026, 3, 29, 0) + timedelta(hours=i) for i in range(3)]
    labels = [dates.hour_label(h, ZURICH) for h in hours]
    assert labels == ["29.03 01:00", "29.03 03:00", "29.03 04:00"]


def test_hour_labels_repeat_an_hour_when_zurich_falls_back():
    hours = [utc(2026, 10, 25, 0) + timedelta(hours=i) for i in range(3)]
    labels = [dates.hour_label(h, ZURICH) for h in hours]
    assert labels == ["25.10 02:00", "25.10 02:00", "25.10 03:00"]


def test_lag_runs_from_the_end_of_the_last_collected_hour():
    assert dates.lag(utc(2026, 11, 29, 20), utc(2026, 11, 29, 21, 15)) == timedelta(minutes=75)
    assert dates.lag(None, utc(2026, 11, 29, 21)) is None


def tariffs(*starts: datetime) -> Tariffs:
    return Tariffs(
        Tariff(
            resource="cpu",
            unit="core-hour",
            price_chf=Decimal("0.05"),
            policy="usage",
            valid_from=start,
        )
        for start in starts
    )


def test_tariff_stretches_break_at_tariff_starts_and_month_starts():
    t = tariffs(utc(2026, 1, 1), utc(2026, 2, 10, 13))
    stretches = tariff_segments(utc(2026, 1, 20), utc(2026, 3, 5), t)
    assert stretches == [
        (utc(2026, 1, 20), utc(2026, 2, 1)),
        (utc(2026, 2, 1), utc(2026, 2, 10, 13)),
        (utc(2026, 2, 10, 13), utc(2026, 3, 1)),
        (utc(2026, 3, 1), utc(2026, 3, 5)),
    ]


def test_day_stretches_start_a_mid_day_tariff_on_the_next_day():
    t = tariffs(utc(2026, 1, 1), utc(2026, 2, 10, 13))
    assert day_segments(date(2026, 2, 1), date(2026, 2, 28), t) == [
        (date(2026, 2, 1), date(2026, 2, 10)),
        (date(2026, 2, 11), date(2026, 2, 28)),
    ]
    assert day_segments(date(2028, 2, 20), date(2028, 3, 2), t) == [
        (date(2028, 2, 20), date(2028, 2, 29)),
        (date(2028, 3, 1), date(2028, 3, 2)),
    ]
