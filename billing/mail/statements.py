"""A closed month's statements mailed to the accounts' contacts, each with its PDF.

One message per account of the period that has contacts (the `unassigned` account never: it
has no one to pay), in the account's language: the total in the subject, a short text with
a link to the statement's page, and the PDF (billing/documents/pdf.py) attached. It goes
through the one door to the SMTP server (billing/mail/client.py) and is recorded as a
StatementMail right after the server accepted it. So a run that fails half-way is run again
safely: what was recorded is not sent again (unless `resend`), the rest is. A failure for
one account (the server refused it, or could not be reached) is reported and the others
still go.
"""

import smtplib
from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings
from django.core.mail import EmailMessage
from django.urls import reverse
from django.utils import dateformat, timezone, translation
from django.utils.translation import gettext as _

from billing.documents.pdf import pdf_file_name, statement_pdf
from billing.mail import client
from billing.models import Account, Period, Statement, StatementMail
from kubemon.number_formats import chf


class NotSendable(Exception):
    """A period or account whose statements cannot be mailed; the message says why."""


@dataclass
class Outcome:
    """What became of one account's statement: sent, would send (dry run), already sent,
    skipped (no contacts) or failed; `detail` the message id, the earlier send or the error."""

    statement: Statement
    addresses: list[str]
    status: str
    detail: str = ""

    @property
    def account(self) -> str:
        return self.statement.account.name


def statements_to_mail(period: Period, account: str | None) -> list[Statement]:
    """The closed period's statements to mail, by account name (`account`: that one only)."""
    if not period.is_closed:
        raise NotSendable(
            f"period: {period} is not closed, its statements are drafts; close it first "
            "(close_period), then send them"
        )
    statements = period.statements.select_related("account", "period").order_by("account__name")
    statements = statements.exclude(account__name=Account.UNASSIGNED)
    if account is None:
        return list(statements)
    if account == Account.UNASSIGNED:
        raise NotSendable("--account: the unassigned account has no contacts; it is never sent")
    chosen = list(statements.filter(account__name=account))
    if not chosen:
        raise NotSendable(f"--account: {account!r} has no statement in {period}")
    return chosen


def subject(statement: Statement) -> str:
    """In the active language: EPFL Kubernetes statement 2026-03 — lab-a: CHF 1'234.50"""
    return _("EPFL Kubernetes statement %(month)s — %(account)s: CHF %(total)s") % {
        "month": f"{statement.period.month:%Y-%m}",
        "account": statement.account.name,
        "total": chf(statement.total_chf),
    }


def body(statement: Statement) -> str:
    page = settings.KUBEMON_SITE_URL + reverse("statement", args=[statement.pk])
    return _(
        "Hello,\n\n"
        "The statement of the account %(account)s for %(month)s is attached as a PDF.\n\n"
        "Total: CHF %(total)s\n\n"
        "The statement's page, with every job, is at\n%(page)s\n\n"
        "This message was sent by the billing of the EPFL Kubernetes platform. Questions "
        "about it go to your finance office.\n"
    ) % {
        "account": statement.account.name,
        "month": dateformat.format(statement.period.month, "F Y"),
        "total": chf(statement.total_chf),
        "page": page,
    }


def message(statement: Statement) -> EmailMessage:
    """The account's message, in its language, with the statement's PDF attached."""
    account = statement.account
    with translation.override(account.language):
        mail = EmailMessage(subject(statement), body(statement), to=account.contact_list())
    mail.attach(pdf_file_name(statement), statement_pdf(statement), "application/pdf")
    return mail


def already_sent(statement: Statement) -> StatementMail | None:
    return statement.mails.order_by("-sent_at").first()


def mail_statement(statement: Statement, dry_run: bool, resend: bool) -> Outcome:
    """Send one statement (or say what would be done); record it once sent."""
    addresses = statement.account.contact_list()
    if not addresses:
        return Outcome(statement, addresses, "skipped", "no contacts")
    earlier = already_sent(statement)
    if earlier is not None and not resend:
        return Outcome(statement, addresses, "already sent", f"{earlier.sent_at:%Y-%m-%d %H:%M}Z")
    if dry_run:
        return Outcome(statement, addresses, "would send", pdf_file_name(statement))
    try:
        message_id = client.send(message(statement))
    except (smtplib.SMTPException, OSError) as e:
        return Outcome(statement, addresses, "failed", f"{type(e).__name__}: {e}")
    StatementMail.objects.create(
        statement=statement,
        addresses="|".join(addresses),
        message_id=message_id,
        sent_at=timezone.now(),
    )
    return Outcome(statement, addresses, "sent", message_id)


def send_statements(
    period: Period,
    account: str | None = None,
    dry_run: bool = False,
    resend: bool = False,
    report: Callable[[Outcome], None] = lambda outcome: None,
) -> list[Outcome]:
    """Mail the closed period's statements (see the module's docstring); `report` hears of
    each account as it is done. Raise NotSendable for an open period or a bad account."""
    outcomes = []
    for statement in statements_to_mail(period, account):
        outcome = mail_statement(statement, dry_run, resend)
        report(outcome)
        outcomes.append(outcome)
    return outcomes
