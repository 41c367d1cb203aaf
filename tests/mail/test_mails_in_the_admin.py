"""The mails sent are shown in the admin, as a record nobody edits."""

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from billing.models import Account, BudgetAlert, Period, Statement, StatementMail

SENT = datetime(2026, 4, 5, 3, 30, tzinfo=UTC)


@pytest.fixture
def mails(db):
    account = Account.objects.create(name="lab-a", cost_center="10421")
    period = Period.objects.create(month=date(2026, 3, 1), status=Period.Status.CLOSED)
    statement = Statement.objects.create(period=period, account=account, computed_at=SENT)
    StatementMail.objects.create(
        statement=statement, addresses="head@lab-a.example", message_id="<1@x>", sent_at=SENT
    )
    BudgetAlert.objects.create(
        account=account,
        month=date(2026, 3, 1),
        threshold=BudgetAlert.Threshold.WARNING,
        budget_chf=Decimal("100.00"),
        month_to_date_chf=Decimal("81.00"),
        forecast_chf=Decimal("99.00"),
        addresses="head@lab-a.example",
        message_id="<2@x>",
        sent_at=SENT,
    )


@pytest.mark.parametrize(
    ("model", "shown"), [("statementmail", "head@lab-a.example"), ("budgetalert", "81.00")]
)
def test_the_admin_lists_the_mails_sent_and_changes_none(admin_client, mails, model, shown):
    listing = admin_client.get(f"/admin/billing/{model}/").content.decode()
    assert shown in listing
    assert admin_client.get(f"/admin/billing/{model}/add/").status_code == 403
    pk = (StatementMail if model == "statementmail" else BudgetAlert).objects.get().pk
    page = admin_client.get(f"/admin/billing/{model}/{pk}/change/").content.decode()
    assert 'name="_save"' not in page
