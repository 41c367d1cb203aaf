"""Budget alerts: mail an account's contacts when its month passes a budget threshold.

For the UTC month of `now`, every account with a budget and contacts is checked against
three thresholds (billing/ledger/budgets.py): month-to-date at 80 % of the budget, at
100 %, and the month-end forecast above it. The thresholds newly passed go in one message,
in the account's language, with the figures and a link to the account's page; each is
recorded as a BudgetAlert (unique per account, month and threshold) once the SMTP server
has accepted the message, so it is never mailed twice in a month, and a message the server
refused is tried again at the next run. The account's row is locked while its message goes,
so two runs at once (one per cluster's collection) never mail the same threshold twice.
"""

from dataclasses import dataclass, field
from datetime import datetime
from smtplib import SMTPException

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import transaction
from django.urls import reverse
from django.utils import translation
from django.utils.formats import number_format
from django.utils.translation import gettext as _

from billing.ledger.budgets import Budget, budgets
from billing.mail.client import send
from billing.models import Account, BudgetAlert
from billing.utc import month_of


@dataclass
class Outcome:
    """What a run did: (account, thresholds) mailed or due, and the failures to report."""

    sent: list[tuple[str, list[str]]] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)


def check_budgets(now: datetime, dry_run: bool = False) -> Outcome:
    """Mail every account whose month has newly passed a threshold; with `dry_run`, only
    say which would be mailed."""
    month = month_of(now)
    accounts = list(
        Account.objects.filter(budget_chf__isnull=False).exclude(contacts="").order_by("name")
    )
    figures = budgets(accounts, now)
    outcome = Outcome()
    for account in accounts:
        if not account.contact_list():
            continue
        budget = figures[account.pk]
        if dry_run:
            due = due_thresholds(account, month, budget)
            if due:
                outcome.sent.append((account.name, due))
            continue
        try:
            due = alert(account, month, budget, now)
        except (SMTPException, OSError) as e:
            outcome.failed.append((account.name, f"{type(e).__name__}: {e}"))
            continue
        if due:
            outcome.sent.append((account.name, due))
    return outcome


def due_thresholds(account: Account, month, budget: Budget) -> list[str]:
    """The thresholds the account has passed this month and not been mailed yet."""
    sent = set(
        BudgetAlert.objects.filter(account=account, month=month).values_list("threshold", flat=True)
    )
    return [t for t in budget.passed if t not in sent]


def alert(account: Account, month, budget: Budget, now: datetime) -> list[str]:
    """Mail the account's newly passed thresholds and record them; return them."""
    with transaction.atomic():
        # Another run mailing this account waits here, then finds its alerts recorded.
        Account.objects.select_for_update().filter(pk=account.pk).first()
        due = due_thresholds(account, month, budget)
        if not due:
            return []
        message = budget_message(account, month, budget, due)
        message_id = send(message)
        BudgetAlert.objects.bulk_create(
            BudgetAlert(
                account=account,
                month=month,
                threshold=threshold,
                budget_chf=budget.budget_chf,
                month_to_date_chf=budget.month_to_date_chf,
                forecast_chf=budget.forecast_chf,
                addresses="|".join(message.to),
                message_id=message_id,
                sent_at=now,
            )
            for threshold in due
        )
    return due


def budget_message(account: Account, month, budget: Budget, due: list[str]) -> EmailMessage:
    """The alert in the account's language: what was passed, the figures, the page's link."""
    with translation.override(account.language):
        month_name = f"{month:%Y-%m}"
        if "100" in due:
            subject = _("Budget spent: %(account)s, %(month)s")
        elif "80" in due:
            subject = _("%(percent)s of the budget spent: %(account)s, %(month)s")
        else:
            subject = _("Budget forecast exceeded: %(account)s, %(month)s")
        news = {
            "80": _("The cost of the month so far has passed %(percent)s of the account's budget.")
            % {"percent": "80 %"},
            "100": _("The cost of the month so far has reached the account's budget."),
            "forecast": _(
                "At the rate of the last 7 days, the cost at the end of the month will exceed "
                "the account's budget."
            ),
        }
        body = [
            _("Hello,"),
            "",
            *(news[t] for t in due),
            "",
            _("Account: %(account)s") % {"account": account.name},
            _("Month: %(month)s (UTC)") % {"month": month_name},
            _("Monthly budget: CHF %(amount)s") % {"amount": money(budget.budget_chf)},
            _("Cost so far: CHF %(amount)s (%(percent)s of the budget)")
            % {"amount": money(budget.month_to_date_chf), "percent": percent(budget.used)},
            _("Forecast for the whole month: CHF %(amount)s (%(percent)s of the budget)")
            % {"amount": money(budget.forecast_chf), "percent": percent(budget.forecast_used)},
            "",
            _(
                "Costs are estimates at the tariffs in force; the monthly statement is the bill. "
                "The forecast adds to the cost so far the cost per hour of the last 7 days "
                "times the hours left in the month."
            ),
            _("Details: %(url)s") % {"url": account_url(account)},
            "",
            _("You receive this message as a contact of the account in kube-monitoring."),
        ]
        return EmailMessage(
            subject=subject % {"account": account.name, "month": month_name, "percent": "80 %"},
            body="\n".join(body) + "\n",
            from_email=settings.DEFAULT_FROM_EMAIL,
            to=account.contact_list(),
        )


def account_url(account: Account) -> str:
    """The account's page on the site (its route is named `account`)."""
    return settings.KUBEMON_SITE_URL + reverse("account", args=[account.pk])


def money(value) -> str:
    """An amount as the active language writes it: 1,234.50 or 1 234,50."""
    return number_format(value, decimal_pos=2, use_l10n=True, force_grouping=True)


def percent(ratio) -> str:
    return number_format(ratio * 100, decimal_pos=0, use_l10n=True) + " %"
