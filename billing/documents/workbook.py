"""A month's statements as one Excel workbook for finance: a sheet of statements, one of lines.

Read as stored (a read writes nothing): an open month's drafts as their writers left them, a
closed month's as frozen. Numbers are written as numbers, never text: CHF amounts and prices
from their Decimals, so that the file holds their exact decimal text and reads back equal to
the statements to the cent; quantities to the 0.001 the statements keep. Excel has no time
zones: the hours are written as naive UTC datetimes, and their headers say UTC. Like the
jobs CSV of the account page, it is a data file: sheet names, headings and codes (draft,
closed, usage, adjustment, as the API gives them) are the same in every language, so that
finance's formulas and scripts read the page's file and the API's alike.
"""

import io
from datetime import UTC, datetime

from django.db.models import Prefetch
from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from billing.models import Period, StatementLine

CHF = "#,##0.00"
PRICE = "#,##0.000000"
QUANTITY = "#,##0.000"
HOUR = "yyyy-mm-dd hh:mm"
# (heading, width in characters, number format or None) per column
STATEMENT_COLUMNS = [
    ("Account", 28, None),
    ("Receiver type", 14, None),
    ("Receiver", 16, None),
    ("Rate class", 12, None),
    ("Status", 10, None),
    ("Total (CHF)", 16, CHF),
    ("Computed at (UTC)", 18, HOUR),
]
LINE_COLUMNS = [
    ("Account", 28, None),
    ("Kind", 12, None),
    ("Resource", 12, None),
    ("Quantity", 18, QUANTITY),
    ("Unit", 14, None),
    ("Unit price (CHF)", 16, PRICE),
    ("Amount (CHF)", 16, CHF),
    ("First hour (UTC)", 18, HOUR),
    ("End hour (UTC)", 18, HOUR),
    ("Reason", 40, None),
]


def naive_utc(moment: datetime) -> datetime:
    """The UTC wall time of an aware datetime, as Excel stores times (without a zone)."""
    return moment.astimezone(UTC).replace(tzinfo=None)


def add_sheet(book: Workbook, title: str, columns: list, rows: list[list]) -> None:
    """A sheet of rows under a bold, frozen header row, with set widths and formats."""
    sheet = book.create_sheet(title)
    sheet.append([heading for heading, _width, _format in columns])
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    sheet.freeze_panes = "A2"
    for row in rows:
        sheet.append(row)
    for index, (_heading, width, number_format) in enumerate(columns, start=1):
        letter = get_column_letter(index)
        sheet.column_dimensions[letter].width = width
        if number_format:
            for (cell,) in sheet.iter_rows(min_row=2, min_col=index, max_col=index):
                cell.number_format = number_format


def statement_rows(statements) -> list[list]:
    return [
        [
            s.account.name,
            s.receiver_type,
            s.receiver,
            s.account.rate_class,
            "closed" if s.period.is_closed else "draft",
            s.total_chf,
            naive_utc(s.computed_at),
        ]
        for s in statements
    ]


def line_rows(statements) -> list[list]:
    return [
        [
            s.account.name,
            line.kind,
            line.resource,
            line.quantity,
            line.unit,
            line.unit_price,
            line.amount_chf,
            naive_utc(line.first_hour),
            naive_utc(line.end_hour),
            line.reason,
        ]
        for s in statements
        for line in s.lines.all()
    ]


def statements_workbook(period: Period) -> bytes:
    """The .xlsx bytes of the period's statements (by account) and their lines."""
    lines = StatementLine.objects.order_by("kind", "resource", "first_hour", "pk")
    statements = (
        period.statements.select_related("account", "period")
        .prefetch_related(Prefetch("lines", queryset=lines))
        .order_by("account__name")
    )
    book = Workbook()
    book.remove(book.active)
    add_sheet(book, "Statements", STATEMENT_COLUMNS, statement_rows(statements))
    add_sheet(book, "Lines", LINE_COLUMNS, line_rows(statements))
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
