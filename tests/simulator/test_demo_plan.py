"""What history the demo loads: the end of the previous month and the month to date."""

from datetime import UTC, datetime, timedelta

from simulator.demo.plan import by_day, ceil_hour, plan, subtract


def t(day, hour=0, minute=0, month=11, year=2026):
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def test_the_app_is_served_after_the_previous_months_end_and_the_last_hours_are_loaded():
    p = plan(t(30, 5, 4) + timedelta(seconds=17), 60, previous_hours=12, recent_hours=4)
    assert p.previous == (t(31, 12, month=10), t(1))
    assert p.foreground == [p.previous, (t(30, 1), t(30, 5, 4))]
    assert p.end == t(30, 5, 4)


def test_the_rest_of_the_month_loads_in_the_background_newest_day_first():
    p = plan(t(3, 5, 4), 60, previous_hours=12, recent_hours=4)
    assert p.background == [(t(3), t(3, 1)), (t(2), t(3)), (t(1), t(2))]


def test_a_whole_month_to_date_leaves_no_hour_out():
    p = plan(t(30, 5, 4), 60, previous_hours=12, recent_hours=4)
    loaded = sorted([*p.foreground, *p.background])
    assert loaded[0][0] == t(31, 12, month=10) and loaded[-1][1] == p.end
    assert all(a[1] == b[0] for a, b in zip(loaded, loaded[1:], strict=False))
    assert len(p.background) == 30


def test_on_the_first_of_the_month_the_previous_month_is_its_last_hours():
    p = plan(t(1, 0, 30), 30, previous_hours=6, recent_hours=4)
    assert p.foreground == [(t(31, 18, month=10), t(1)), (t(1), t(1, 0, 30))]
    assert p.background == []


def test_the_previous_month_of_a_leap_march_ends_on_february_29():
    p = plan(datetime(2028, 3, 1, 2, tzinfo=UTC), 60, previous_hours=24, recent_hours=1)
    assert p.previous == (datetime(2028, 2, 29, tzinfo=UTC), datetime(2028, 3, 1, tzinfo=UTC))


def test_a_second_run_loads_only_what_prometheus_does_not_hold_yet():
    first = plan(t(30, 5, 4), 60, previous_hours=12, recent_hours=4)
    covered = [(first.previous[0], t(30, 5, 10))]  # loaded, then scraped live until 05:10
    second = plan(t(30, 9, 30), 60, previous_hours=12, recent_hours=4, covered=covered)
    assert second.foreground == [(t(30, 5, 10), t(30, 9, 30))]
    assert second.background == []


def test_the_current_month_can_be_limited_to_a_few_hours():
    p = plan(t(30, 5, 4), 60, previous_hours=2, recent_hours=1, current_hours=3)
    assert p.foreground == [(t(31, 22, month=10), t(1)), (t(30, 4), t(30, 5, 4))]
    assert p.background == [(t(30, 2), t(30, 4))]


def test_the_history_ends_on_the_scrape_grid():
    p = plan(t(30, 5, 4) + timedelta(seconds=47), 30, previous_hours=1, recent_hours=1)
    assert p.end == t(30, 5, 4) + timedelta(seconds=30)


def test_subtracting_cuts_spans_around_what_is_covered():
    spans = [(t(1), t(5))]
    assert subtract(spans, [(t(2), t(3))]) == [(t(1), t(2)), (t(3), t(5))]
    assert subtract(spans, [(t(1), t(6))]) == []
    assert subtract(spans, []) == spans


def test_spans_are_cut_at_midnight_and_hours_round_up():
    assert by_day((t(1, 12), t(2, 6))) == [(t(2), t(2, 6)), (t(1, 12), t(2))]
    assert ceil_hour(t(1, 5, 1)) == t(1, 6) and ceil_hour(t(1, 5)) == t(1, 5)
