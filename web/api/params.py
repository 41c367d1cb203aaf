"""Query parameters of the API, checked one by one: a bad one is a 400 that names it.

The answer is `{"detail": "<param>: <why>", "param": "<param>", "reason": "<why>"}`, the
shape the metric API (promadapter) answers too.
"""

from datetime import date, datetime

from rest_framework.exceptions import APIException

from billing.periods import PeriodError, parse_month
from promadapter.params import ParamError, parse_time


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
    try:
        return parse_time(name, raw)
    except ParamError as e:
        raise BadParam(e.param, e.reason) from None


def check_window(start: datetime | None, end: datetime | None):
    if start is not None and end is not None and start >= end:
        raise BadParam("start", "must be before end")


def positive_int(params, name: str, default: int) -> int:
    raw = params.get(name)
    if raw is None:
        return default
    if not raw.isascii() or not raw.isdigit() or len(raw) > 9 or int(raw) < 1:
        raise BadParam(name, f"{raw!r} is not a whole number of at least 1")
    return int(raw)


def choice(params, name: str, choices, default: str) -> str:
    value = params.get(name) or default
    if value not in choices:
        raise BadParam(name, f"{value!r} is not one of {', '.join(choices)}")
    return value


def month_param(params, name: str, required: bool) -> date | None:
    """A month as YYYY-MM (or `previous`); None when optional and not given."""
    raw = params.get(name, "")
    if not raw and not required:
        return None
    try:
        return parse_month(raw)
    except PeriodError as e:
        raise BadParam(name, str(e).removeprefix(f"{name}: ")) from None
