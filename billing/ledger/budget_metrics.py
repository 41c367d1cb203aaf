"""Each budgeted account's budget use as Prometheus metrics, read from the database at each
scrape and served by /metrics (web/views/metrics.py) beside the collection's health.

Only accounts with a budget have series. The figures are those of the pages and of
check_budgets (billing/ledger/budgets.py), for the current UTC month: a scrape asks the
budgets' four queries and one for the accounts, whatever their number. Ratios only, no
amounts: /metrics reaches Prometheus and ops, who see no money (web/access.py).
"""

from django.utils import timezone
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from billing.ledger.budgets import budgets
from billing.models import Account


def families() -> dict:
    """The metric families, empty, by short name."""
    return {
        "used": GaugeMetricFamily(
            "kubemon_account_budget_used_ratio",
            "Month-to-date cost of the account over its monthly budget (1 = all of it), "
            "current UTC month.",
            labels=["account"],
        ),
        "forecast": GaugeMetricFamily(
            "kubemon_account_budget_forecast_ratio",
            "Month-end forecast of the account's cost over its monthly budget (month-to-date "
            "plus the last 7 days' rate to the month's end).",
            labels=["account"],
        ),
    }


class BudgetMetrics(Collector):
    """A prometheus_client collector over the accounts with a budget."""

    def describe(self):
        # Registering the collector asks the database nothing.
        return list(families().values())

    def collect(self):
        metrics = families()
        accounts = list(Account.objects.filter(budget_chf__isnull=False).order_by("name"))
        figures = budgets(accounts, timezone.now())
        for account in accounts:
            budget = figures[account.pk]
            labels = [account.name]
            metrics["used"].add_metric(labels, float(budget.used))
            metrics["forecast"].add_metric(labels, float(budget.forecast_used))
        return list(metrics.values())
