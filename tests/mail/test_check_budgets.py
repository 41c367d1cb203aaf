"""check_budgets (billing/mail/budgets.py): budget alerts mailed to a real SMTP server (the
`smtp` fixture), once per threshold and month, in the account's language."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from billing.collection import rollup
from billing.mail.budgets import check_budgets
from billing.models import BudgetAlert
from tests.fixtures.billing_rows import (
    add_usage,
    collect_hours,
    core_hours,
    make_account,
    make_job,
    make_tariffs,
)

pytestmark = pytest.mark.django_db
HOUR = timedelta(hours=1)
MARCH = datetime(2026, 3, 1, tzinfo=UTC)
APRIL = datetime(2026, 4, 1, tzinfo=UTC)
SITE = "https://kubemon.example.epfl.ch"


@pytest.fixture
def labs(settings):
    """lab-a (French, two contacts) and lab-b (English), each with a budget of CHF 100 and a
    job; cpu at 0.05 CHF a core-hour. Nothing used yet."""
    settings.KUBEMON_SITE_URL = SITE
    settings.DEFAULT_FROM_EMAIL = "kubemon@epfl.example"
    make_tariffs()
    a = make_account(
        "lab-a",
        cost_center="10421",
        budget_chf=Decimal("100"),
        contacts="pi@lab-a.example|admin@lab-a.example",
        language="fr",
    )
    b = make_account(
        "lab-b", cost_center="10422", budget_chf=Decimal("100"), contacts="pi@lab-b.example"
    )
    return {"lab-a": (a, make_job("train")), "lab-b": (b, make_job("sim", namespace="phys"))}


def use(labs, name: str, start: datetime, hours: int, cores: float):
    """`hours` hours of `cores` cores of the lab's job from `start`, collected and rolled up:
    0.05 × cores CHF an hour."""
    account, job = labs[name]
    for i in range(hours):
        add_usage(job, account, start + i * HOUR, **core_hours(cores))
    collect_hours(start, start + hours * HOUR)
    rollup.refresh_range(start.date(), (start + hours * HOUR).date() + timedelta(days=1))


def after(day: int, month=MARCH) -> datetime:
    """Half an hour into the given day of the month, its hour before collected."""
    return month.replace(day=day) + timedelta(minutes=30)


def subject(received) -> str:
    # Django folds a non-ASCII subject onto its second line ("Subject: \n =?utf-8?q?...");
    # Python's parser keeps the folding space in front.
    return received.subject.strip()


def alerts(name: str) -> list[tuple[str, str]]:
    return [
        (f"{a.month:%Y-%m}", a.threshold)
        for a in BudgetAlert.objects.filter(account__name=name).order_by("month", "sent_at", "pk")
    ]


def test_each_threshold_is_mailed_once_a_month_as_the_month_goes(smtp, labs):
    # 1-5 March at 10 cores: CHF 60 so far (60 %), 0.50 an hour, forecast 60 + 26 days × 12.
    use(labs, "lab-a", MARCH, 5 * 24, 10)
    check_budgets(after(6))
    check_budgets(after(6))  # again: nothing new
    assert alerts("lab-a") == [("2026-03", "forecast")]
    # 6 March: CHF 72, nothing new; 7 March: CHF 84, past 80 %.
    use(labs, "lab-a", MARCH.replace(day=6), 24, 10)
    check_budgets(after(7))
    use(labs, "lab-a", MARCH.replace(day=7), 24, 10)
    check_budgets(after(8))
    check_budgets(after(8))
    assert alerts("lab-a") == [("2026-03", "forecast"), ("2026-03", "80")]
    # 8 and 9 March: CHF 108, the budget spent.
    use(labs, "lab-a", MARCH.replace(day=8), 48, 10)
    check_budgets(after(10))
    check_budgets(after(10))
    assert alerts("lab-a") == [("2026-03", "forecast"), ("2026-03", "80"), ("2026-03", "100")]
    contacts = ["pi@lab-a.example", "admin@lab-a.example"]
    assert [m.recipients for m in smtp.messages] == [contacts] * 3
    forecast, warning, spent = smtp.messages
    # In French, the account's language.
    assert subject(forecast) == "Prévision au-delà du budget : lab-a, 2026-03"
    assert subject(warning) == "80 % du budget dépensés : lab-a, 2026-03"
    assert subject(spent) == "Budget épuisé : lab-a, 2026-03"
    assert "Coût à ce jour : CHF 60.00 (60 % du budget)" in forecast.text()
    assert "Prévision pour le mois entier : CHF 372.00 (372 % du budget)" in forecast.text()
    assert "Coût à ce jour : CHF 84.00 (84 % du budget)" in warning.text()
    assert "Coût à ce jour : CHF 108.00 (108 % du budget)" in spent.text()
    account = labs["lab-a"][0]
    assert f"Détails : {SITE}/accounts/{account.pk}/" in spent.text()
    assert forecast.sender == "kubemon@epfl.example"
    recorded = BudgetAlert.objects.get(account=account, threshold="80")
    assert recorded.message_id == warning.message["Message-ID"]
    assert recorded.month_to_date_chf == Decimal("84.00")
    assert recorded.addresses == "pi@lab-a.example|admin@lab-a.example"
    # lab-b used nothing: no mail.
    assert alerts("lab-b") == []


def test_a_new_month_alerts_again(smtp, labs):
    # 20 to 30 March at CHF 1 an hour: 264 CHF, the forecast 288.
    use(labs, "lab-b", MARCH.replace(day=20), 24 * 11, 20)
    check_budgets(after(31))
    assert alerts("lab-b") == [("2026-03", "80"), ("2026-03", "100"), ("2026-03", "forecast")]
    # April: its first hour at CHF 1 again, the 31st idle; the forecast passes once more.
    use(labs, "lab-b", APRIL, 1, 20)
    check_budgets(after(1, APRIL) + HOUR)
    check_budgets(after(1, APRIL) + HOUR)
    assert alerts("lab-b")[3:] == [("2026-04", "forecast")]
    (march, april) = smtp.messages
    # Every threshold newly passed in one run goes in one message, in English.
    assert subject(march) == "Budget spent: lab-b, 2026-03"
    assert "has passed 80 % of the account's budget" in march.text()
    assert "has reached the account's budget" in march.text()
    assert "At the rate of the last 7 days" in march.text()
    assert "Cost so far: CHF 264.00 (264 % of the budget)" in march.text()
    assert "Forecast for the whole month: CHF 288.00 (288 % of the budget)" in march.text()
    assert subject(april) == "Budget forecast exceeded: lab-b, 2026-04"
    assert "Cost so far: CHF 1.00 (1 % of the budget)" in april.text()


def test_a_refused_recipient_is_reported_the_others_go_and_the_next_run_retries(
    smtp, labs, monkeypatch
):
    a, _ = labs["lab-a"]
    a.contacts = "pi@refused.example"
    a.save()
    use(labs, "lab-a", MARCH, 24, 20)
    use(labs, "lab-b", MARCH, 24, 20)
    monkeypatch.setattr(timezone, "now", lambda: after(2))
    with pytest.raises(CommandError, match="1 account"):
        call_command("check_budgets")
    assert [m.recipients for m in smtp.messages] == [["pi@lab-b.example"]]
    assert alerts("lab-a") == [] and alerts("lab-b") == [("2026-03", "forecast")]
    # Still refused at the next run: reported again, nothing recorded.
    with pytest.raises(CommandError):
        call_command("check_budgets")
    assert alerts("lab-a") == []
    # Fixed: the next run mails it, and only it.
    a.contacts = "pi@lab-a.example"
    a.save()
    call_command("check_budgets")
    assert [m.recipients for m in smtp.messages] == [["pi@lab-b.example"], ["pi@lab-a.example"]]
    assert alerts("lab-a") == [("2026-03", "forecast")]


def test_the_command_says_what_it_mailed_and_a_dry_run_sends_nothing(
    smtp, labs, monkeypatch, capsys
):
    use(labs, "lab-a", MARCH, 24, 20)
    monkeypatch.setattr(timezone, "now", lambda: after(2))
    call_command("check_budgets", "--dry-run")
    assert "lab-a: would mail forecast" in capsys.readouterr().out
    assert smtp.messages == [] and alerts("lab-a") == []
    call_command("check_budgets")
    assert "lab-a: mailed forecast" in capsys.readouterr().out
    call_command("check_budgets")
    assert "no budget threshold newly passed" in capsys.readouterr().out
    assert len(smtp.messages) == 1


def test_accounts_without_contacts_or_budget_are_not_mailed(smtp, labs):
    a, _ = labs["lab-a"]
    a.contacts = ""
    a.save()
    b, _ = labs["lab-b"]
    b.budget_chf = None
    b.save()
    use(labs, "lab-a", MARCH, 48, 40)
    use(labs, "lab-b", MARCH, 48, 40)
    outcome = check_budgets(after(3))
    assert outcome.sent == [] and outcome.failed == []
    assert smtp.messages == [] and not BudgetAlert.objects.exists()
