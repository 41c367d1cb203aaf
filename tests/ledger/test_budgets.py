"""Budgets (billing/ledger/budgets.py): the forecast's maths, the thresholds, and an account's
month-to-date and forecast read from the database."""

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from billing.collection import rollup
from billing.ledger.budgets import (
    Budget,
    budgets,
    common_segments,
    forecast,
    passed_thresholds,
    rate_window,
    used,
)
from billing.ledger.pricing import Tariffs
from billing.ledger.statements import refresh_statements
from billing.models import Period, Tariff
from tests.fixtures.billing_rows import (
    APRIL,
    MARCH,
    add_usage,
    collect_hours,
    core_hours,
    gib_hours,
    make_account,
    make_job,
    make_tariffs,
)

HOUR = timedelta(hours=1)


def window(start: datetime, hours: int):
    """The rate window of `hours` consecutive collected hours from `start`."""
    return rate_window([start + i * HOUR for i in reversed(range(hours))])


# -- the forecast's maths (pure) --------------------------------------------------------


def test_the_forecast_adds_the_last_7_days_rate_times_the_hours_left_in_the_month():
    # Collected up to 10 March 12:00; the last 168 hours cost 84 CHF: 0.50 CHF an hour.
    data_end = datetime(2026, 3, 10, 12, tzinfo=UTC)
    recent = window(data_end - 168 * HOUR, 168)
    assert recent == (data_end - 168 * HOUR, data_end, 168)
    now = datetime(2026, 3, 10, 12, 40, tzinfo=UTC)
    # 10 March 12:00 to 1 April 00:00: 21.5 days, 516 hours: 100 + 516 × 0.5.
    assert forecast(Decimal("100.00"), Decimal("84"), recent, now) == Decimal("358.00")


def test_the_hours_left_run_from_the_end_of_the_collected_data_not_from_now():
    # Collection is 5 hours behind `now`: those hours are not in the month-to-date yet.
    data_end = datetime(2026, 3, 31, 18, tzinfo=UTC)
    now = datetime(2026, 3, 31, 23, 10, tzinfo=UTC)
    recent = window(data_end - 168 * HOUR, 168)
    assert forecast(Decimal("10"), Decimal("168"), recent, now) == Decimal("16.00")


def test_fewer_collected_hours_give_the_rate_of_the_hours_there_are():
    # Collection began two days ago: 48 hours cost 24 CHF, 0.50 an hour, not 24 / 168.
    data_end = datetime(2026, 3, 3, tzinfo=UTC)
    recent = window(data_end - 48 * HOUR, 48)
    now = datetime(2026, 3, 3, 0, 30, tzinfo=UTC)
    # 3 March to 1 April: 29 days, 696 hours.
    assert forecast(Decimal("24"), Decimal("24"), recent, now) == Decimal("372.00")


def test_hours_missing_inside_the_window_do_not_dilute_the_rate():
    end = datetime(2026, 3, 20, tzinfo=UTC)
    hours = [end - i * HOUR for i in range(1, 169) if not 10 <= i < 34]  # a day not collected
    start, data_end, count = rate_window(hours)
    assert (data_end, count) == (end, 144)
    assert start == end - 168 * HOUR


def test_on_the_first_of_the_month_the_rate_comes_from_the_month_before():
    # Collected up to 1 April 00:00, the whole window in March; nothing in April yet.
    data_end = APRIL
    recent = window(APRIL - 168 * HOUR, 168)
    now = datetime(2026, 4, 1, 0, 40, tzinfo=UTC)
    # April has 720 hours at 0.25 an hour.
    assert forecast(Decimal(0), Decimal("42"), recent, now) == Decimal("180.00")
    assert recent[1] == data_end


def test_data_ending_before_the_month_counts_the_whole_month_as_left():
    # Collection stopped on 30 March; on 2 April nothing of April is collected yet.
    recent = window(datetime(2026, 3, 23, tzinfo=UTC), 168)
    now = datetime(2026, 4, 2, 9, tzinfo=UTC)
    assert forecast(Decimal(0), Decimal("168"), recent, now) == Decimal("720.00")


def test_without_collected_data_the_forecast_is_the_month_to_date():
    assert rate_window([]) is None
    now = datetime(2026, 3, 10, tzinfo=UTC)
    assert forecast(Decimal("12.5"), Decimal(0), None, now) == Decimal("12.50")


def test_the_forecast_is_rounded_half_up_to_the_cent():
    recent = window(datetime(2026, 3, 30, tzinfo=UTC), 3)  # data ends 30 March 03:00
    now = datetime(2026, 3, 30, 3, tzinfo=UTC)
    # 1/3 CHF an hour over 45 hours = 15; plus 0.005 rounds up.
    assert forecast(Decimal("0.005"), Decimal(1), recent, now) == Decimal("15.01")


def test_budget_use_is_month_to_date_over_the_budget_and_none_without_a_budget():
    assert used(Decimal("80"), Decimal("100")) == Decimal("0.8000")
    assert used(Decimal("1"), Decimal("3")) == Decimal("0.3333")
    assert used(Decimal("5"), None) is None


@pytest.mark.parametrize(
    "to_date, forecast_chf, passed",
    [
        ("79.99", "100.00", []),
        ("80.00", "99.99", ["80"]),
        ("99.99", "100.01", ["80", "forecast"]),
        ("100.00", "100.00", ["80", "100"]),
        ("150.00", "300.00", ["80", "100", "forecast"]),
    ],
)
def test_thresholds_80_and_100_are_reached_and_the_forecast_must_exceed(
    to_date, forecast_chf, passed
):
    assert passed_thresholds(Decimal(to_date), Decimal(forecast_chf), Decimal("100")) == passed
    budget = Budget(Decimal("100"), Decimal(to_date), Decimal(forecast_chf))
    assert budget.passed == passed


def test_an_account_without_a_budget_passes_no_threshold():
    assert Budget(None, Decimal("1000"), Decimal("5000")).passed == []


def test_the_rate_s_stretches_cut_wherever_any_account_s_tariffs_change_or_a_month_starts():
    # Two schedules (two rate classes, say): the second's cpu price changes on 5 March.
    def cpu(*starts):
        return Tariffs(
            Tariff(resource="cpu", unit="core-hour", price_chf=Decimal(1), valid_from=t)
            for t in starts
        )

    one, other = cpu(datetime(2026, 1, 1, tzinfo=UTC)), cpu(MARCH, datetime(2026, 3, 5, tzinfo=UTC))
    start, end = datetime(2026, 2, 26, tzinfo=UTC), datetime(2026, 3, 10, tzinfo=UTC)
    assert common_segments(start, end, [one, other, one]) == [
        (start, MARCH),
        (MARCH, datetime(2026, 3, 5, tzinfo=UTC)),
        (datetime(2026, 3, 5, tzinfo=UTC), end),
    ]


# -- read from the database ------------------------------------------------------------


def bill(month: datetime):
    """The month's draft statements, as collection leaves them."""
    period, _ = Period.objects.get_or_create(month=month.date())
    return {s.account_id: s for s in refresh_statements(period, timezone.now())}


def rolled_up(start: date, end: date):
    rollup.refresh_range(start, end)


@pytest.mark.django_db
def test_month_to_date_equals_the_statement_when_tariffs_change_at_midnight():
    make_tariffs()
    make_tariffs(datetime(2026, 3, 16, tzinfo=UTC), cpu="0.07", memory="0.004")
    account = make_account("lab-a", cost_center="10421", budget_chf=Decimal("500"))
    other = make_account("lab-b", cost_center="10422")
    jobs = [make_job("train"), make_job("infer"), make_job("sim", namespace="phys")]
    collect_hours(MARCH, datetime(2026, 3, 21, tzinfo=UTC))
    hour = MARCH
    for i in range(20 * 24):
        for j, job in enumerate(jobs):
            owner = other if j == 2 else account
            add_usage(job, owner, hour, **core_hours(0.37 + j / 7 + i % 5 / 3), **gib_hours(1.3))
        hour += HOUR
    rolled_up(MARCH.date(), date(2026, 3, 21))
    statements = bill(MARCH)
    now = datetime(2026, 3, 21, 0, 20, tzinfo=UTC)
    figures = budgets([account, other], now)
    assert figures[account.pk].month_to_date_chf == statements[account.pk].total_chf
    assert figures[other.pk].month_to_date_chf == statements[other.pk].total_chf
    assert statements[account.pk].lines.count() == 4  # two tariffs of cpu and of memory


@pytest.mark.django_db
def test_the_rate_spans_the_month_start_and_prices_each_hour_at_its_month():
    make_tariffs()
    account = make_account("lab-a", cost_center="10421", budget_chf=Decimal("100"))
    job = make_job()
    # Collected from 29 March 00:00 to 2 April 00:00: 96 hours, 2 core-hours each
    # (0.10 CHF), 72 of them in March.
    start, end = datetime(2026, 3, 29, tzinfo=UTC), datetime(2026, 4, 2, tzinfo=UTC)
    collect_hours(start, end)
    hour = start
    while hour < end:
        add_usage(job, account, hour, **core_hours(2))
        hour += HOUR
    rolled_up(start.date(), end.date())
    now = datetime(2026, 4, 2, 0, 30, tzinfo=UTC)
    budget = budgets([account], now)[account.pk]
    assert budget.month_to_date_chf == Decimal("2.40")  # April's 24 hours
    # 0.10 an hour over the 96 hours there are, for the 29 days left of April.
    assert budget.forecast_chf == Decimal("2.40") + Decimal("0.10") * 29 * 24
    assert budget.used == Decimal("0.0240")
    assert budget.forecast_used == Decimal("0.7200")


@pytest.mark.django_db
def test_the_rate_takes_only_the_last_168_collected_hours():
    make_tariffs()
    account = make_account()
    job = make_job()
    start, end = datetime(2026, 3, 1, tzinfo=UTC), datetime(2026, 3, 15, tzinfo=UTC)
    collect_hours(start, end)
    hour = start
    while hour < end:
        # 10 core-hours an hour in the first week, 1 in the second.
        add_usage(job, account, hour, **core_hours(10 if hour < start + 168 * HOUR else 1))
        hour += HOUR
    rolled_up(start.date(), end.date())
    budget = budgets([account], datetime(2026, 3, 15, 0, 30, tzinfo=UTC))[account.pk]
    assert budget.month_to_date_chf == Decimal("84.00") + Decimal("8.40")
    # 0.05 CHF an hour for the 17 days left.
    assert budget.forecast_chf == budget.month_to_date_chf + Decimal("0.05") * 17 * 24


@pytest.mark.django_db
def test_an_account_with_a_budget_and_no_usage_has_zero_and_no_alert():
    make_tariffs()
    account = make_account("lab-a", cost_center="10421", budget_chf=Decimal("50"))
    collect_hours(MARCH, datetime(2026, 3, 5, tzinfo=UTC))
    budget = budgets([account], datetime(2026, 3, 5, 1, tzinfo=UTC))[account.pk]
    assert budget == Budget(Decimal("50"), Decimal(0), Decimal("0.00"))
    assert budget.used == Decimal(0) and budget.passed == []


@pytest.mark.django_db
def test_the_figures_of_many_accounts_take_a_fixed_number_of_queries(
    django_assert_num_queries,
):
    make_tariffs()
    job = make_job()
    collect_hours(MARCH, datetime(2026, 3, 3, tzinfo=UTC))
    accounts = []
    for i in range(12):
        account = make_account(f"lab-{i}", cost_center=f"1{i:04d}", budget_chf=Decimal(10 + i))
        add_usage(job if i == 0 else make_job(f"j{i}"), account, MARCH, **core_hours(i))
        accounts.append(account)
    rolled_up(MARCH.date(), date(2026, 3, 3))
    with django_assert_num_queries(4):
        figures = budgets(accounts, datetime(2026, 3, 3, 1, tzinfo=UTC))
    assert figures[accounts[11].pk].month_to_date_chf == Decimal("0.55")
    assert Tariff.objects.count() == 7
