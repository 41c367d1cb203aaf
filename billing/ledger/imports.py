"""CSV imports maintained by finance: tariffs and accounts with their namespace mappings.

Columns are read by header name: the required ones must be there, the optional ones may be
absent or anywhere, and a column the import does not know, or twice, refuses the file (a
misspelt optional column is not silently ignored). An absent optional column of an account
leaves that field of existing accounts as it is (new ones get the default); present, its
cell sets it, an empty cell to its empty value (no groups, no contacts, `en`, no rate
class, no budget).

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
from billing.ledger.tariffs import class_words, tariff_change_problem
from billing.models import (
    Account,
    Cluster,
    NamespaceAccount,
    Tariff,
    split_addresses,
    split_groups,
)
from billing.resources import RESOURCES
from billing.utc import is_hour_aligned

TARIFF_COLUMNS = ("resource", "unit", "price_chf", "policy", "valid_from", "activity_type")
TARIFF_OPTIONAL = ("rate_class",)
ACCOUNT_COLUMNS = (
    "account",
    "receiver_type",
    "receiver",
    "cluster",
    "namespace",
    "valid_from",
    "valid_until",
)
# Optional account-level columns and the Account field each sets: present or absent,
# anywhere in the header; every row of an account must agree on them.
ACCOUNT_OPTIONAL = {
    "groups": "idp_groups",
    "contacts": "contacts",
    "language": "language",
    "rate_class": "rate_class",
    "budget_chf": "budget_chf",
}
# The CSV column that holds each model field; Account.clean's rule is the receiver's.
ACCOUNT_FIELDS = {
    "name": "account",
    "cost_center": "receiver",
    "internal_order": "receiver",
    "wbs_element": "receiver",
    **{field: column for column, field in ACCOUNT_OPTIONAL.items()},
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


def check_header(header: list[str], columns: tuple[str, ...], optional) -> None:
    """Refuse a header without every one of `columns`, or with a column twice or one that
    is neither required nor `optional`, naming it."""
    for name in header:
        if name not in columns and name not in optional:
            known = ",".join(columns) + "".join(f",[{o}]" for o in optional)
            raise CsvImportError(
                f"line 1: the header has an unknown column {name!r} (the columns: {known})"
            )
        if header.count(name) > 1:
            raise CsvImportError(f"line 1: the header has the column {name} twice")
    for name in columns:
        if name not in header:
            raise CsvImportError(f"line 1: the header lacks the required column {name}")


def read_rows(path: Path, columns: tuple[str, ...], optional=()) -> list[tuple[int, dict]]:
    """Return (line number, row) pairs of a UTF-8 CSV file, columns by header name: every
    one of `columns`, and any of the `optional` ones, each once, in any order."""
    try:
        text = Path(path).read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as e:
        raise CsvImportError(f"{path}: cannot read: {e}") from None
    reader = csv.DictReader(text.splitlines(), strict=True)
    header = [name.strip() for name in reader.fieldnames or ()]
    check_header(header, columns, optional)
    reader.fieldnames = header
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
        # Absent or empty: the tariff of every account without a tariff of its own class.
        rate_class=row.get("rate_class", ""),
    )
    validate(tariff, {})
    return tariff


def import_tariffs(path: Path) -> Summary:
    """Create or update the tariffs of a CSV file (identity: resource, rate class and
    valid_from)."""
    tariffs = {}
    for line, row in read_rows(path, TARIFF_COLUMNS, TARIFF_OPTIONAL):
        try:
            tariff = tariff_from(row)
        except ValueError as e:
            raise CsvImportError(f"line {line}: {e}") from None
        key = (tariff.resource, tariff.rate_class, tariff.valid_from)
        if key in tariffs:
            raise CsvImportError(
                f"line {line}: valid_from: a second {class_words(tariff.rate_class)}"
                f"{key[0]} tariff from that time"
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
                .filter(resource=new.resource, rate_class=new.rate_class, valid_from=new.valid_from)
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
    warnings = classes_without_accounts(tariffs.values())
    if summary.created or summary.changed:
        warnings += refresh_open_periods(timezone.now())
    summary.warnings = tuple(warnings)
    return summary


def classes_without_accounts(tariffs) -> list[str]:
    """Say which rate classes of the file no account has: their tariffs price nobody yet
    (not an error: the tariffs may come before the accounts)."""
    lines: dict[str, int] = {}
    for line, tariff in tariffs:
        if tariff.rate_class:
            lines.setdefault(tariff.rate_class, line)
    used = set(Account.objects.filter(rate_class__in=lines).values_list("rate_class", flat=True))
    return [
        f"line {line}: rate_class: no account has rate class {code}; its tariffs price nobody yet"
        for code, line in sorted(lines.items(), key=lambda item: item[1])
        if code not in used
    ]


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
    # The Account fields the file's optional columns set, normalised; a column the file
    # lacks is not there.
    details: dict


def account_details(row: dict) -> dict:
    """The Account fields of the optional columns present in `row`, normalised; raise
    ValueError naming the column of a budget that is not a number."""
    cells = {column: row[column] for column in ACCOUNT_OPTIONAL if column in row}
    if "groups" in cells:
        cells["groups"] = "|".join(split_groups(cells["groups"]))
    if "contacts" in cells:
        cells["contacts"] = "|".join(split_addresses(cells["contacts"]))
    if "language" in cells:
        cells["language"] = cells["language"] or Account._meta.get_field("language").default
    if cells.get("budget_chf"):
        try:
            cells["budget_chf"] = Decimal(cells["budget_chf"])
        except InvalidOperation:
            raise ValueError(f"budget_chf: {cells['budget_chf']!r} is not a number") from None
    elif "budget_chf" in cells:
        cells["budget_chf"] = None  # an empty cell: no budget
    return {ACCOUNT_OPTIONAL[column]: value for column, value in cells.items()}


def account_row(line: int, row: dict) -> AccountRow:
    """Check one account CSV row; raise ValueError naming the field."""
    if row["receiver_type"] not in sap.RECEIVERS:
        raise ValueError(
            f"receiver_type: {row['receiver_type']!r} is not {', '.join(sap.RECEIVERS)}"
        )
    field = sap.RECEIVERS[row["receiver_type"]].field
    details = account_details(row)
    account = Account(name=row["account"], **details, **{field: row["receiver"]})
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
        mapping.valid_from, mapping.valid_until, details,
    )  # fmt: skip


def overlaps(a_from, a_until, b_from, b_until) -> bool:
    return (b_until is None or a_from < b_until) and (a_until is None or b_from < a_until)


def check_accounts(rows: list[AccountRow]):
    """Refuse two receivers, or two values of an optional account column, for one account,
    and overlapping mappings of one namespace."""
    receivers: dict[str, AccountRow] = {}
    for r in rows:
        first = receivers.setdefault(r.account, r)
        if (first.receiver_field, first.receiver) != (r.receiver_field, r.receiver):
            raise CsvImportError(
                f"line {r.line}: receiver: account {r.account} has another receiver "
                f"on line {first.line}"
            )
        for column, field in ACCOUNT_OPTIONAL.items():
            if first.details.get(field) != r.details.get(field):
                raise CsvImportError(
                    f"line {r.line}: {column}: account {r.account} has another {column} "
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
    fields = dict.fromkeys(("cost_center", "internal_order", "wbs_element"), "")
    fields[r.receiver_field] = r.receiver
    fields.update(r.details)  # an absent column leaves its field as it is
    account = Account.objects.filter(name=r.account).first()
    if account is None:
        summary.created += 1
        return Account.objects.create(name=r.account, **fields)
    if any(getattr(account, f) != v for f, v in fields.items()):
        for f, v in fields.items():
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
    warnings = classes_without_tariffs(rows)
    if summary.changed:  # a statement copies its account's receiver, and its class prices it
        warnings += refresh_open_periods(timezone.now())
    summary.warnings = tuple(warnings)
    return summary


def classes_without_tariffs(rows: list[AccountRow]) -> list[str]:
    """Say which accounts of the file have a rate class without tariffs: they pay the
    class-less ones until it has some (not an error: the tariffs may come later)."""
    classes = {r.account: (r.line, r.details.get("rate_class")) for r in reversed(rows)}
    priced = set(Tariff.objects.values_list("rate_class", flat=True).distinct())
    return [
        f"line {line}: rate_class: rate class {code} has no tariffs; account {name} pays the "
        "tariffs without a class"
        for name, (line, code) in sorted(classes.items(), key=lambda item: item[1][0])
        if code and code not in priced
    ]


def resources_help() -> str:
    return ", ".join(f"{name} ({spec.unit})" for name, spec in RESOURCES.items())
