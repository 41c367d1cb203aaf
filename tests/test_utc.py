"""Hour arithmetic of collection: pure functions of explicit times."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from billing.utc import default_window, floor_hour, hour_batches, hours_in, is_hour_aligned

ZURICH = ZoneInfo("Europe/Zurich")


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


def test_floor_hour_works_in_utc_whatever_the_zone_of_the_time():
    assert floor_hour(datetime(2026, 3, 2, 7, 30, tzinfo=ZURICH)) == utc(2026, 3, 2, 6)


def test_a_naive_time_is_refused():
    with pytest.raises(ValueError, match="time zone"):
        floor_hour(datetime(2026, 3, 2, 7))  # noqa: DTZ001


def test_hours_cross_month_end_and_leap_day():
    hours = hours_in(utc(2028, 2, 29, 22), utc(2028, 3, 1, 1))
    assert hours == [utc(2028, 2, 29, 22), utc(2028, 2, 29, 23), utc(2028, 3, 1, 0)]


def test_the_spring_dst_day_in_zurich_has_23_utc_hours():
    day = hours_in(datetime(2026, 3, 29, tzinfo=ZURICH), datetime(2026, 3, 30, tzinfo=ZURICH))
    assert len(day) == 23
    assert day[0] == utc(2026, 3, 28, 23)


def test_the_autumn_dst_day_in_zurich_has_25_utc_hours():
    day = hours_in(datetime(2026, 10, 25, tzinfo=ZURICH), datetime(2026, 10, 26, tzinfo=ZURICH))
    assert len(day) == 25


def test_an_empty_or_backward_window_has_no_hours():
    assert hours_in(utc(2026, 1, 1, 5), utc(2026, 1, 1, 5)) == []
    assert hours_in(utc(2026, 1, 1, 5), utc(2026, 1, 1, 4)) == []


def test_hour_alignment():
    assert is_hour_aligned(utc(2026, 1, 1, 5))
    assert not is_hour_aligned(utc(2026, 1, 1, 5, 0, 1))


def test_the_default_window_goes_on_after_the_last_collected_hour_and_stops_before_the_lag():
    now = utc(2026, 3, 2, 12, 7)
    window = default_window(utc(2026, 3, 2, 8), now, timedelta(minutes=10), timedelta(hours=24))
    assert window == (utc(2026, 3, 2, 9), utc(2026, 3, 2, 11))


def test_the_first_window_of_a_cluster_goes_back_the_configured_hours():
    now = utc(2026, 3, 2, 12, 20)
    window = default_window(None, now, timedelta(minutes=10), timedelta(hours=24))
    assert window == (utc(2026, 3, 1, 12), utc(2026, 3, 2, 12))


def test_the_default_window_is_empty_when_everything_is_collected():
    now = utc(2026, 3, 2, 12, 5)
    start, end = default_window(utc(2026, 3, 2, 11), now, timedelta(minutes=10), timedelta(1))
    assert start == end == utc(2026, 3, 2, 11)


def test_chunks_keep_order_and_bound_size():
    hours = hours_in(utc(2026, 1, 1), utc(2026, 1, 1, 5))
    assert [len(c) for c in hour_batches(hours, 2)] == [2, 2, 1]
    assert [h for c in hour_batches(hours, 2) for h in c] == hours
