"""The postings of a closed period: one SAP document per account, one item per line.

Everything SAP would refuse is refused here, before any file or batch exists: an account
without a receiver, an unknown activity type, a negative quantity, a text longer than its
field or with characters SAP cannot take. The rules are billing/sap_fields.py's, which the
imports and the admin apply when the data is entered, so these refusals meet only data
older than those rules or settings changed since. The `unassigned` account is never
exported, and unless allowed, its usage stops the export, named by namespace and amount.
"""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

from django.conf import settings

from billing import sap_fields as sap
from billing.models import Account, Period, StatementJob
from billing.utc import month_bounds

CURRENCY = "CHF"


class ExportRefused(Exception):
    """Bad data or settings; the message names the account (or setting) and the field."""


@dataclass
class Document:
    account: str
    total: Decimal
    header: dict[str, str]
    items: list[dict[str, str]] = field(default_factory=list)


@dataclass(frozen=True)
class SifacSettings:
    co_area: str
    sender_cost_center: str
    activity_types: dict[str, str]
    units: dict[str, str]
    username: str
    client: str
    sender_port: str
    sender_system: str
    receiver_port: str
    receiver_system: str


def codes_setting(name: str, sap_field: str) -> dict[str, str]:
    try:
        return sap.codes(getattr(settings, name), name, sap_field)
    except ValueError as e:
        raise ExportRefused(str(e)) from None


def sifac_settings() -> SifacSettings:
    """Read and check the SIFAC settings; a bad one refuses the export, named."""
    s = SifacSettings(
        co_area=settings.KUBEMON_SIFAC_CO_AREA,
        sender_cost_center=sap.alpha(settings.KUBEMON_SIFAC_SENDER_COST_CENTER, 10),
        activity_types=codes_setting("KUBEMON_SIFAC_ACTIVITY_TYPES", "ACTTYPE"),
        units=codes_setting("KUBEMON_SIFAC_UNITS", "ACTIVITYUN"),
        username=settings.KUBEMON_SIFAC_USERNAME,
        client=settings.KUBEMON_SIFAC_CLIENT,
        sender_port=settings.KUBEMON_SIFAC_SENDER_PORT,
        sender_system=settings.KUBEMON_SIFAC_SENDER_SYSTEM,
        receiver_port=settings.KUBEMON_SIFAC_RECEIVER_PORT,
        receiver_system=settings.KUBEMON_SIFAC_RECEIVER_SYSTEM,
    )
    checks = [
        ("KUBEMON_SIFAC_CO_AREA", s.co_area, 4),
        ("KUBEMON_SIFAC_SENDER_COST_CENTER", s.sender_cost_center, 10),
        ("KUBEMON_SIFAC_USERNAME", s.username, 12),
        ("KUBEMON_SIFAC_CLIENT", s.client, 3),
        ("KUBEMON_SIFAC_SENDER_PORT", s.sender_port, 10),
        ("KUBEMON_SIFAC_SENDER_SYSTEM", s.sender_system, 10),
        ("KUBEMON_SIFAC_RECEIVER_PORT", s.receiver_port, 10),
        ("KUBEMON_SIFAC_RECEIVER_SYSTEM", s.receiver_system, 10),
    ]
    for name, value, length in checks:
        if not isinstance(value, str) or not sap.KEY.fullmatch(value) or len(value) > length:
            raise ExportRefused(
                f"setting {name}: {value!r} must be 1 to {length} upper-case letters or digits"
            )
    return s


def checked_text(account: str, sap_field: str, value: str) -> str:
    if problem := sap.text_problem(value, sap_field):
        raise ExportRefused(f"account {account}: {sap_field}: {problem}")
    return value


def receiver_fields(statement) -> dict[str, str]:
    name = statement.account.name
    kind, value = statement.receiver_type, statement.receiver
    if kind not in sap.RECEIVERS or not value:
        raise ExportRefused(
            f"account {name}: receiver: none set (a cost centre, an internal order or a WBS "
            "element); set it with import_accounts or the admin, in a later period"
        )
    receiver = sap.RECEIVERS[kind]
    if problem := sap.receiver_problem(kind, value):
        raise ExportRefused(f"account {name}: {receiver.sap_field}: {problem}")
    length = sap.LENGTH[receiver.sap_field]
    return {receiver.sap_field: sap.alpha(value, length) if kind != "wbs" else value}


def unassigned_usage(period: Period) -> dict[str, Decimal]:
    """Return the amounts of the period's unassigned usage per cluster/namespace."""
    amounts: dict[str, Decimal] = defaultdict(Decimal)
    detail = StatementJob.objects.filter(
        line__statement__period=period, line__statement__account__name=Account.UNASSIGNED
    ).select_related("job__cluster", "line")
    for d in detail:
        amounts[f"{d.job.cluster.name}/{d.job.namespace}"] += d.quantity * d.line.unit_price
    return {
        ns: a.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP) for ns, a in sorted(amounts.items())
    }


def last_day(month: date) -> str:
    """The posting date of a period: its last day, YYYYMMDD."""
    return f"{month_bounds(month)[1] - timedelta(days=1):%Y%m%d}"


def item(statement, line, s: SifacSettings) -> dict[str, str]:
    name = statement.account.name
    activity = line.tariff.activity_type or s.activity_types.get(line.resource, "")
    if activity not in s.activity_types.values():
        raise ExportRefused(
            f"account {name}: ACTTYPE: unknown activity type {activity!r} for {line.resource} "
            "(KUBEMON_SIFAC_ACTIVITY_TYPES lists the known ones)"
        )
    if line.quantity < 0:
        raise ExportRefused(
            f"account {name}: ACTVTY_QTY: negative quantity {line.quantity} for {line.resource} "
            f"({line.kind}); SAP posts reversals separately"
        )
    unit = s.units.get(line.resource, "")
    if not unit:
        raise ExportRefused(f"setting KUBEMON_SIFAC_UNITS: no unit for {line.resource}")
    text = sap.item_text(
        statement.period.month,
        name,
        line.resource,
        line.kind == line.Kind.ADJUSTMENT,
        line.first_hour,
    )
    numbers = {"ACTVTY_QTY": f"{line.quantity:.3f}", "PRICE": f"{line.amount_chf:.2f}"}
    for field_name, value in numbers.items():
        if len(value) > sap.LENGTH[field_name]:
            raise ExportRefused(f"account {name}: {field_name}: {value} is too large for SAP")
    return {
        "SEND_CCTR": s.sender_cost_center,
        "ACTTYPE": activity,
        "ACTIVITYUN": unit,
        "CURRENCY": CURRENCY,
        **numbers,
        "SEG_TEXT": checked_text(name, "SEG_TEXT", text),
        **receiver_fields(statement),
    }


def documents(period: Period, allow_unassigned: bool) -> list[Document]:
    """Return the period's documents, in account order, or refuse naming what is wrong."""
    if not period.is_closed:
        raise ExportRefused(f"period: {period} is not closed; close it first (close_period)")
    s = sifac_settings()
    unassigned = unassigned_usage(period)
    if unassigned and not allow_unassigned:
        listed = ", ".join(f"{ns} {amount} CHF" for ns, amount in unassigned.items())
        raise ExportRefused(
            f"period {period} has unassigned usage ({listed}); map the namespaces to accounts "
            "(collected again, it is billed as adjustments of the next open month), and "
            "export without it with --allow-unassigned"
        )
    docs = []
    day = last_day(period.month)
    for statement in period.statements.exclude(account__name=Account.UNASSIGNED).select_related(
        "account", "period"
    ):
        lines = list(statement.lines.select_related("tariff").order_by("kind", "resource", "pk"))
        if not lines:
            continue
        name = statement.account.name
        header = {
            "CO_AREA": s.co_area,
            "DOCDATE": day,
            "POSTGDATE": day,
            "DOC_HDR_TX": checked_text(name, "DOC_HDR_TX", sap.header_text(period.month)),
            "USERNAME": s.username,
            "OBJ_SYS": s.sender_system,
        }
        doc = Document(name, statement.total_chf, header)
        doc.items = [item(statement, line, s) for line in lines]
        docs.append(doc)
    return docs
