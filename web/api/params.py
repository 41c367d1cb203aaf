"""Query parameters of the API, checked one by one: a bad one is a 400 that names it.

The answer is `{"detail": "<param>: <why>", "param": "<param>", "reason": "<why>"}`, the
shape the metric API (promadapter) answers too. The values are parsed by kubemon/params.py,
shared with the metric API.
"""

from datetime import date, datetime

from django.utils import timezone
from rest_framework.exceptions import APIException

from billing.utc import NotAMonth, parse_month
from kubemon import params as parsers
from kubemon.params import ParamError

# Page numbers and sizes: any count of rows a table may hold, as nine digits at most.
MAX_WHOLE = 999_999_999


class BadParam(APIException):
    """A query parameter that cannot be used, answered 400 with its name and the reason."""

    status_code = 400
    default_code = "bad_param"

    def __init__(self, param: str, reason: str):
        super().__init__({"detail": f"{param}: {reason}", "param": param, "reason": reason})


def time_param(params, name: str, default: datetime | None = None) -> datetime | None:
    """An ISO 8601 time or unix seconds (naive means UTC), or `default` when not given."""
    raw = params.get(name)
    if not raw:
        return default
    return checked(parsers.parse_time, name, raw)


def check_window(start: datetime | None, end: datetime | None):
    """A window given by both ends must be forward and bounded (kubemon/params.py)."""
    if start is not None and end is not None:
        checked(parsers.check_window, start, end)


def positive_int(params, name: str, default: int) -> int:
    raw = params.get(name)
    if raw is None:
        return default
    return checked(parsers.parse_whole, name, raw, MAX_WHOLE)


def checked(parse, *args):
    """Call a parser of kubemon/params.py, its ParamError turned into the API's 400."""
    try:
        return parse(*args)
    except ParamError as e:
        raise BadParam(e.param, e.reason) from None


def choice(params, name: str, choices, default: str) -> str:
    """One of `choices`, or `default` when not given; an empty value is not one of them."""
    value = params.get(name, default)
    if value not in choices:
        raise BadParam(name, f"{value!r} is not one of {', '.join(choices)}")
    return value


def month_param(params, name: str, required: bool) -> date | None:
    """A month as YYYY-MM (or `previous`) from 1970-01 to 2199-12; None when optional and not
    given. billing.utc.parse_month parses it, for the pages (web/forms.py) too."""
    raw = params.get(name, "")
    if not raw and not required:
        return None
    try:
        return parse_month(raw, timezone.now())
    except NotAMonth as e:
        raise BadParam(name, str(e).removeprefix(f"{name}: ")) from None
