"""python manage.py close_period YYYY-MM [--force]

Computes the month's statements one last time and freezes them with their usage. A month
with hours not yet collected is refused, naming them, unless --force (the statements then
list the missing hours). Closing a closed month does nothing. `previous` names the month
before the current one (for the scheduled run).
"""

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from billing.ledger.periods import PeriodError, close_period
from billing.ledger.statements import PricingError
from billing.utc import NotAMonth, parse_month


class Command(BaseCommand):
    help = "Close a billing period (a UTC month): its statements and usage never change again."

    def add_arguments(self, parser):
        parser.add_argument("period", help="YYYY-MM, or previous")
        parser.add_argument(
            "--force", action="store_true", help="close even with hours not collected"
        )

    def handle(self, *args, period, force, **options):
        now = timezone.now()
        try:
            month = parse_month(period, now)
            closed, now_closed = close_period(month, force, now)
        except (NotAMonth, PeriodError, PricingError) as e:
            raise CommandError(str(e)) from None
        if not now_closed:
            self.stdout.write(f"period {closed} was already closed on {closed.closed_at:%Y-%m-%d}")
            return
        statements = closed.statements.order_by("account__name")
        total = sum(s.total_chf for s in statements)
        self.stdout.write(
            f"period {closed} closed: {statements.count()} statements, {total:.2f} CHF"
            + (
                " (forced: hours not collected are listed on the statements)"
                if closed.forced
                else ""
            )
        )
