"""Whether a namespace mapping may be saved or deleted: no billed closed hour changes account.

A closed month's usage rows keep the account they were billed to. A mapping that would now
send one of its hours elsewhere would turn the next collection of that hour into
adjustments taking money from one account and giving it to another, after the month was
exported. So, as for tariffs (billing/ledger/tariffs.py), a mapping may change only where
closed months keep mapping as they did: an existing one may not change account or
namespace while it covers one, its start or end may move only outside closed months, and a
new one may cover a closed month only where that month billed the namespace to nobody.

That one exception is how finance sorts out a closed month's unassigned usage: hours whose
rows all lie on `unassigned` (never exported) may be mapped afterwards; collecting them
again turns them into adjustments of the next open month, taken from `unassigned` and
billed to the account (docs/billing.md). The import asks `mapping_change_problem`, the
admin `check_mapping` and `deletion_problem`.
"""

from datetime import UTC, datetime

from django.core.exceptions import ValidationError

from billing.models import Account, HourlyUsage, NamespaceAccount, Period
from billing.utc import month_bounds

FOREVER = datetime.max.replace(tzinfo=UTC)


def span(mapping: NamespaceAccount) -> tuple[datetime, datetime]:
    return mapping.valid_from, mapping.valid_until or FOREVER


def changed_times(old, new) -> list[tuple[str, NamespaceAccount, datetime, datetime]]:
    """(field at fault, mapping, start, end) of the times whose account changes.

    `old` None: a new mapping; `new` None: a deletion. `mapping` names the namespace.
    """
    if old is None or new is None:
        return [("valid_from", old or new, *span(old or new))]
    if (old.cluster_id, old.namespace) != (new.cluster_id, new.namespace):
        return [("namespace", old, *span(old)), ("namespace", new, *span(new))]
    if old.account_id != new.account_id:
        return [("account", old, *span(old)), ("account", new, *span(new))]
    (old_from, old_until), (new_from, new_until) = span(old), span(new)
    moved = [
        ("valid_from", new, min(old_from, new_from), max(old_from, new_from)),
        ("valid_until", new, min(old_until, new_until), max(old_until, new_until)),
    ]
    return [change for change in moved if change[2] < change[3]]


def billed_to_someone(mapping: NamespaceAccount, start: datetime, end: datetime) -> bool:
    """Whether any usage row of the mapping's namespace in [start, end) lies on an account
    other than `unassigned` (hours billed to nobody may still be mapped: module docstring)."""
    return (
        HourlyUsage.objects.filter(
            job__cluster_id=mapping.cluster_id,
            job__namespace=mapping.namespace,
            hour__gte=start,
            hour__lt=end,
        )
        .exclude(account__name=Account.UNASSIGNED)
        .exists()
    )


def closed_period_moved(old, new) -> tuple[str, Period] | None:
    """The field at fault and the first closed period whose billed hours the change moves."""
    changed = changed_times(old, new)
    for period in Period.objects.filter(status=Period.Status.CLOSED).order_by("month"):
        month_start, month_end = month_bounds(period.month)
        for field, mapping, start, end in changed:
            start, end = max(start, month_start), min(end, month_end)
            if start < end and billed_to_someone(mapping, start, end):
                return field, period
    return None


def mapping_change_problem(mapping: NamespaceAccount) -> str:
    """Return why saving `mapping` would move hours of a closed period (`field: why`), or ''."""
    old = NamespaceAccount.objects.filter(pk=mapping.pk).first() if mapping.pk else None
    moved = closed_period_moved(old, mapping)
    if moved is None:
        return ""
    field, period = moved
    where = f"{mapping.cluster}/{mapping.namespace}"
    if old is None:
        return (
            f"{field}: from {mapping.valid_from:%Y-%m-%d} the mapping of {where} would move "
            f"hours of closed period {period} billed to another account to {mapping.account}; "
            "a closed month never changes: start the mapping in a month still open"
        )
    return (
        f"{field}: the change would move billed hours of closed period {period} of {where} to "
        "another account; a closed month never changes: end this mapping (valid_until) after "
        "the closed months and map the namespace anew from there"
    )


def deletion_problem(mapping: NamespaceAccount) -> str:
    """Return why deleting `mapping` would move hours of a closed period, or ''."""
    moved = closed_period_moved(mapping, None)
    if moved is None:
        return ""
    return (
        f"{mapping.cluster}/{mapping.namespace} → {mapping.account} maps billed hours of "
        f"closed period {moved[1]}; a closed month never changes"
    )


def check_mapping(mapping: NamespaceAccount):
    """Raise a ValidationError on the field at fault if `mapping` may not be saved."""
    if problem := mapping_change_problem(mapping):
        field, _, message = problem.partition(": ")
        raise ValidationError({field: message})
