"""Whether a tariff may be saved without changing a closed month.

A closed month's prices never change: a tariff that priced one is frozen, and a new or
moved tariff may not start inside or before a closed month it would then price, until the
next tariff of its resource and rate class. The import asks `tariff_change_problem` and
the admin `check_tariff` before saving; a tariff's shape (billing/resources.py
`tariff_problem`) is the model's `clean`, which both run too, so it is said once.
"""

from billing.models import Period, Tariff
from billing.utc import month_bounds


def tariff_change_problem(tariff: Tariff) -> str:
    """Return why saving `tariff` would change a closed period's prices, or ''."""
    # Only times are read of the stored tariffs: a price stored beyond its column (before
    # the import refused it) cannot be read on SQLite, and must still be replaceable.
    if (
        tariff.pk
        and Tariff.objects.filter(
            pk=tariff.pk, lines__statement__period__status=Period.Status.CLOSED
        ).exists()
    ):
        return "this tariff priced a closed period and can no longer change"
    later = (
        Tariff.objects.filter(
            resource=tariff.resource,
            rate_class=tariff.rate_class,
            valid_from__gt=tariff.valid_from,
        )
        .exclude(pk=tariff.pk)
        .order_by("valid_from")
        .values_list("valid_from", flat=True)
        .first()
    )
    for period in Period.objects.filter(status=Period.Status.CLOSED):
        start, end = month_bounds(period.month)
        if end > tariff.valid_from and (later is None or start < later):
            return (
                f"valid_from: from {tariff.valid_from:%Y-%m-%d} until the next "
                f"{class_words(tariff.rate_class)}{tariff.resource} tariff it would price "
                f"closed period {period}"
            )
    return ""


def class_words(rate_class: str) -> str:
    """How messages name a rate class before a resource ('' : nothing, no class)."""
    return f"rate class {rate_class} " if rate_class else ""


def check_tariff(tariff: Tariff):
    """Raise a ValidationError on the field at fault if saving `tariff` would change a
    closed period."""
    if problem := tariff_change_problem(tariff):
        tariff.refuse(problem)
