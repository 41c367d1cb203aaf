"""python manage.py import_tariffs FILE.csv

Columns, read by header name in any order: resource,unit,price_chf,policy,valid_from,
activity_type, and optionally rate_class (absent or empty: the tariff of every account
without a tariff of its own class). A tariff applies from valid_from until the next tariff
of its resource and class; a class no account has is a warning. The whole file is checked
first; a bad row is refused with its line number and column and nothing is written.
Importing a file again changes nothing. The open months' draft statements are recomputed
after a change; a month left without a tariff for its usage is a warning, and its drafts
stay as they were.
"""

from django.core.management.base import BaseCommand, CommandError

from billing.ledger.imports import CsvImportError, import_tariffs, resources_help


class Command(BaseCommand):
    help = f"Import tariffs from a CSV file. Resources: {resources_help()}."

    def add_arguments(self, parser):
        parser.add_argument(
            "file",
            help="CSV: resource,unit,price_chf,policy,valid_from,activity_type; "
            "optional: rate_class",
        )

    def handle(self, *args, file, **options):
        try:
            summary = import_tariffs(file)
        except CsvImportError as e:
            raise CommandError(f"{file}: {e}; nothing imported") from None
        self.stdout.write(f"tariffs: {summary}")
        for warning in summary.warnings:
            self.stderr.write(self.style.WARNING(f"warning: {warning}"))
