"""Write collected hours to the database, each hour in one transaction.

An hour is replaced whole: its old usage rows go, the new ones and the hour's "collected"
mark come in, all or nothing. Running a window twice therefore leaves identical rows, and a
crash leaves every hour either fully written or untouched.
"""

import logging
import re
from datetime import UTC, datetime

from django.db import transaction
from django.db.models import Max, Q
from django.utils import timezone

from billing import periods, rollup
from billing.attribution import JobUsage
from billing.models import (
    Account,
    Cluster,
    CollectedHour,
    CollectionRun,
    DataGap,
    HourlyUsage,
    Job,
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


def jobs_for(cluster: Cluster, hour: datetime, usage: dict[tuple, JobUsage]) -> dict[tuple, Job]:
    """Return the Job rows of the usage's keys, creating or widening them as needed."""
    keys = set(usage)
    wanted = Q(pk__in=[])
    for namespace, kind, name in keys:
        wanted |= Q(namespace=namespace, kind=kind, name=name)
    existing = {
        (j.namespace, j.kind, j.name): j for j in Job.objects.filter(wanted, cluster=cluster)
    }
    new = [
        Job(
            cluster=cluster,
            namespace=namespace,
            kind=kind,
            name=name,
            parent_kind=usage[(namespace, kind, name)].parent_kind,
            parent_name=usage[(namespace, kind, name)].parent_name,
            first_seen=hour,
            last_seen=hour,
        )
        for namespace, kind, name in keys - existing.keys()
    ]
    for job in Job.objects.bulk_create(new):
        existing[(job.namespace, job.kind, job.name)] = job
    widened = []
    for job in existing.values():
        if hour < job.first_seen or hour > job.last_seen:
            job.first_seen, job.last_seen = min(job.first_seen, hour), max(job.last_seen, hour)
            widened.append(job)
    Job.objects.bulk_update(widened, ["first_seen", "last_seen"])
    return existing


def write_hour(
    cluster: Cluster,
    hour: datetime,
    usage: dict[tuple, JobUsage],
    labels: dict[str, str],
    accounts: AccountResolver,
    run: CollectionRun,
    flag: str = "",
) -> int:
    """Replace the usage of one cluster hour; return the number of rows written.

    `flag` says why the hour is flagged (an unbridged data gap), or is empty.
    """
    with transaction.atomic():
        if periods.lock_period_at(hour).is_closed:
            # A closed month never changes: differences become adjustments of an open one.
            return periods.record_late_hour(cluster, hour, usage, labels, accounts, run)
        HourlyUsage.objects.filter(job__cluster=cluster, hour=hour).delete()
        jobs = jobs_for(cluster, hour, usage)
        rows = [
            HourlyUsage(
                job=jobs[key],
                hour=hour,
                account=accounts.account(key[0], hour, labels.get(key[0])),
                **job_usage.quantities,
            )
            for key, job_usage in usage.items()
        ]
        HourlyUsage.objects.bulk_create(rows)
        rollup.refresh_day(cluster, hour.astimezone(UTC).date())
        CollectedHour.objects.update_or_create(
            cluster=cluster,
            hour=hour,
            defaults={
                "run": run,
                "collected_at": timezone.now(),
                "flagged": bool(flag),
                "flag_reason": flag[:500],
            },
        )
    return len(rows)


def last_collected_hour(cluster: Cluster) -> datetime | None:
    return CollectedHour.objects.filter(cluster=cluster).aggregate(last=Max("hour"))["last"]


def record_gaps(cluster: Cluster, run: CollectionRun, gaps) -> int:
    """Record the data gaps a run found (billing.gaps.Gap), once per exporter and start."""
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
