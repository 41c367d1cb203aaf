"""python manage.py send_statements YYYY-MM [--account NAME] [--dry-run] [--resend]

Mails each account of a closed month its statement as a PDF, to the account's contacts, in
its language (billing/mail/statements.py). A statement already mailed is not mailed again
unless --resend; --dry-run says who would get what and sends and records nothing. An
account the SMTP server refuses (or cannot be reached for) is reported and the others still
go; the command then fails at the end, so that cron notices, and running it again sends the
rest. `previous` names the month before the current one (for the scheduled run).
"""

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from billing.mail.statements import NotSendable, Outcome, send_statements
from billing.models import Period
from billing.utc import NotAMonth, parse_month
from kubemon.number_formats import chf


class Command(BaseCommand):
    help = "Mail a closed month's statements, as PDFs, to each account's contacts."

    def add_arguments(self, parser):
        parser.add_argument("period", help="YYYY-MM, or previous")
        parser.add_argument("--account", help="only this account")
        parser.add_argument(
            "--dry-run", action="store_true", help="say who would get what; send nothing"
        )
        parser.add_argument(
            "--resend", action="store_true", help="send again what was already sent"
        )

    def handle(self, *args, period, account, dry_run, resend, **options):
        try:
            month = parse_month(period, timezone.now())
            found = Period.objects.filter(month=month).first()
            if found is None:
                raise NotSendable(f"period: {month:%Y-%m} has no statements; close it first")
            outcomes = send_statements(found, account, dry_run, resend, self.report)
        except (NotAMonth, NotSendable) as e:
            raise CommandError(f"{e}; nothing sent") from None
        self.summarise(f"{month:%Y-%m}", outcomes, dry_run)

    def report(self, outcome: Outcome):
        """One line per account as it is done; a failure on stderr."""
        to = ", ".join(outcome.addresses)
        total = f"CHF {chf(outcome.statement.total_chf)}"
        lines = {
            "sent": f"sent to {to} ({total}), message {outcome.detail}",
            "would send": f"would send {outcome.detail} to {to} ({total})",
            "already sent": f"already sent on {outcome.detail} to {to}; --resend sends it again",
            "skipped": "skipped: the account has no contacts",
            "failed": f"FAILED to send to {to}: {outcome.detail}",
        }
        line = f"{outcome.account}: {lines[outcome.status]}"
        (self.stderr if outcome.status == "failed" else self.stdout).write(line)

    def summarise(self, month: str, outcomes: list[Outcome], dry_run: bool):
        counts: dict[str, int] = {}
        for outcome in outcomes:
            counts[outcome.status] = counts.get(outcome.status, 0) + 1
        said = ", ".join(f"{n} {status}" for status, n in counts.items()) or "no statements"
        dry = " (dry run: nothing sent, nothing recorded)" if dry_run else ""
        self.stdout.write(f"period {month}: {said}{dry}")
        failed = [o.account for o in outcomes if o.status == "failed"]
        if failed:
            raise CommandError(
                f"{len(failed)} statement(s) not sent ({', '.join(failed)}); run "
                f"send_statements {month} again to send them (what was sent is not sent twice)"
            )
