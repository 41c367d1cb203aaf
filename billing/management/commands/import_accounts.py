"""python manage.py import_accounts FILE.csv

Columns, read by header name in any order: account,receiver_type,receiver,cluster,namespace,
valid_from,valid_until, one row per namespace mapping; receiver_type is cctr, order or wbs;
valid_until may be empty. Optional columns, absent or anywhere (absent: the field stays as it
is): groups and contacts (`|`-separated), language (en or fr), rate_class, budget_chf; every
row of an account gives them the same values. The whole file is checked first; a bad row is
refused with its line number and column and nothing is written. Importing a file again
changes nothing. A changed receiver or rate class reaches the open months' draft statements,
recomputed after the import (a month left unpriced is a warning).
"""

from django.core.management.base import BaseCommand, CommandError

from billing.ledger.imports import CsvImportError, import_accounts


class Command(BaseCommand):
    help = "Import accounts, their SIFAC receivers and their namespace mappings from a CSV file."

    def add_arguments(self, parser):
        parser.add_argument(
            "file",
            help="CSV: account,receiver_type,receiver,cluster,namespace,valid_from,valid_until; "
            "optional: groups,contacts,language,rate_class,budget_chf",
        )

    def handle(self, *args, file, **options):
        try:
            summary = import_accounts(file)
        except CsvImportError as e:
            raise CommandError(f"{file}: {e}; nothing imported") from None
        self.stdout.write(f"accounts and mappings: {summary}")
        for warning in summary.warnings:
            self.stderr.write(self.style.WARNING(f"warning: {warning}"))
