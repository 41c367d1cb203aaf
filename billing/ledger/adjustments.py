"""Adjustments: what a late collection of a closed month's hour found beyond what was billed.

The hour's usage rows stay as they were billed. For each job, account and resource, the
difference between the new collection and what was billed (usage rows plus earlier
adjustments) becomes an adjustment in the next open period, at the tariff of the hour it
belongs to for the account's rate class; a statement bills it as an adjustment line.
"""

from datetime import datetime
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from billing.ledger.periods import closed_period_at, next_open_period
from billing.ledger.pricing import DETAIL_STEP, every_tariff, raw_quantity, to_unit
from billing.models import (
    Account,
    Adjustment,
    Cluster,
    CollectedHour,
    CollectionRun,
    HourlyUsage,
    Tariff,
)
from billing.resources import QUANTITIES, RESOURCES

# A late hour's new quantities: {(job id, account id): {quantity name: value}}.
LateUsage = dict[tuple[int, int], dict[str, float]]


def billed(row: dict, tariff: Tariff, hour: datetime) -> Decimal:
    """Return what `tariff` bills for one job-hour row, in its unit, to the detail step."""
    raw = raw_quantity(tariff.resource, tariff.policy, row)
    return to_unit(tariff.resource, raw, hour).quantize(DETAIL_STEP)


def billed_so_far(cluster: Cluster, hour: datetime) -> tuple[dict, dict]:
    """The hour's usage rows by (job, account), and its earlier adjustments by resource too."""
    rows = {
        (r["job_id"], r["account_id"]): r
        for r in HourlyUsage.objects.filter(job__cluster=cluster, hour=hour).values(
            "job_id", "account_id", *QUANTITIES
        )
    }
    earlier: dict[tuple, Decimal] = {}
    for a in Adjustment.objects.filter(source_hour=hour, job__cluster=cluster):
        key = (a.job_id, a.account_id, a.resource)
        earlier[key] = earlier.get(key, Decimal(0)) + a.quantity
    return rows, earlier


def record_late_hour(cluster: Cluster, hour: datetime, new: LateUsage, run: CollectionRun) -> int:
    """Turn a new collection of an hour of a closed period into adjustments; return how many."""
    period = closed_period_at(hour)
    tariffs = every_tariff()
    classes = dict(Account.objects.values_list("pk", "rate_class"))
    now = timezone.now()
    with transaction.atomic():
        target = next_open_period(period.month)
        old, earlier = billed_so_far(cluster, hour)
        zero = dict.fromkeys(QUANTITIES, 0.0)
        adjustments = []
        for job_id, account_id in sorted(new.keys() | old.keys()):
            schedule = tariffs.for_class(classes[account_id])
            for resource in RESOURCES:
                tariff = schedule.at(resource, hour)
                if tariff is None:
                    continue  # the closed statement billed nothing for it either
                was = billed(old.get((job_id, account_id), zero), tariff, hour)
                was += earlier.get((job_id, account_id, resource), Decimal(0))
                delta = billed(new.get((job_id, account_id), zero), tariff, hour) - was
                if delta:
                    adjustments.append(
                        Adjustment(
                            period=target,
                            source_hour=hour,
                            job_id=job_id,
                            account_id=account_id,
                            resource=resource,
                            tariff=tariff,
                            quantity=delta,
                            reason=f"late collection of {cluster} {hour:%Y-%m-%d %H:00}Z "
                            f"(closed period {period})",
                            run=run,
                            created_at=now,
                        )
                    )
        Adjustment.objects.bulk_create(adjustments)
        CollectedHour.objects.update_or_create(
            cluster=cluster, hour=hour, defaults={"run": run, "collected_at": now}
        )
    return len(adjustments)
