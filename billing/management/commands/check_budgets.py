"""python manage.py check_budgets [--dry-run]: mail the accounts' contacts the budget
thresholds their month has newly passed (billing/mail/budgets.py).

Run after each hourly collection (the crontab's hourly job, the collect CronJob). An account
whose message the SMTP server refused is reported and the others still go; the command then
exits non-zero, and the next run tries that account again.
"""

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from billing.mail.budgets import check_budgets


class Command(BaseCommand):
    help = "Mail budget alerts (80 %, 100 %, forecast over budget) for the current UTC month."

    def add_arguments(self, parser):
        parser.add_argument(
            "--dry-run", action="store_true", help="say which accounts would be mailed; send none"
        )

    def handle(self, *args, dry_run=False, **options):
        outcome = check_budgets(timezone.now(), dry_run=dry_run)
        verb = "would mail" if dry_run else "mailed"
        for account, thresholds in outcome.sent:
            self.stdout.write(f"{account}: {verb} {', '.join(thresholds)}")
        for account, error in outcome.failed:
            self.stderr.write(f"{account}: not mailed, will retry at the next run: {error}")
        if not outcome.sent and not outcome.failed:
            self.stdout.write("no budget threshold newly passed")
        if outcome.failed:
            raise CommandError(f"{len(outcome.failed)} account(s) could not be mailed")
