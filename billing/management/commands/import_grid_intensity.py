"""python manage.py import_grid_intensity FILE.csv

Columns, read by header name in any order: hour (ISO 8601 with an offset or Z, the start of
a UTC hour), gco2_per_kwh (g CO2-eq per kWh, 0 to 2000). The whole file is checked first; a
bad row is refused with its line number and column and nothing is written. A row replaces
the stored figure of its hour ("changed" in the summary); hours without a figure take
KUBEMON_GRID_GCO2_PER_KWH (billing/ledger/carbon.py).
"""

from django.core.management.base import BaseCommand, CommandError

from billing.ledger.grid_intensity import import_grid_intensity
from billing.ledger.imports import CsvImportError


class Command(BaseCommand):
    help = "Import the grid's carbon intensity per UTC hour from a CSV file."

    def add_arguments(self, parser):
        parser.add_argument("file", help="CSV: hour,gco2_per_kwh")

    def handle(self, *args, file, **options):
        try:
            summary = import_grid_intensity(file)
        except CsvImportError as e:
            raise CommandError(f"{file}: {e}; nothing imported") from None
        self.stdout.write(
            f"grid intensity: {summary.created} hours added, {summary.changed} replaced, "
            f"{summary.unchanged} unchanged"
        )
