"""CSV imports maintained by finance: tariffs and accounts with their namespace mappings.

A file is checked whole before anything is written: the first bad row refuses the import
with its line number and the field at fault, and the database stays as it was. Importing
the same file again changes nothing. An import that changed something recomputes the open
months' drafts after it (billing/ledger/drafts.py); a month it leaves unpriced is a warning.
"""

import csv
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path

from django.db import transaction
from django.utils import timezone

from billing.ledger.drafts import refresh_open_periods
from billing.ledger.tariffs import tariff_change_problem
from billing.models import Account, Cluster, NamespaceAccount, Tariff
from billing.resources import RESOURCES, tariff_problem
from billing.utc import is_hour_aligned

TARIFF_COLUMNS = ("resource", "unit", "price_chf", "policy", "valid_from", "activity_type")
ACCOUNT_COLUMNS = (
    "account",
    "receiver_type",
    "receiver",
    "cluster",
    "namespace",
    "valid_from",
    "valid_until",
)
ACTIVITY_TYPE = re.compile(r"[A-Z0-9]{1,6}")
# SAP keys: cost centre (KOSTL, 10), internal order (AUFNR, 12), WBS element (24, external).
RECEIVERS = {
    "cctr": ("cost_center", re.compile(r"[A-Z0-9]{1,10}")),
    "order": ("internal_order", re.compile(r"[A-Z0-9]{1,12}")),
    "wbs": ("wbs_element", re.compile(r"[A-Z0-9][A-Z0-9.\-/]{0,23}")),
}
NAMESPACE = re.compile(r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?")


class CsvImportError(Exception):
    """A refused import: the message names the line and the field."""


@dataclass
class Summary:
    created: int = 0
    changed: int = 0
    unchanged: int = 0
    # Why open months' drafts could not be recomputed after the import (it stands).
    warnings: tuple[str, ...] = ()

    def __str__(self):
        return f"{self.created} created, {self.changed} changed, {self.unchanged} unchanged"


def read_rows(path: Path, columns: tuple[str, ...]) -> list[tuple[int, dict]]:
    """Return (line number, row) pairs of a UTF-8 CSV file with exactly `columns`."""
    try:
        text = Path(path).read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as e:
        raise CsvImportError(f"{path}: cannot read: {e}") from None
    reader = csv.DictReader(text.splitlines(), strict=True)
    if tuple(reader.fieldnames or ()) != columns:
        raise CsvImportError(
            f"line 1: the header must be {','.join(columns)}, "
            f"not {','.join(reader.fieldnames or [])}"
        )
    rows = []
    try:
        for row in reader:
            if None in row or None in row.values():
                raise CsvImportError(f"line {reader.line_num}: expected {len(columns)} fields")
            rows.append((reader.line_num, {k: v.strip() for k, v in row.items()}))
    except csv.Error as e:
        raise CsvImportError(f"line {reader.line_num}: {e}") from None
    return rows


def parse_valid_time(value: str, field: str) -> datetime:
    """Parse a date (midnight UTC) or an ISO time with a zone, on an hour boundary."""
    try:
        if len(value) == 10:
            d = date.fromisoformat(value)
            return datetime(d.year, d.month, d.day, tzinfo=UTC)
        t = datetime.fromisoformat(value)
    except ValueError:
        raise ValueError(f"{field}: {value!r} is not a date (YYYY-MM-DD) or ISO time") from None
    if t.tzinfo is None:
        raise ValueError(f"{field}: {value!r} needs a time zone, e.g. Z")
    if not is_hour_aligned(t):
        raise ValueError(f"{field}: {value!r} is not on an hour boundary")
    return t.astimezone(UTC)


def tariff_from(row: dict) -> Tariff:
    """Build an unsaved tariff from a CSV row; raise ValueError naming the field."""
    try:
        price = Decimal(row["price_chf"])
    except InvalidOperation:
        raise ValueError(f"price_chf: {row['price_chf']!r} is not a number") from None
    if not price.is_finite() or price.as_tuple().exponent < -6:
        raise ValueError(f"price_chf: {row['price_chf']!r} needs at most 6 decimals")
    if row["activity_type"] and not ACTIVITY_TYPE.fullmatch(row["activity_type"]):
        raise ValueError(
            f"activity_type: {row['activity_type']!r} is not 1 to 6 upper-case letters or digits"
        )
    tariff = Tariff(
        resource=row["resource"],
        unit=row["unit"],
        price_chf=price,
        policy=row["policy"],
        valid_from=parse_valid_time(row["valid_from"], "valid_from"),
        activity_type=row["activity_type"],
    )
    if problem := tariff_problem(tariff):
        raise ValueError(problem)
    return tariff


def import_tariffs(path: Path) -> Summary:
    """Create or update the tariffs of a CSV file (identity: resource and valid_from)."""
    tariffs = {}
    for line, row in read_rows(path, TARIFF_COLUMNS):
        try:
            tariff = tariff_from(row)
        except ValueError as e:
            raise CsvImportError(f"line {line}: {e}") from None
        key = (tariff.resource, tariff.valid_from)
        if key in tariffs:
            raise CsvImportError(
                f"line {line}: valid_from: a second {key[0]} tariff from that time"
            )
        tariffs[key] = (line, tariff)
    summary = Summary()
    with transaction.atomic():
        for line, new in tariffs.values():
            old = Tariff.objects.filter(resource=new.resource, valid_from=new.valid_from).first()
            fields = ("unit", "price_chf", "policy", "activity_type")
            if old and all(getattr(old, f) == getattr(new, f) for f in fields):
                summary.unchanged += 1
                continue
            new.pk = old.pk if old else None
            if problem := tariff_change_problem(new):
                raise CsvImportError(f"line {line}: {problem}")
            new.save()
            if old:
                summary.changed += 1
            else:
                summary.created += 1
    if summary.created or summary.changed:
        summary.warnings = tuple(refresh_open_periods(timezone.now()))
    return summary


@dataclass
class AccountRow:
    line: int
    account: str
    receiver_field: str
    receiver: str
    cluster: str
    namespace: str
    valid_from: datetime
    valid_until: datetime | None


def account_row(line: int, row: dict) -> AccountRow:
    """Check one account CSV row; raise ValueError naming the field."""
    if not row["account"] or len(row["account"]) > 100:
        raise ValueError("account: must be 1 to 100 characters")
    if row["account"] == Account.UNASSIGNED:
        raise ValueError("account: 'unassigned' is not an account finance can map to")
    if row["receiver_type"] not in RECEIVERS:
        raise ValueError(f"receiver_type: {row['receiver_type']!r} is not cctr, order or wbs")
    field, pattern = RECEIVERS[row["receiver_type"]]
    if not pattern.fullmatch(row["receiver"]):
        raise ValueError(
            f"receiver: {row['receiver']!r} is not a valid SAP {row['receiver_type']} "
            "(upper-case letters and digits, at most the SAP length)"
        )
    if not row["cluster"] or len(row["cluster"]) > 100:
        raise ValueError("cluster: must be 1 to 100 characters")
    if not NAMESPACE.fullmatch(row["namespace"]):
        raise ValueError(f"namespace: {row['namespace']!r} is not a Kubernetes namespace name")
    valid_from = parse_valid_time(row["valid_from"], "valid_from")
    valid_until = (
        parse_valid_time(row["valid_until"], "valid_until") if row["valid_until"] else None
    )
    if valid_until is not None and valid_until <= valid_from:
        raise ValueError("valid_until: must be after valid_from")
    return AccountRow(
        line, row["account"], field, row["receiver"], row["cluster"], row["namespace"],
        valid_from, valid_until,
    )  # fmt: skip


def overlaps(a_from, a_until, b_from, b_until) -> bool:
    return (b_until is None or a_from < b_until) and (a_until is None or b_from < a_until)


def check_accounts(rows: list[AccountRow]):
    """Refuse two receivers for one account, and overlapping mappings of one namespace."""
    receivers: dict[str, AccountRow] = {}
    for r in rows:
        first = receivers.setdefault(r.account, r)
        if (first.receiver_field, first.receiver) != (r.receiver_field, r.receiver):
            raise CsvImportError(
                f"line {r.line}: receiver: account {r.account} has another receiver "
                f"on line {first.line}"
            )
    for i, a in enumerate(rows):
        for b in rows[:i]:
            if (a.cluster, a.namespace) == (b.cluster, b.namespace) and overlaps(
                a.valid_from, a.valid_until, b.valid_from, b.valid_until
            ):
                raise CsvImportError(
                    f"line {a.line}: valid_from: {a.cluster}/{a.namespace} is already mapped "
                    f"over that time on line {b.line}"
                )


def save_account(r: AccountRow, summary: Summary) -> Account:
    receiver = dict.fromkeys(("cost_center", "internal_order", "wbs_element"), "")
    receiver[r.receiver_field] = r.receiver
    account = Account.objects.filter(name=r.account).first()
    if account is None:
        summary.created += 1
        return Account.objects.create(name=r.account, **receiver)
    if any(getattr(account, f) != v for f, v in receiver.items()):
        for f, v in receiver.items():
            setattr(account, f, v)
        account.save()
        summary.changed += 1
    return account


def save_mapping(r: AccountRow, account: Account, summary: Summary):
    """Create or update the mapping of a namespace that starts at r.valid_from."""
    cluster, _ = Cluster.objects.get_or_create(name=r.cluster)
    mappings = NamespaceAccount.objects.filter(cluster=cluster, namespace=r.namespace)
    same = mappings.filter(valid_from=r.valid_from).first()
    for other in mappings.exclude(pk=same.pk if same else None):
        if overlaps(r.valid_from, r.valid_until, other.valid_from, other.valid_until):
            raise CsvImportError(
                f"line {r.line}: valid_from: {r.cluster}/{r.namespace} is already mapped to "
                f"{other.account} from {other.valid_from:%Y-%m-%d}; end that mapping first"
            )
    if same is None:
        NamespaceAccount.objects.create(
            cluster=cluster,
            namespace=r.namespace,
            account=account,
            valid_from=r.valid_from,
            valid_until=r.valid_until,
        )
        summary.created += 1
    elif (same.account_id, same.valid_until) != (account.pk, r.valid_until):
        same.account, same.valid_until = account, r.valid_until
        same.save()
        summary.changed += 1
    else:
        summary.unchanged += 1


def import_accounts(path: Path) -> Summary:
    """Create or update accounts, their receivers and their namespace mappings."""
    rows = []
    for line, row in read_rows(path, ACCOUNT_COLUMNS):
        try:
            rows.append(account_row(line, row))
        except ValueError as e:
            raise CsvImportError(f"line {line}: {e}") from None
    check_accounts(rows)
    summary = Summary()
    with transaction.atomic():
        accounts = {}
        for r in rows:
            if r.account not in accounts:
                accounts[r.account] = save_account(r, summary)
            save_mapping(r, accounts[r.account], summary)
    if summary.changed:  # a statement copies its account's receiver
        summary.warnings = tuple(refresh_open_periods(timezone.now()))
    return summary


def resources_help() -> str:
    return ", ".join(f"{name} ({spec.unit})" for name, spec in RESOURCES.items())
