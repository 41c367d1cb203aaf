"""Import the grid's carbon intensity per UTC hour: `import_grid_intensity FILE.csv`.

Columns, read by header name in any order (billing/ledger/imports.py's rules): `hour`, an
ISO 8601 time with an offset or Z on a UTC hour boundary (the hour [hour, hour + 1 h)), and
`gco2_per_kwh`, g CO2-eq per kWh, from 0 to MAX_GCO2_PER_KWH. The whole file is checked
first; a bad row (a naive or non-aligned hour, an hour twice, a value that is not a finite
number in range) refuses it with its line and column and nothing is written. A row replaces
the stored figure of its hour; hours not in the file keep theirs. Carbon is computed when
read (billing/ledger/carbon.py), so nothing else needs recomputing after an import.
"""

import math
from datetime import UTC, datetime
from pathlib import Path

from django.db import transaction

from billing.ledger.imports import CsvImportError, Summary, read_rows
from billing.models import MAX_GCO2_PER_KWH, GridIntensity
from billing.utc import is_hour_aligned

GRID_COLUMNS = ("hour", "gco2_per_kwh")


def parse_hour(value: str) -> datetime:
    """The UTC hour start an ISO time with a zone names; raise ValueError naming `hour`."""
    try:
        t = datetime.fromisoformat(value)
    except ValueError:
        raise ValueError(f"hour: {value!r} is not an ISO 8601 time") from None
    if t.tzinfo is None:
        raise ValueError(f"hour: {value!r} needs a time zone, e.g. Z")
    if not is_hour_aligned(t):
        raise ValueError(f"hour: {value!r} is not the start of a UTC hour")
    return t.astimezone(UTC)


def parse_intensity(value: str) -> float:
    """g CO2-eq per kWh; raise ValueError naming `gco2_per_kwh`."""
    try:
        number = float(value)
    except ValueError:
        raise ValueError(f"gco2_per_kwh: {value!r} is not a number") from None
    if not math.isfinite(number) or not 0 <= number <= MAX_GCO2_PER_KWH:
        raise ValueError(
            f"gco2_per_kwh: {value!r} is not between 0 and {MAX_GCO2_PER_KWH} g CO2-eq/kWh"
        )
    return number


def read_intensities(path: Path) -> dict[datetime, float]:
    """The file's figure per hour, checked whole; raise CsvImportError at the first fault."""
    figures: dict[datetime, float] = {}
    lines: dict[datetime, int] = {}
    for line, row in read_rows(path, GRID_COLUMNS):
        try:
            hour = parse_hour(row["hour"])
            figure = parse_intensity(row["gco2_per_kwh"])
        except ValueError as e:
            raise CsvImportError(f"line {line}: {e}") from None
        if hour in figures:
            raise CsvImportError(
                f"line {line}: hour: {row['hour']!r} is already on line {lines[hour]}"
            )
        figures[hour] = figure
        lines[hour] = line
    return figures


def import_grid_intensity(path: Path) -> Summary:
    """Store the file's hourly intensities: created for new hours, changed for hours whose
    stored figure the file replaces, unchanged for the same figure."""
    figures = read_intensities(path)
    summary = Summary()
    if not figures:
        return summary
    with transaction.atomic():
        stored = {
            row.hour: row
            for row in GridIntensity.objects.filter(hour__gte=min(figures), hour__lte=max(figures))
            if row.hour in figures
        }
        created, changed = [], []
        for hour, figure in figures.items():
            old = stored.get(hour)
            if old is None:
                created.append(GridIntensity(hour=hour, gco2_per_kwh=figure))
            elif old.gco2_per_kwh != figure:
                old.gco2_per_kwh = figure
                changed.append(old)
        GridIntensity.objects.bulk_create(created, batch_size=1000)
        GridIntensity.objects.bulk_update(changed, ["gco2_per_kwh"], batch_size=1000)
    summary.created = len(created)
    summary.changed = len(changed)
    summary.unchanged = len(figures) - len(created) - len(changed)
    return summary
