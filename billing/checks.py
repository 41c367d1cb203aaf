"""System checks: stored rows that the validation at the door would refuse today.

`manage.py check` (and every command that runs the checks) warns, naming the row and the
field, about the accounts, tariffs and namespace mappings that the models' validation
(billing/sap_fields.py's rules, as the imports and the admin apply them) refuses: rows
stored before a rule existed, or made wrong by settings changed since. Such rows would
stop the statements or the month-end export, or bill at a price no one meant. It also
warns about SIFAC settings the export would refuse. Label settings that are not Prometheus
label names are errors: collection would put them into PromQL. A few small queries, and none when
the billing app is not among those checked, or its tables do not exist yet (before
`migrate`; an SQLite file that does not exist is not created).
"""

from decimal import Decimal, InvalidOperation
from pathlib import Path

from django.conf import settings
from django.core.checks import Error, Warning, register
from django.core.exceptions import ValidationError
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections
from django.db.models import CharField
from django.db.models.functions import Cast

from billing.models import Account, NamespaceAccount, Tariff
from billing.sifac.documents import ExportRefused, sifac_settings
from promadapter.promql import LABEL_NAME

HINT = (
    "import_accounts, import_tariffs and the admin refuse this value: correct the row (in "
    "the admin, or by importing it again) before the month closes."
)


@register("billing")
def stored_rows_the_export_would_refuse(app_configs=None, databases=None, **kwargs):
    if app_configs is not None and not any(c.label == "billing" for c in app_configs):
        return []
    found = settings_warnings()
    for alias in [DEFAULT_DB_ALIAS] if databases is None else databases:
        found += database_warnings(alias)
    return found


@register("billing")
def label_settings(app_configs=None, **kwargs):
    """KUBEMON_ACCOUNT_LABEL and KUBEMON_USER_LABEL (when set) must be label names."""
    if app_configs is not None and not any(c.label == "billing" for c in app_configs):
        return []
    found = []
    for name, example, required in (
        ("KUBEMON_ACCOUNT_LABEL", "label_epfl_ch_cost_center", True),
        ("KUBEMON_USER_LABEL", "label_user (or empty: no split per user)", False),
    ):
        value = getattr(settings, name)
        if (value or required) and not LABEL_NAME.fullmatch(value):
            found.append(
                Error(
                    f"{name}={value!r} is not a Prometheus label name",
                    hint="Letters, digits and _, not starting with a digit, as "
                    f"kube-state-metrics names labels: {example}.",
                    id="billing.E001",
                )
            )
    return found


def settings_warnings() -> list[Warning]:
    try:
        sifac_settings()
    except ExportRefused as e:
        return [Warning(f"export_sifac would refuse: {e}", id="billing.W004")]
    return []


def not_created(connection) -> bool:
    """An SQLite database file that does not exist yet: opening it would create it."""
    name = str(connection.settings_dict["NAME"])
    return (
        connection.vendor == "sqlite"
        and not name.startswith(("file:", ":memory:"))
        and not Path(name).exists()
    )


def database_warnings(alias: str) -> list[Warning]:
    connection = connections[alias]
    if not_created(connection):
        return []
    tables = {model._meta.db_table for model in (Account, Tariff, NamespaceAccount)}
    try:
        if not tables <= set(connection.introspection.table_names()):
            return []
        return account_warnings(alias) + tariff_warnings(alias) + mapping_warnings(alias)
    except DatabaseError:
        return []  # no database to read (yet): the commands that need one say so


def refusals(instance, exclude=()) -> list[str]:
    """`field: why` for each field of `instance` the models' validation refuses."""
    try:
        instance.full_clean(exclude=exclude, validate_unique=False, validate_constraints=False)
    except ValidationError as e:
        return [f"{field}: {messages[0]}" for field, messages in e.message_dict.items()]
    return []


def warnings_for(model, row: str, problems: list[str], id_: str) -> list[Warning]:
    return [Warning(f"{row}: {p}", hint=HINT, obj=model, id=id_) for p in problems]


def account_warnings(alias: str) -> list[Warning]:
    found = []
    for account in Account.objects.using(alias).order_by("name"):
        row = f"account {account.name!r} (id {account.pk})"
        found += warnings_for(Account, row, refusals(account), "billing.W001")
    return found


def tariff_warnings(alias: str) -> list[Warning]:
    # The price is read as text: a price beyond its column (stored on SQLite before the
    # import refused it) cannot be read as a Decimal, and is what must be reported.
    rows = (
        Tariff.objects.using(alias)
        .annotate(price_text=Cast("price_chf", CharField()))
        .values_list(
            "pk", "resource", "unit", "policy", "valid_from", "activity_type", "price_text"
        )
    )
    found = []
    for pk, resource, unit, policy, valid_from, activity_type, price_text in rows:
        try:
            price = Decimal(price_text)
        except (InvalidOperation, TypeError):
            price = Decimal("NaN")
        tariff = Tariff(
            pk=pk,
            resource=resource,
            unit=unit,
            policy=policy,
            valid_from=valid_from,
            activity_type=activity_type,
            price_chf=price,
        )
        row = f"tariff {resource} from {valid_from:%Y-%m-%d %H:%M}Z (id {pk})"
        found += warnings_for(Tariff, row, refusals(tariff), "billing.W002")
    return found


def mapping_warnings(alias: str) -> list[Warning]:
    found = []
    mappings = NamespaceAccount.objects.using(alias).select_related("cluster", "account")
    for mapping in mappings.order_by("cluster__name", "namespace", "valid_from"):
        row = (
            f"mapping {mapping.cluster}/{mapping.namespace} from "
            f"{mapping.valid_from:%Y-%m-%d} (id {mapping.pk})"
        )
        problems = refusals(mapping, exclude=["cluster", "account"])
        found += warnings_for(NamespaceAccount, row, problems, "billing.W003")
    return found
