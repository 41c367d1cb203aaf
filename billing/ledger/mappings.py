"""Whether a namespace mapping may be saved or deleted: no closed hour may change account.

A closed month's usage rows keep the account they were billed to. A mapping that would now
send one of its hours elsewhere would turn the next collection of that hour into
adjustments taking money from one account and giving it to another, after the month was
exported. So, as for tariffs (billing/ledger/tariffs.py), a mapping may change only where
closed months keep mapping as they did: a new mapping may not cover a closed month, an
existing one may not change account or namespace while it covers one, and its start or
end may move only outside closed months. The import asks `mapping_change_problem`, the
admin `check_mapping` and `deletion_problem`.
"""

from datetime import UTC, datetime

from django.core.exceptions import ValidationError

from billing.models import NamespaceAccount, Period
from billing.utc import month_bounds

FOREVER = datetime.max.replace(tzinfo=UTC)


def span(mapping: NamespaceAccount) -> tuple[datetime, datetime]:
    return mapping.valid_from, mapping.valid_until or FOREVER


def changed_times(old, new) -> list[tuple[str, datetime, datetime]]:
    """(field at fault, start, end) of the times whose account changes from `old` to `new`.

    `old` None: a new mapping; `new` None: a deletion.
    """
    if old is None or new is None:
        return [("valid_from", *span(old or new))]
    if (old.cluster_id, old.namespace) != (new.cluster_id, new.namespace):
        return [("namespace", *span(old)), ("namespace", *span(new))]
    if old.account_id != new.account_id:
        return [("account", *span(old)), ("account", *span(new))]
    (old_from, old_until), (new_from, new_until) = span(old), span(new)
    moved = [
        ("valid_from", min(old_from, new_from), max(old_from, new_from)),
        ("valid_until", min(old_until, new_until), max(old_until, new_until)),
    ]
    return [(field, start, end) for field, start, end in moved if start < end]


def closed_period_moved(old, new) -> tuple[str, Period] | None:
    """The field at fault and the first closed period whose hours the change would move."""
    changed = changed_times(old, new)
    for period in Period.objects.filter(status=Period.Status.CLOSED).order_by("month"):
        month_start, month_end = month_bounds(period.month)
        for field, start, end in changed:
            if start < month_end and month_start < end:
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
            f"hours of closed period {period} to {mapping.account}; a closed month never "
            "changes: start the mapping in a month still open"
        )
    return (
        f"{field}: the change would move hours of closed period {period} of {where} to "
        "another account; a closed month never changes: end this mapping (valid_until) after "
        "the closed months and map the namespace anew from there"
    )


def deletion_problem(mapping: NamespaceAccount) -> str:
    """Return why deleting `mapping` would move hours of a closed period, or ''."""
    moved = closed_period_moved(mapping, None)
    if moved is None:
        return ""
    return (
        f"{mapping.cluster}/{mapping.namespace} → {mapping.account} maps hours of closed "
        f"period {moved[1]}; a closed month never changes"
    )


def check_mapping(mapping: NamespaceAccount):
    """Raise a ValidationError on the field at fault if `mapping` may not be saved."""
    if problem := mapping_change_problem(mapping):
        field, _, message = problem.partition(": ")
        raise ValidationError({field: message})
