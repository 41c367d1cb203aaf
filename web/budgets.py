"""The budget figures the overview and the account page show (billing/ledger/budgets.py),
to those who see money: finance and the accounts' members, not ops (web/access.py)."""

from billing.ledger.budgets import WARNING, budgets
from web import access


def budget_rows(user, accounts, now) -> list[dict] | None:
    """Per account of `accounts` (accounts with a budget, in order): the account, its
    figures and what to mark; None for a user who sees no money (ops), asking nothing.
    A fixed number of queries whatever the number of accounts."""
    if not access.sees_statements(user):
        return None
    accounts = list(accounts)
    figures = budgets(accounts, now)
    return [{"account": a, **marks(figures[a.pk])} for a in accounts]


def marks(budget) -> dict:
    """The figures and their state: `spent` at 100 %, `warning` at 80 %, `forecast_over`
    when the month-end forecast is above the budget."""
    return {
        "budget": budget,
        "spent": budget.used >= 1,
        "warning": WARNING <= budget.used < 1,
        "forecast_over": budget.forecast_used > 1,
    }
