"""Write collected hours to the database, a chunk of hours in one transaction.

An hour is replaced whole: its old usage rows go, the new ones and the hour's "collected"
mark come in, and the daily roll-up of its day is recomputed, all or nothing. Running a
window twice therefore leaves identical rows, and a crash leaves every hour either fully
written or untouched. The hours of a chunk share their transaction, so that a day's roll-up
is recomputed once per chunk rather than once per hour.
"""

import logging
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime

from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from billing.collection import rollup
from billing.collection.attribution import JobUsage
from billing.collection.jobs import JobDirectory
from billing.ledger import intake
from billing.models import (
    Account,
    Cluster,
    CollectedHour,
    CollectionRun,
    DataGap,
    GpuIdleEnergy,
    HourlyUsage,
    NamespaceAccount,
)

log = logging.getLogger(__name__)
# SAP cost centres (KOSTL) are at most 10 characters.
COST_CENTER = re.compile(r"[A-Za-z0-9]{1,10}")


class AccountResolver:
    """Map a namespace at an hour to its account.

    An admin mapping valid at that hour wins; otherwise the namespace label names a cost
    centre, whose account is created on first sight; otherwise "unassigned".
    """

    def __init__(self, cluster: Cluster):
        self.mappings = list(NamespaceAccount.objects.filter(cluster=cluster))
        self.by_cost_center: dict[str, Account] = {}
        self.unassigned, _ = Account.objects.get_or_create(name=Account.UNASSIGNED)

    def account(self, namespace: str, hour: datetime, label_value: str | None) -> Account:
        for m in self.mappings:
            if (
                m.namespace == namespace
                and m.valid_from <= hour
                and (m.valid_until is None or hour < m.valid_until)
            ):
                return m.account
        if label_value and COST_CENTER.fullmatch(label_value):
            return self.for_cost_center(label_value)
        if label_value:
            log.warning("namespace %s: %r is not a cost centre; unassigned", namespace, label_value)
        return self.unassigned

    def for_cost_center(self, cost_center: str) -> Account:
        if cost_center not in self.by_cost_center:
            account = Account.objects.filter(cost_center=cost_center).first()
            if account is None:
                account, _ = Account.objects.get_or_create(
                    name=f"CC {cost_center}", defaults={"cost_center": cost_center}
                )
            self.by_cost_center[cost_center] = account
        return self.by_cost_center[cost_center]


@dataclass
class CollectedUsage:
    """One hour's usage per job, as collection found it."""

    hour: datetime
    usage: dict[tuple, JobUsage]
    labels: dict[str, str]  # namespace: its account label's value
    flag: str = ""  # why the hour is flagged (an unbridged data gap), or ""
    idle_energy: dict[str, float] = field(default_factory=dict)  # GPU joules no pod held, per node


def write_hours(
    cluster: Cluster,
    hours: list[CollectedUsage],
    accounts: AccountResolver,
    run: CollectionRun,
    jobs: JobDirectory | None = None,
) -> int:
    """Replace the usage of consecutive cluster hours in one transaction; return rows."""
    jobs = jobs or JobDirectory(cluster)
    try:
        with transaction.atomic():
            written = sum(replace_hour(cluster, h, accounts, run, jobs) for h in hours)
            rollup.refresh_hours(cluster, [h.hour for h in hours])
    except BaseException:
        jobs.forget()  # the rows it created or widened in the transaction are gone
        raise
    return written


def replace_hour(cluster, collected: CollectedUsage, accounts, run, jobs: JobDirectory) -> int:
    """Replace one hour's rows; return their number.

    A closed month never changes: its differences become adjustments of an open one.
    """
    hour, usage, labels = collected.hour, collected.usage, collected.labels
    closed = intake.hour_is_closed(hour)  # locks the month first, as close_period does
    job_of = jobs.for_hour(hour, usage)
    account_of = {key: accounts.account(key[0], hour, labels.get(key[0])) for key in usage}
    replace_idle_energy(cluster, hour, collected.idle_energy)
    if closed:
        late = {
            (job_of[key].pk, account_of[key].pk): job_usage.quantities
            for key, job_usage in usage.items()
        }
        return intake.late_hour(cluster, hour, late, run)
    HourlyUsage.objects.filter(job__cluster=cluster, hour=hour).delete()
    rows = [
        HourlyUsage(
            job=job_of[key],
            hour=hour,
            account=account_of[key],
            gpu_energy_estimated=job_usage.gpu_energy_estimated,
            **job_usage.quantities,
        )
        for key, job_usage in usage.items()
    ]
    HourlyUsage.objects.bulk_create(rows)
    CollectedHour.objects.update_or_create(
        cluster=cluster,
        hour=hour,
        defaults={
            "run": run,
            "collected_at": timezone.now(),
            "flagged": bool(collected.flag),
            "flag_reason": collected.flag[:500],
        },
    )
    return len(rows)


def replace_idle_energy(cluster: Cluster, hour: datetime, joules: dict[str, float]):
    """Replace the hour's idle GPU energy per node, in a closed month too: it is for ops,
    never on a statement."""
    GpuIdleEnergy.objects.filter(cluster=cluster, hour=hour).delete()
    GpuIdleEnergy.objects.bulk_create(
        GpuIdleEnergy(cluster=cluster, node=node, hour=hour, joules=value)
        for node, value in sorted(joules.items())
    )


def last_collected_hour(cluster: Cluster) -> datetime | None:
    return CollectedHour.objects.filter(cluster=cluster).aggregate(last=Max("hour"))["last"]


def record_gaps(cluster: Cluster, run: CollectionRun, gaps) -> int:
    """Record the data gaps a run found (gaps.Gap), once per exporter and start."""
    for gap in gaps:
        DataGap.objects.update_or_create(
            cluster=cluster,
            exporter=gap.exporter,
            start=datetime.fromtimestamp(gap.start, UTC),
            defaults={
                "run": run,
                "end": datetime.fromtimestamp(gap.end, UTC),
                "bridged": gap.bridged,
            },
        )
    return len(gaps)
