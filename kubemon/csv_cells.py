"""CSV cells a spreadsheet will not run as formulas (CSV injection).

The rule, for every CSV the app writes (account jobs, metric values, SIFAC export): a text
cell starting with `=`, `+`, `-`, `@`, a tab or a carriage return gets a leading `'`, which
spreadsheets show as text; a number, and text that is exactly a decimal number ("-12.50", a
negative amount), is written as it is, so that amounts still add up and SAP still reads them.
"""

import re

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
DECIMAL = re.compile(r"[-+]?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?")


def neutralise(value):
    """Return the value to write in a CSV cell: formula-looking text quoted, the rest as is."""
    if value is None:
        return ""
    if isinstance(value, str) and value.startswith(FORMULA_START) and not DECIMAL.fullmatch(value):
        return "'" + value
    return value
