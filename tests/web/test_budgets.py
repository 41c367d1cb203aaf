"""Budgets on the pages, the API and /metrics: this month's month-to-date, budget, use and
forecast, to finance and the accounts' members, never to ops, never another lab's."""

from decimal import ROUND_HALF_UP, Decimal

import pytest
from django.test import Client
from django.utils import timezone

from billing.ledger.budgets import budgets
from billing.models import Account, Statement
from tests.fixtures.api_site import get, site_fixture  # noqa: F401
from tests.fixtures.site_data import NOW

pytestmark = pytest.mark.django_db
CENT = Decimal("0.01")


@pytest.fixture
def budgeted(site, monkeypatch):
    """The site at its `now` (29 November), lab-a at about 91 % of its budget, lab-b past it;
    return {name: (budget, month-to-date)}."""
    monkeypatch.setattr(timezone, "now", lambda: NOW)
    figures = {}
    for name, factor in (("lab-a", Decimal("1.1")), ("lab-b", Decimal("0.5"))):
        account = site.accounts[name]
        to_date = Statement.objects.get(account=account, period__month="2026-11-01").total_chf
        account.budget_chf = (to_date * factor).quantize(CENT, ROUND_HALF_UP)
        account.save()
        figures[name] = (account.budget_chf, to_date)
    return figures


def page(user, url: str):
    client = Client()
    client.force_login(user)
    answer = client.get(url)
    assert answer.status_code == 200
    return answer


def rows_of(answer) -> dict:
    return {row["account"].name: row for row in answer.context["budget_rows"]}


def test_the_overview_shows_finance_every_budget_marked_at_80_and_100_percent(site, budgeted):
    answer = page(site.users["fiona"], "/")
    rows = rows_of(answer)
    assert sorted(rows) == ["lab-a", "lab-b"]
    for name, (budget, to_date) in budgeted.items():
        # Month-to-date is the month's draft statement: tariffs change at midnight here.
        assert rows[name]["budget"].month_to_date_chf == to_date
        assert rows[name]["budget"].budget_chf == budget
    assert rows["lab-a"]["warning"] and not rows["lab-a"]["spent"]
    assert rows["lab-b"]["spent"] and rows["lab-b"]["forecast_over"]
    html = answer.content.decode()
    assert 'id="budgets"' in html
    lab_b = html[html.index('data-account="lab-b"') :]
    lab_b = lab_b[: lab_b.index("</tr>")]
    assert "budget spent" in lab_b and "forecast over the budget" in lab_b
    assert f"{budgeted['lab-b'][1]:,.2f}" in lab_b and "200 %" in lab_b
    lab_a = html[html.index('data-account="lab-a"') :]
    assert "over 80 % of the budget" in lab_a[: lab_a.index("</tr>")]


def test_the_figures_are_those_of_the_ledger_including_the_forecast(site, budgeted):
    rows = rows_of(page(site.users["fiona"], "/"))
    accounts = [site.accounts["lab-a"], site.accounts["lab-b"]]
    expected = budgets(accounts, NOW)
    for account in accounts:
        assert rows[account.name]["budget"] == expected[account.pk]
    # lab-a ran jobs in the last 7 days: 28 hours are left after the data (collected to
    # 20:00 on the 29th) at their rate; lab-b did not, its forecast is what it spent.
    lab_a, lab_b = (rows[a.name]["budget"] for a in accounts)
    assert lab_a.forecast_chf > lab_a.month_to_date_chf
    assert lab_b.forecast_chf == lab_b.month_to_date_chf


def test_a_member_sees_only_its_own_budget_on_the_overview_and_its_account_page(site, budgeted):
    alice = site.users["alice"]
    assert sorted(rows_of(page(alice, "/"))) == ["lab-a"]
    own = page(alice, f"/accounts/{site.accounts['lab-a'].pk}/")
    assert sorted(rows_of(own)) == ["lab-a"]
    assert "lab-b" not in own.content.decode()
    assert Client().get("/").status_code == 302  # and nobody unsigned


def test_ops_see_no_budget_anywhere(site, budgeted):
    oscar = site.users["oscar"]
    for url in ("/", f"/accounts/{site.accounts['lab-b'].pk}/"):
        answer = page(oscar, url)
        assert answer.context["budget_rows"] is None
        assert 'id="budgets"' not in answer.content.decode()


def test_an_account_without_a_budget_shows_no_budget_table(site, budgeted):
    Account.objects.filter(name="lab-a").update(budget_chf=None)
    answer = page(site.users["alice"], f"/accounts/{site.accounts['lab-a'].pk}/")
    assert answer.context["budget_rows"] == []
    assert 'id="budgets"' not in answer.content.decode()


def test_the_api_lists_the_accounts_with_their_budget_figures(site, budgeted):
    answer = get("fiona", "/api/v1/accounts")
    assert answer.status_code == 200
    body = answer.json()
    assert body["count"] == 3 and body["next"] is None
    rows = {r["name"]: r for r in body["results"]}
    assert list(rows) == ["lab-a", "lab-b", "unassigned"]
    expected = budgets([site.accounts["lab-b"]], NOW)[site.accounts["lab-b"].pk]
    budget, to_date = budgeted["lab-b"]
    assert rows["lab-b"] == {
        "name": "lab-b",
        "rate_class": "",
        "budget_chf": str(budget),
        "month_to_date_chf": str(to_date),
        "forecast_chf": str(expected.forecast_chf),
        "budget_used": pytest.approx(float(to_date / budget), abs=1e-4),
    }
    assert rows["unassigned"]["budget_chf"] is None and rows["unassigned"]["budget_used"] is None
    assert rows["unassigned"]["month_to_date_chf"] is not None


def test_the_api_gives_a_member_its_accounts_and_ops_no_money(site, budgeted):
    member = get("alice", "/api/v1/accounts").json()["results"]
    assert [r["name"] for r in member] == ["lab-a"]
    ops = get("oscar", "/api/v1/accounts").json()["results"]
    assert [r["name"] for r in ops] == ["lab-a", "lab-b", "unassigned"]
    money = ("budget_chf", "month_to_date_chf", "forecast_chf", "budget_used")
    assert all(r[field] is None for r in ops for field in money)


def test_the_api_pages_the_accounts(site, budgeted):
    first = get("fiona", "/api/v1/accounts", page_size=2).json()
    assert [r["name"] for r in first["results"]] == ["lab-a", "lab-b"]
    assert "page=2" in first["next"]
    assert get("fiona", "/api/v1/accounts", page=9).status_code == 400


def test_the_api_and_pages_ask_a_fixed_number_of_queries(site, budgeted, django_assert_num_queries):
    # The user, groups, the page's count and rows, tariffs, the month's roll-up, collected
    # hours, the last 7 days' usage: whatever the number of accounts.
    for size in (1, 3):
        with django_assert_num_queries(8):
            get("fiona", "/api/v1/accounts", page_size=size)
    client = Client()
    client.force_login(site.users["fiona"])
    # The overview's 17 (tests/web/test_pages_overview.py), then the budgeted accounts and
    # their figures' four.
    with django_assert_num_queries(21):
        client.get("/")
    Account.objects.filter(name="unassigned").update(budget_chf=Decimal("10"))
    with django_assert_num_queries(21):
        client.get("/")
    # The account page's 11 (tests/web/test_pages_accounts.py) and the figures' four.
    with django_assert_num_queries(15):
        client.get(f"/accounts/{site.accounts['lab-a'].pk}/")


def test_metrics_expose_the_budget_use_and_forecast_of_budgeted_accounts_only(
    site, budgeted, client, django_assert_num_queries
):
    # The collection's health's five, the budgeted accounts and their figures' four.
    with django_assert_num_queries(10):
        text = client.get("/metrics").content.decode()
    lines = [line for line in text.splitlines() if line.startswith("kubemon_account_budget")]
    names = sorted({line.split("{")[0] for line in lines})
    assert names == ["kubemon_account_budget_forecast_ratio", "kubemon_account_budget_used_ratio"]
    assert not any('account="unassigned"' in line for line in lines)
    figures = budgets([site.accounts["lab-b"]], NOW)[site.accounts["lab-b"].pk]
    used = next(
        v for v in lines if v.startswith('kubemon_account_budget_used_ratio{account="lab-b"}')
    )
    assert float(used.split()[-1]) == pytest.approx(float(figures.used))
    assert float(figures.used) == pytest.approx(2.0, abs=1e-3)
