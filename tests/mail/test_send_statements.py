"""send_statements: each account's closed-month statement mailed, with its PDF, to a real SMTP
server (tests/fixtures/smtp_server.py: aiosmtpd on 127.0.0.1).

The site (tests/fixtures/site_data.py) has October 2026 closed and exported as CSV, November
open. The PDFs that arrive are read back with pypdf; their totals are checked against the
month's SIFAC CSV export.
"""

import io
import re
from datetime import UTC, date, datetime

import pytest
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from billing.ledger.periods import close_period
from billing.models import Account, Statement, StatementMail
from simulator.prometheus import free_port
from tests.documents.test_statement_pdf import sifac_csv_totals
from tests.fixtures.api_site import site_fixture  # noqa: F401
from tests.fixtures.pdf_text import pdf_text
from tests.fixtures.site_data import OCTOBER

pytestmark = pytest.mark.django_db

WRITES = ("INSERT", "UPDATE", "DELETE")
CONTACTS = {"lab-a": "pi-a@example.org|admin-a@example.org", "lab-b": "pi-b@example.org"}


@pytest.fixture
def contacts(site):
    for name, addresses in CONTACTS.items():
        Account.objects.filter(name=name).update(contacts=addresses)


def send(*args) -> tuple[str, str, CommandError | None]:
    """Run send_statements; return its output, its errors and the CommandError it ended with."""
    out, err = io.StringIO(), io.StringIO()
    try:
        call_command("send_statements", *args, stdout=out, stderr=err)
    except CommandError as e:
        return out.getvalue(), err.getvalue(), e
    return out.getvalue(), err.getvalue(), None


def october(account: str) -> Statement:
    return Statement.objects.get(period__month=OCTOBER.date(), account__name=account)


def by_account(smtp) -> dict:
    """The messages received, by the account the subject names."""
    return {re.search(r"— ([^\s:]+)", m.subject)[1]: m for m in smtp.messages}


def test_each_account_gets_its_pdf_in_its_language_with_the_total_of_the_export(
    site, contacts, smtp
):
    Account.objects.filter(name="lab-b").update(language="fr")
    out, err, failed = send("2026-10")
    assert err == "" and failed is None
    received = by_account(smtp)
    assert set(received) == {"lab-a", "lab-b"}
    exported = sifac_csv_totals(site.export_dir)
    english, french = received["lab-a"], received["lab-b"]
    assert sorted(english.recipients) == ["admin-a@example.org", "pi-a@example.org"]
    assert french.recipients == ["pi-b@example.org"]
    assert english.sender == settings.DEFAULT_FROM_EMAIL
    # Python folds a long encoded subject after "Subject:"; a reader unfolds and trims it.
    assert english.subject.strip() == (
        f"EPFL Kubernetes statement 2026-10 — lab-a: CHF {exported['lab-a']:,.2f}"
    )
    total_b = f"{exported['lab-b']:,.2f}".replace(",", "'")
    assert french.subject.strip() == f"Décompte Kubernetes EPFL 2026-10 — lab-b : CHF {total_b}"
    assert "The statement of the account lab-a for October 2026" in english.text()
    assert "Le décompte du compte lab-b pour octobre 2026" in french.text()
    page = settings.KUBEMON_SITE_URL + reverse("statement", args=[october("lab-a").pk])
    assert page in english.text()
    for account, message in received.items():
        ((name, content_type, pdf),) = message.attachments()
        assert name == f"statement-2026-10-{account}.pdf"
        assert content_type == "application/pdf"
        text = pdf_text(pdf)
        total = f"{exported[account]:,.2f}"
        assert f"CHF {total if account == 'lab-a' else total_b}" in text
    assert "Décompte pour octobre 2026" in pdf_text(french.attachments()[0][2])
    assert "lab-a: sent to pi-a@example.org, admin-a@example.org" in out
    assert "period 2026-10: 2 sent" in out


def test_every_message_sent_is_recorded_with_its_addresses_and_message_id(site, contacts, smtp):
    send("2026-10")
    mails = {m.statement.account.name: m for m in StatementMail.objects.select_related(
        "statement__account")}  # fmt: skip
    assert set(mails) == {"lab-a", "lab-b"}
    assert mails["lab-a"].addresses == CONTACTS["lab-a"]
    received = by_account(smtp)
    for account, mail in mails.items():
        assert mail.message_id == received[account].message["Message-ID"]
        assert mail.statement == october(account)
        assert mail.sent_at.tzinfo is not None


def test_a_second_run_sends_nothing_new_and_resend_sends_again(site, contacts, smtp):
    send("2026-10")
    assert len(smtp.messages) == 2
    out, _, failed = send("2026-10")
    assert failed is None
    assert len(smtp.messages) == 2
    assert "lab-a: already sent on" in out and "--resend sends it again" in out
    assert StatementMail.objects.count() == 2
    send("2026-10", "--resend")
    assert len(smtp.messages) == 4
    assert StatementMail.objects.count() == 4


def test_one_account_refused_is_reported_the_others_go_and_a_rerun_sends_the_rest(
    site, contacts, smtp
):
    Account.objects.filter(name="lab-a").update(contacts="pi-a@refused.example")
    _, err, failed = send("2026-10")
    assert re.fullmatch(r"1 statement\(s\) not sent \(lab-a\); run .* again .*", str(failed))
    assert "lab-a: FAILED to send to pi-a@refused.example: SMTPRecipientsRefused" in err
    assert "550" in err
    assert [m.recipients for m in smtp.messages] == [["pi-b@example.org"]]
    assert list(StatementMail.objects.values_list("statement__account__name", flat=True)) == [
        "lab-b"
    ]
    # The address corrected, a re-run sends lab-a's only: lab-b's went already.
    Account.objects.filter(name="lab-a").update(contacts="pi-a@example.org")
    out, err, failed = send("2026-10")
    assert err == "" and failed is None
    assert [m.recipients for m in smtp.messages] == [["pi-b@example.org"], ["pi-a@example.org"]]
    assert "lab-a: sent" in out and "lab-b: already sent" in out
    assert StatementMail.objects.count() == 2


def test_a_server_that_cannot_be_reached_is_reported_for_each_account(
    site, contacts, smtp, settings
):
    settings.EMAIL_PORT = free_port()  # nothing listens there
    _, err, failed = send("2026-10")
    assert str(failed).startswith("2 statement(s) not sent (lab-a, lab-b)")
    assert "lab-a: FAILED" in err and "lab-b: FAILED" in err
    assert "ConnectionRefusedError" in err
    assert StatementMail.objects.count() == 0


def test_dry_run_says_who_would_get_what_and_sends_and_writes_nothing(site, contacts, smtp):
    with CaptureQueriesContext(connection) as queries:
        out, _, failed = send("2026-10", "--dry-run")
    assert failed is None
    writes = [q["sql"] for q in queries if q["sql"].lstrip().upper().startswith(WRITES)]
    assert writes == []
    assert smtp.messages == []
    assert StatementMail.objects.count() == 0
    total = f"{october('lab-a').total_chf:,.2f}"
    assert (
        "lab-a: would send statement-2026-10-lab-a.pdf to pi-a@example.org, "
        f"admin-a@example.org (CHF {total})"
    ) in out
    assert "dry run: nothing sent" in out


def test_an_account_without_contacts_is_skipped_and_the_unassigned_one_never_mailed(
    site, contacts, smtp
):
    Account.objects.filter(name="lab-b").update(contacts="")
    # November closed, with the unassigned account's statement, given contacts anyway.
    Account.objects.filter(name="unassigned").update(contacts="nobody@example.org")
    close_period(date(2026, 11, 1), force=True, now=datetime(2026, 12, 2, tzinfo=UTC))
    assert Statement.objects.filter(period__month="2026-11-01", account__name="unassigned")
    out, _, failed = send("2026-11")
    assert failed is None
    assert [m.recipients for m in smtp.messages] == [["pi-a@example.org", "admin-a@example.org"]]
    assert "lab-b: skipped: the account has no contacts" in out
    assert "unassigned" not in out
    assert "period 2026-11: 1 sent, 1 skipped" in out


def test_account_sends_one_accounts_statement_only(site, contacts, smtp):
    send("2026-10", "--account", "lab-b")
    assert [m.recipients for m in smtp.messages] == [["pi-b@example.org"]]


@pytest.mark.parametrize(
    ("args", "error"),
    [
        (["2026-11"], "period: 2026-11 is not closed, its statements are drafts; close it first"),
        (["2026-05"], "period: 2026-05 has no statements; close it first"),
        (["2026-13"], "is not a month"),
        (["2026-10", "--account", "lab-z"], "--account: 'lab-z' has no statement in 2026-10"),
        (["2026-10", "--account", "unassigned"], "the unassigned account has no contacts"),
    ],
)
def test_an_open_month_or_a_bad_argument_is_refused_and_nothing_sent(
    site, contacts, smtp, args, error
):
    _, _, failed = send(*args)
    assert re.search(re.escape(error) + ".*; nothing sent", str(failed))
    assert smtp.messages == []
    assert StatementMail.objects.count() == 0


def test_cron_sends_the_statements_after_the_month_is_closed_and_exported():
    month_end = [
        job for job in settings.CRONJOBS
        if job[2][0] in ("close_period", "export_sifac", "send_statements")
    ]  # fmt: skip
    *close_and_exports, last = month_end
    assert last[2] == ["send_statements", "previous"]
    day = str(settings.KUBEMON_CLOSE_DAY)
    assert last[0].split()[2] == day
    assert all(minute_of_day(last[0]) > minute_of_day(job[0]) for job in close_and_exports)


def minute_of_day(schedule: str) -> int:
    minute, hour = schedule.split()[:2]
    return int(hour) * 60 + int(minute)


def test_with_django_s_file_backend_each_message_is_written_as_a_file(
    site, contacts, settings, tmp_path
):
    # How the demo keeps its mails for a newcomer to open (DJANGO_EMAIL_BACKEND).
    settings.EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
    settings.EMAIL_FILE_PATH = str(tmp_path)
    _, _, failed = send("2026-10")
    assert failed is None
    written = [path.read_bytes() for path in tmp_path.iterdir()]
    assert len(written) == 2
    assert all(b"application/pdf" in message for message in written)
    assert StatementMail.objects.count() == 2
