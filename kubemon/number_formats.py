"""Money, quantities and shares as the pages and the documents write them, per the language.

Numbers are grouped in thousands whatever USE_THOUSAND_SEPARATOR says (kept off so that ids
in pages and URLs are never grouped): 1,234.50 in English, 1'234.50 in Swiss French
(kubemon/formats). The pages' template filters (web/templatetags/formatting.py), the PDF
statements' (billing/templatetags/statement_formats.py) and the mails' subjects use these.
"""

from decimal import ROUND_HALF_UP, Decimal

from django.utils.formats import number_format


def rounded(value, places: int) -> Decimal:
    """Round half-up first: Django's number_format cuts extra decimals off instead."""
    return Decimal(str(value)).quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)


def chf(value) -> str:
    """An amount in CHF with two decimals: 1'234.50."""
    if value is None or value == "":
        return ""
    return number_format(rounded(value, 2), decimal_pos=2, force_grouping=True)


def amount(value, decimals=2) -> str:
    """A quantity with `decimals` decimals, grouped in thousands."""
    if value is None or value == "":
        return ""
    places = int(decimals)
    return number_format(rounded(value, places), decimal_pos=places, force_grouping=True)


def percent(value) -> str:
    """A ratio as a whole percentage: 0.456 -> 46 %; none (nothing to divide by) -> –."""
    if value is None:
        return "–"
    return number_format(rounded(value * 100, 0), decimal_pos=0) + " %"
