"""Parsers of query-parameter values, shared by the metric API (promadapter) and the REST API.

Each returns a checked value or raises ParamError naming the parameter and saying why; the
views answer it as a 400 and change nothing. The documented ranges (docs/security.md):
times between 1970 and 2200 (billing/utc.py's EARLIEST and LATEST, which bound months too),
windows of at most MAX_WINDOW, steps of 1 ms to MAX_WINDOW, whole numbers of ASCII digits
only, text without NUL or control characters.
"""

import re
import unicodedata
from datetime import UTC, datetime, timedelta

from billing.utc import EARLIEST, LATEST

# Ten years of data: more than any Prometheus keeps, and a bounded scan of the usage table.
MAX_WINDOW = timedelta(days=3653)
# ISO 8601 with offset and nanoseconds is 35 characters; anything much longer is not a time.
MAX_TIME_LENGTH = 40
# `[0-9]`, not `\d`: Python's `\d` also matches Arabic-Indic and other Unicode digits.
UNIX_SECONDS = re.compile(r"[0-9]{1,11}(\.[0-9]{1,9})?")
DIGITS = re.compile(r"[0-9]+")
# A browser keeps URLs to about 2,000 characters; no parameter needs more.
MAX_TEXT_LENGTH = 2048


class ParamError(ValueError):
    """A query parameter that cannot be used; `param` names it, `reason` says why."""

    def __init__(self, param: str, reason: str):
        super().__init__(f"{param}: {reason}")
        self.param = param
        self.reason = reason


def parse_time(param: str, raw: str) -> datetime:
    """Return an aware UTC datetime from unix seconds or ISO 8601 (naive means UTC)."""
    if len(raw) > MAX_TIME_LENGTH or not raw.isascii():
        raise ParamError(param, "must be ISO 8601 (2025-01-31T12:00:00Z) or unix seconds")
    try:
        if UNIX_SECONDS.fullmatch(raw):
            parsed = datetime.fromtimestamp(float(raw), tz=UTC)
        else:
            parsed = datetime.fromisoformat(raw)
            if parsed.tzinfo is None:
                parsed = parsed.replace(tzinfo=UTC)
            parsed = parsed.astimezone(UTC)
    except ValueError:
        raise ParamError(param, "must be ISO 8601 (2025-01-31T12:00:00Z) or unix seconds") from None
    except (OverflowError, OSError):
        # Year 1 minus an offset, or 9999-12-31 plus one, is outside what datetime (or the
        # C library, for unix seconds) holds.
        parsed = None
    if parsed is None or not EARLIEST <= parsed <= LATEST:
        raise ParamError(param, f"must be between {EARLIEST:%Y-%m-%d} and {LATEST:%Y-%m-%d}")
    return parsed


def check_window(start: datetime, end: datetime):
    """Refuse a window that is empty, backwards or longer than MAX_WINDOW (blamed on start)."""
    if start >= end:
        raise ParamError("start", "must be before end")
    check_span(start, end)


def check_span(start: datetime, end: datetime):
    """Refuse a window longer than MAX_WINDOW (blamed on start)."""
    if end - start > MAX_WINDOW:
        raise ParamError("start", f"the window may be at most {MAX_WINDOW.days} days long")


def parse_whole(param: str, raw: str, maximum: int, minimum: int = 1) -> int:
    """Return a whole number of ASCII digits in [minimum, maximum]."""
    # The length is checked before int(): int() refuses numbers of more than 4,300 digits.
    if DIGITS.fullmatch(raw) and len(raw) <= len(str(maximum)):
        value = int(raw)
        if minimum <= value <= maximum:
            return value
    raise ParamError(param, f"must be a whole number from {minimum} to {maximum}")


def check_text(param: str, raw: str, max_length: int = MAX_TEXT_LENGTH) -> str:
    """Return a text value without NUL or other control characters, of bounded length."""
    if len(raw) > max_length:
        raise ParamError(param, f"may be at most {max_length} characters long")
    if any(unicodedata.category(c) == "Cc" for c in raw):
        raise ParamError(param, "must not contain NUL or other control characters")
    return raw
