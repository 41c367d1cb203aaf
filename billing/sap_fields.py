"""SAP's rules for the fields kube-monitoring posts to SIFAC, in one place.

The export (billing/sifac/documents.py) builds its texts and checks its fields with these
functions, and billing/models/ makes field validators of them, so that the imports, the
admin and `full_clean` refuse when a value is entered whatever the export would refuse at
month end. The lengths are those of reference/sifac-idoc.md; billing/sifac/layouts.py
takes them from here. Pure: it imports nothing of the project (the resources and the
settings are passed in), so the models may import it.
"""

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal

# The IDoc fields whose values come from finance's data (E1BPAAITM, E1BPDOCHDRP).
LENGTH = {
    "ACTTYPE": 6,
    "ACTVTY_QTY": 17,
    "ACTIVITYUN": 3,
    "PRICE": 25,
    "SEG_TEXT": 50,
    "DOC_HDR_TX": 50,
    "REC_CCTR": 10,
    "REC_ORDER": 12,
    "REC_WBS_EL": 24,
}
# Printable ISO-8859-1: what a non-Unicode SAP file port takes, one byte per character.
TEXT = re.compile(r"[\x20-\x7e\xa0-\xff]*")
# A SAP key (activity type, unit, setting): upper-case letters and digits.
KEY = re.compile(r"[A-Z0-9]+")
DIGITS = re.compile(r"\d+")


@dataclass(frozen=True)
class Receiver:
    """One kind of SAP receiver object: the Account field holding it, its IDoc field."""

    field: str
    sap_field: str
    name: str
    syntax: re.Pattern
    said: str  # the syntax, as errors say it


def upper_key(length: int) -> re.Pattern:
    return re.compile(rf"[A-Z0-9]{{1,{length}}}")


# Cost centre (KOSTL), internal order (AUFNR), WBS element (POSID, external form).
RECEIVERS = {
    "cctr": Receiver(
        "cost_center",
        "REC_CCTR",
        "cost centre",
        upper_key(LENGTH["REC_CCTR"]),
        f"1 to {LENGTH['REC_CCTR']} upper-case letters or digits",
    ),
    "order": Receiver(
        "internal_order",
        "REC_ORDER",
        "internal order",
        upper_key(LENGTH["REC_ORDER"]),
        f"1 to {LENGTH['REC_ORDER']} upper-case letters or digits",
    ),
    "wbs": Receiver(
        "wbs_element",
        "REC_WBS_EL",
        "WBS element",
        re.compile(rf"[A-Z0-9][A-Z0-9.\-/]{{0,{LENGTH['REC_WBS_EL'] - 1}}}"),
        f"1 to {LENGTH['REC_WBS_EL']} upper-case letters, digits, '.', '-' or '/', "
        "starting with a letter or digit",
    ),
}


def text_problem(value: str, sap_field: str) -> str:
    """Why SAP's text field `sap_field` cannot carry `value`, or ''."""
    if len(value) > LENGTH[sap_field]:
        return f"{value!r} is longer than SAP's {LENGTH[sap_field]} characters ({sap_field})"
    if not TEXT.fullmatch(value):
        bad = "".join(sorted({c for c in value if not TEXT.fullmatch(c)}))
        return (
            f"{value!r} has characters SAP cannot take ({bad!r}; {sap_field} takes printable "
            "ISO-8859-1 only)"
        )
    return ""


def receiver_problem(kind: str, value: str) -> str:
    """Why `value` is not a SAP receiver of `kind` (cctr, order, wbs), or ''."""
    receiver = RECEIVERS[kind]
    if receiver.syntax.fullmatch(value):
        return ""
    return f"{value!r} is not a SAP {receiver.name} ({receiver.sap_field}): {receiver.said}"


def alpha(value: str, length: int) -> str:
    """SAP's ALPHA conversion: an all-digit key is zero-padded to its field's length."""
    return value.zfill(length) if DIGITS.fullmatch(value) else value


def header_text(month: date) -> str:
    """DOC_HDR_TX of a period's documents."""
    return f"Kubernetes {month:%Y-%m}"


def item_text(
    month: date, account: str, resource: str, adjustment: bool, first_hour: datetime
) -> str:
    """SEG_TEXT of an item: the period, account and resource, and which part of it."""
    text = f"{month:%Y-%m} {account} {resource}"
    if adjustment:
        return text + " adjustment"
    if first_hour.day != 1 or first_hour.hour:
        text += f" from {first_hour:%d %H}h"  # a tariff changed within the month
    return text


def account_name_length(resources: Iterable[str]) -> int:
    """The longest account name every item text of the export still carries.

    The room SEG_TEXT leaves beside the longest text built around the name: every
    resource, as an adjustment or as a tariff's part of a month.
    """
    month, late = date(2000, 1, 1), datetime(2000, 1, 31, 23, tzinfo=UTC)
    longest = max(
        len(item_text(month, "", resource, adjustment, late))
        for resource in resources
        for adjustment in (False, True)
    )
    return LENGTH["SEG_TEXT"] - longest


def account_name_problem(name: str, resources: Iterable[str]) -> str:
    """Why the export could not name account `name` in its item texts, or ''."""
    room = account_name_length(resources)
    if len(name) > room:
        return (
            f"{name!r} is longer than {room} characters, what SAP's item text (SEG_TEXT, "
            f"{LENGTH['SEG_TEXT']}) leaves beside the month, the resource and the tariff's hour"
        )
    if not TEXT.fullmatch(name):
        return text_problem(name, "SEG_TEXT")
    return ""


def codes(raw, setting: str, sap_field: str) -> dict[str, str]:
    """A setting of SAP codes per resource (a JSON object, or a dict), checked.

    Raise ValueError naming the setting when it is not a JSON object of 1 to N upper-case
    letters or digits (N the length of `sap_field`).
    """
    value = raw
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError as e:
            raise ValueError(f"setting {setting}: not JSON: {e}") from None
    if not isinstance(value, dict):
        raise ValueError(f"setting {setting}: must be a JSON object of resource to code")
    length = LENGTH[sap_field]
    for resource, code in value.items():
        if not isinstance(code, str) or not upper_key(length).fullmatch(code):
            raise ValueError(
                f"setting {setting}[{resource}]: {code!r} must be 1 to {length} upper-case "
                "letters or digits"
            )
    return value


def activity_type_problem(value: str, activity_types: dict[str, str]) -> str:
    """Why `value` is not an activity type the settings list, or ''."""
    if value in activity_types.values():
        return ""
    known = ", ".join(sorted(set(activity_types.values())))
    return f"{value!r} is not one of KUBEMON_SIFAC_ACTIVITY_TYPES ({known})"


def tariff_codes_problem(
    resource: str, activity_type: str, activity_types: dict[str, str], units: dict[str, str]
) -> str:
    """Why the export could not post a tariff's lines (`field: why`), or ''.

    A named activity type is the field's own rule (`activity_type_problem`); this is
    what the tariff's resource needs of the settings.
    """
    if not activity_type and resource not in activity_types:
        return (
            f"activity_type: empty, and KUBEMON_SIFAC_ACTIVITY_TYPES has no {resource} entry; "
            "name an activity type"
        )
    if resource not in units:
        return f"resource: KUBEMON_SIFAC_UNITS has no SAP unit for {resource}"
    return ""


def price_problem(price: Decimal, maximum: Decimal) -> str:
    """Why a tariff may not carry `price` (CHF per unit), or ''."""
    if not price.is_finite():
        return "must be a number"
    if price < 0:
        return "must be zero or more"
    if price > maximum:
        return f"{price} is above KUBEMON_MAX_PRICE_CHF ({maximum} CHF per unit)"
    return ""
