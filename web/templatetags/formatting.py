"""Template filters for money and quantities, formatted per the active language.

Numbers are grouped in thousands whatever USE_THOUSAND_SEPARATOR says (kept off so that ids
in pages and URLs are never grouped): 1,234.50 in English, 1'234.50 in Swiss French.
"""

from decimal import ROUND_HALF_UP, Decimal

from django import template
from django.utils.formats import number_format

register = template.Library()


def rounded(value, places: int) -> Decimal:
    """Round half-up first: Django's number_format cuts extra decimals off instead."""
    return Decimal(str(value)).quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)


@register.filter
def chf(value) -> str:
    """An amount in CHF with two decimals: 1'234.50."""
    if value is None or value == "":
        return ""
    return number_format(rounded(value, 2), decimal_pos=2, force_grouping=True)


@register.filter
def amount(value, decimals=2) -> str:
    """A quantity with `decimals` decimals, grouped in thousands."""
    if value is None or value == "":
        return ""
    places = int(decimals)
    return number_format(rounded(value, places), decimal_pos=places, force_grouping=True)


@register.filter
def percent(value) -> str:
    if value is None:
        return "–"
    return number_format(rounded(value * 100, 0), decimal_pos=0) + " %"


@register.filter
def duration(value) -> str:
    """A timedelta as days, hours and minutes: 2 d 3 h, 1 h 20 min, 5 min."""
    if value is None:
        return "–"
    minutes = int(value.total_seconds() // 60)
    sign = "-" if minutes < 0 else ""
    days, rest = divmod(abs(minutes), 24 * 60)
    hours, minutes = divmod(rest, 60)
    if days:
        return f"{sign}{days} d {hours} h"
    if hours:
        return f"{sign}{hours} h {minutes} min"
    return f"{sign}{minutes} min"
