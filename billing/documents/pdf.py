"""The PDF statement of one account's closed month, for its lab head and for finance.

Rendered by WeasyPrint from billing/templates/billing/statement_pdf.html, in the account's
language (Account.language) with the pages' number formats, times in the display time
zone. The document is the account's: its lacking hours are those of the account's clusters
only, whoever downloads it, so that the copy mailed to the lab and the one finance reads are
the same. An open month's statement is a draft that still changes: it has no PDF.

The HTML holds no link to load: the fetcher refuses every URL, so that nothing in an
account's name or a reason can make the renderer read a file or call a server.
"""

from django.conf import settings
from django.template.loader import render_to_string
from django.utils import timezone, translation

from billing.documents.content import statement_content
from billing.ledger.coverage import clusters_of
from billing.models import Statement


class DraftStatement(Exception):
    """The statement of a month not closed yet: no PDF; the message says so."""


def pdf_file_name(statement: Statement) -> str:
    """statement-YYYY-MM-<account>.pdf"""
    return f"statement-{statement.period.month:%Y-%m}-{statement.account.name}.pdf"


def statement_pdf(statement: Statement) -> bytes:
    """The PDF of a closed month's statement; a draft raises DraftStatement."""
    if not statement.period.is_closed:
        raise DraftStatement(
            f"statement {statement.pk} ({statement.account.name}, {statement.period}) is a "
            "draft: its month is not closed, and only a closed month's statement has a PDF"
        )
    with (
        translation.override(statement.account.language),
        timezone.override(settings.KUBEMON_DISPLAY_TIME_ZONE),
    ):
        # The content names resources and receivers in the language active when it is made.
        content = statement_content(statement, clusters_of([statement.account_id]))
        html = render_to_string(
            "billing/statement_pdf.html",
            {"c": content, "display_time_zone": settings.KUBEMON_DISPLAY_TIME_ZONE},
        )
    # Imported here: WeasyPrint takes about a second to load, which every page and command
    # importing this module would otherwise pay, PDF or not.
    from weasyprint import HTML
    from weasyprint.urls import URLFetcher

    return HTML(string=html, url_fetcher=URLFetcher(allowed_protocols=())).write_pdf()
