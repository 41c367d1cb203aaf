"""Template filters for money, quantities and durations, formatted per the active language.

Money, quantities and percentages are written by kubemon/number_formats.py, which the PDF
statements and the mails share: 1,234.50 in English, 1'234.50 in Swiss French.
"""

from django import template

from kubemon.number_formats import amount, chf, percent

register = template.Library()
register.filter(amount)
register.filter(chf)
register.filter(percent)


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
