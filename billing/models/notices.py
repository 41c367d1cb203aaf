"""What was mailed to the accounts' contacts: statements at close, budget alerts.

A message is recorded once the SMTP server has accepted it, so a run that fails half-way
is re-run safely: what was recorded is not sent again, the rest is.
"""

from django.db import models

from billing.models.accounts import Account
from billing.models.money import Statement


class StatementMail(models.Model):
    """A closed month's statement (its PDF) mailed to the account's contacts."""

    statement = models.ForeignKey(Statement, models.PROTECT, related_name="mails")
    # `|`-separated, as the account's contacts were when the message went.
    addresses = models.TextField()
    message_id = models.CharField(max_length=255)
    sent_at = models.DateTimeField()

    class Meta:
        ordering = ["sent_at"]

    def __str__(self):
        return f"{self.statement} → {self.addresses} {self.sent_at:%Y-%m-%d %H:%M}"


class BudgetAlert(models.Model):
    """A budget threshold an account passed in a month, mailed once (check_budgets)."""

    class Threshold(models.TextChoices):
        WARNING = "80", "80 % of the budget spent"
        SPENT = "100", "the budget spent"
        FORECAST = "forecast", "the month-end forecast over the budget"

    account = models.ForeignKey(Account, models.PROTECT, related_name="budget_alerts")
    month = models.DateField(help_text="first day of the month")
    threshold = models.CharField(max_length=10, choices=Threshold)
    budget_chf = models.DecimalField(max_digits=12, decimal_places=2)
    month_to_date_chf = models.DecimalField(max_digits=14, decimal_places=2)
    forecast_chf = models.DecimalField(max_digits=14, decimal_places=2)
    addresses = models.TextField()
    message_id = models.CharField(max_length=255)
    sent_at = models.DateTimeField()

    class Meta:
        ordering = ["month", "account__name", "threshold"]
        constraints = [
            models.UniqueConstraint(
                fields=["account", "month", "threshold"], name="budget_alert_once"
            )
        ]

    def __str__(self):
        return f"{self.account} {self.month:%Y-%m} {self.threshold}"
