"""python manage.py export_sifac YYYY-MM --format csv|idoc|idoc-xml [--out DIR] [--new-batch]
[--allow-unassigned]

Writes a closed period's statements as SAP postings (IDoc ACC_ACT_ALLOC02: one document per
account, one item per statement line) into the export directory. Exporting again gives the
same file, byte for byte, unless --new-batch. Bad data refuses the export, naming account
and field, and nothing is written.
"""

from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from billing.models import Period
from billing.sifac.batches import export
from billing.sifac.documents import ExportRefused
from billing.sifac.render import FORMATS
from billing.utc import NotAMonth, parse_month


class Command(BaseCommand):
    help = "Export a closed period to SIFAC (SAP) as CSV, IDoc flat file or IDoc-XML."

    def add_arguments(self, parser):
        parser.add_argument("period", help="YYYY-MM, or previous")
        parser.add_argument("--format", required=True, choices=list(FORMATS))
        parser.add_argument(
            "--out", type=Path, help="directory to write to (default KUBEMON_EXPORT_DIR)"
        )
        parser.add_argument(
            "--new-batch", action="store_true", help="a new numbered batch, not the last again"
        )
        parser.add_argument(
            "--allow-unassigned",
            action="store_true",
            help="export although the period has unassigned usage (never exported itself)",
        )

    def handle(self, *args, period, format, out, new_batch, allow_unassigned, **options):
        now = timezone.now()
        try:
            month = parse_month(period, now)
            found = Period.objects.filter(month=month).first()
            if found is None:
                raise ExportRefused(f"period: {month:%Y-%m} has no statements; close it first")
            directory = out or Path(settings.KUBEMON_EXPORT_DIR)
            done = export(found, format, directory, new_batch, allow_unassigned, now)
        except (NotAMonth, ExportRefused) as e:
            raise CommandError(f"{e}; nothing exported") from None
        self.stdout.write(
            f"{'new' if done.new else 'same'} batch {done.batch.number}: {done.path} "
            f"({done.documents} documents, {done.items} items, sha256 {done.sha256})"
        )
