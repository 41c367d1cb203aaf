"""CSV imports maintained by finance: tariffs and accounts with their namespace mappings.

A file is checked whole before anything is written: the first bad row refuses the import
with its line number and the field at fault, and the database stays as it was. Importing
the same file again changes nothing. Each row is checked by the models' own validation
(`full_clean`: billing/sap_fields.py's rules, as in the admin), so nothing imports that
the statements or the SIFAC export would refuse; a change that would touch a closed month
(a tariff that priced it, a mapping that would move its hours) is refused as well. An
import that changed something recomputes the open months' drafts after it
(billing/ledger/drafts.py); a month it leaves unpriced is a warning.
"""

import csv
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path

from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import transaction
from django.utils import timezone

from billing import sap_fields as sap
from billing.ledger.drafts import refresh_open_periods
from billing.ledger.mappings import mapping_change_problem
from billing.ledger.tariffs import tariff_change_problem
from billing.models import Account, Cluster, NamespaceAccount, Tariff, split_groups
from billing.resources import RESOURCES
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
# Optional: present or absent, anywhere in the header.
ACCOUNT_OPTIONAL = ("groups",)
# The CSV column that holds each model field; Account.clean's rule is the receiver's.
ACCOUNT_FIELDS = {
    "name": "account",
    "cost_center": "receiver",
    "internal_order": "receiver",
    "wbs_element": "receiver",
    "idp_groups": "groups",
    NON_FIELD_ERRORS: "receiver",
}


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


def read_rows(
    path: Path, columns: tuple[str, ...], optional: tuple[str, ...] = ()
) -> list[tuple[int, dict]]:
    """Return (line number, row) pairs of a UTF-8 CSV file with exactly `columns`, in order,
    and any of the `optional` ones, each at most once, anywhere."""
    try:
        text = Path(path).read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as e:
        raise CsvImportError(f"{path}: cannot read: {e}") from None
    reader = csv.DictReader(text.splitlines(), strict=True)
    header = list(reader.fieldnames or ())
    extra = [name for name in header if name in optional]
    if tuple(n for n in header if n not in optional) != columns or len(set(extra)) < len(extra):
        also = f" (and optionally {','.join(optional)})" if optional else ""
        raise CsvImportError(
            f"line 1: the header must be {','.join(columns)}{also}, not {','.join(header)}"
        )
    rows = []
    try:
        for row in reader:
            if None in row or None in row.values():
                raise CsvImportError(f"line {reader.line_num}: expected {len(header)} fields")
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


def validate(instance, columns: dict[str, str], exclude=()):
    """Run the model's validation; raise ValueError as `column: why` per field at fault."""
    try:
        instance.full_clean(exclude=exclude, validate_unique=False, validate_constraints=False)
    except ValidationError as e:
        said = []
        for field, messages in e.message_dict.items():
            column = columns.get(field, field)
            said.append(messages[0] if column == NON_FIELD_ERRORS else f"{column}: {messages[0]}")
        raise ValueError("; ".join(said)) from None


def tariff_from(row: dict) -> Tariff:
    """Build an unsaved tariff from a CSV row; raise ValueError naming the field."""
    try:
        price = Decimal(row["price_chf"])
    except InvalidOperation:
        raise ValueError(f"price_chf: {row['price_chf']!r} is not a number") from None
    tariff = Tariff(
        resource=row["resource"],
        unit=row["unit"],
        price_chf=price,
        policy=row["policy"],
        valid_from=parse_valid_time(row["valid_from"], "valid_from"),
        activity_type=row["activity_type"],
    )
    validate(tariff, {})
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
            # The stored price is compared in the database, not read: a price beyond its
            # column (stored before it was refused here) cannot be read on SQLite, and a
            # corrected file must still replace it.
            old = (
                Tariff.objects.defer("price_chf")
                .filter(resource=new.resource, valid_from=new.valid_from)
                .first()
            )
            fields = ("unit", "policy", "activity_type")
            if (
                old
                and all(getattr(old, f) == getattr(new, f) for f in fields)
                and Tariff.objects.filter(pk=old.pk, price_chf=new.price_chf).exists()
            ):
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
    # The `groups` column, normalised; None when the file has no such column.
    groups: str | None = None


def account_row(line: int, row: dict) -> AccountRow:
    """Check one account CSV row; raise ValueError naming the field."""
    if row["receiver_type"] not in sap.RECEIVERS:
        raise ValueError(
            f"receiver_type: {row['receiver_type']!r} is not {', '.join(sap.RECEIVERS)}"
        )
    field = sap.RECEIVERS[row["receiver_type"]].field
    groups = "|".join(split_groups(row["groups"])) if "groups" in row else None
    account = Account(name=row["account"], idp_groups=groups or "", **{field: row["receiver"]})
    validate(account, ACCOUNT_FIELDS)
    validate(Cluster(name=row["cluster"]), {"name": "cluster"})
    mapping = NamespaceAccount(
        namespace=row["namespace"],
        account=account,
        valid_from=parse_valid_time(row["valid_from"], "valid_from"),
        valid_until=(
            parse_valid_time(row["valid_until"], "valid_until") if row["valid_until"] else None
        ),
    )
    validate(mapping, {}, exclude=["cluster", "account"])
    return AccountRow(
        line, row["account"], field, row["receiver"], row["cluster"], row["namespace"],
        mapping.valid_from, mapping.valid_until, groups,
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
        if first.groups != r.groups:
            raise CsvImportError(
                f"line {r.line}: groups: account {r.account} has other groups on line {first.line}"
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
    if r.groups is not None:  # absent column: the groups stay as they are
        receiver["idp_groups"] = r.groups
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
    if same is not None and (same.account_id, same.valid_until) == (account.pk, r.valid_until):
        summary.unchanged += 1
        return
    mapping = same or NamespaceAccount(
        cluster=cluster, namespace=r.namespace, valid_from=r.valid_from
    )
    mapping.account, mapping.valid_until = account, r.valid_until
    if problem := mapping_change_problem(mapping):
        raise CsvImportError(f"line {r.line}: {problem}")
    mapping.save()
    if same is None:
        summary.created += 1
    else:
        summary.changed += 1


def import_accounts(path: Path) -> Summary:
    """Create or update accounts, their receivers and their namespace mappings."""
    rows = []
    for line, row in read_rows(path, ACCOUNT_COLUMNS, ACCOUNT_OPTIONAL):
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
