"""Monthly statements: one per account per period, priced line by line.

A line prices one resource at one tariff over the hours that tariff was in force in the
month for the account's rate class (a tariff change mid-month gives two lines; see
billing/ledger/pricing.py for which tariff prices which class), plus one line per
resource and tariff for the adjustments billed in the period. Every line keeps its jobs'
shares; its job-hours are the account's usage rows of the line's hours, and their
collection runs are the runs that marked those hours collected (see `line_sources`).
An optional resource (GPU energy) without a tariff in force gives no line and no error; a
line of a resource whose job-hours may be estimates (billing/resources.py `estimate_flag`)
keeps the quantity of the flagged job-hours as `estimated_quantity`.

Statements of an open period are drafts, recomputed by `refresh_statements` whenever what
they are made of changes, by whoever changed it (billing/ledger/drafts.py); pages and the
API read them as stored. A closed period's statements are never recomputed.
"""

import math
from collections import defaultdict
from datetime import datetime
from decimal import Decimal

from django.db import transaction

from billing.ledger.coverage import flagged_hours, uncollected_hours
from billing.ledger.pricing import (
    DETAIL_STEP,
    Tariffs,
    amount,
    every_tariff,
    raw_quantity,
    round_quantity,
    to_unit,
)
from billing.models import (
    Account,
    Adjustment,
    CollectedHour,
    CollectionRun,
    HourlyUsage,
    Period,
    Statement,
    StatementJob,
    StatementLine,
)
from billing.resources import QUANTITIES, RESOURCES
from billing.utc import HOUR, hour_ranges, month_bounds

# The job-hours' flags that mark a resource's usage as partly an estimate.
ESTIMATE_FLAGS = sorted({s.estimate_flag for s in RESOURCES.values() if s.estimate_flag})


class PricingError(Exception):
    """Usage that no tariff prices; the message names the resource and the first hour."""


class Bucket:
    """The values of one (account, resource, tariff) per job, the runs behind them, and the
    values of job-hours flagged as estimates."""

    def __init__(self):
        self.values: dict[int, list[float]] = defaultdict(list)
        self.runs: set[int] = set()
        self.estimated: list[float] = []

    def add(self, job_id: int, value: float, run_id: int | None, estimated: bool = False):
        self.values[job_id].append(value)
        if run_id is not None:
            self.runs.add(run_id)
        if estimated:
            self.estimated.append(value)


def usage_buckets(period: Period, tariffs: Tariffs) -> dict[tuple, Bucket]:
    """Group the month's job-hours by (account, resource, tariff), each account's hours
    priced at the tariffs of its rate class."""
    start, end = month_bounds(period.month)
    classes = dict(Account.objects.values_list("pk", "rate_class"))
    buckets: dict[tuple, Bucket] = defaultdict(Bucket)
    rows = HourlyUsage.objects.filter(hour__gte=start, hour__lt=end).values(
        "account_id", "job_id", "job__cluster_id", "hour", *QUANTITIES, *ESTIMATE_FLAGS
    )
    collected = {
        (cluster_id, hour): run_id
        for cluster_id, hour, run_id in CollectedHour.objects.filter(
            hour__gte=start, hour__lt=end
        ).values_list("cluster_id", "hour", "run_id")
    }
    for row in rows.iterator(chunk_size=5000):
        run_id = collected.get((row["job__cluster_id"], row["hour"]))
        schedule = tariffs.for_class(classes[row["account_id"]])
        for resource, spec in RESOURCES.items():
            tariff = schedule.at(resource, row["hour"])
            if tariff is None:
                if not spec.optional and (
                    row[spec.usage_field] or (spec.request_field and row[spec.request_field])
                ):
                    raise PricingError(
                        f"no tariff for {resource} at {row['hour'].isoformat()}; "
                        "import one with import_tariffs"
                    )
                continue
            value = raw_quantity(resource, tariff.policy, row)
            if value:
                estimated = bool(spec.estimate_flag and row[spec.estimate_flag])
                bucket = buckets[(row["account_id"], resource, tariff.pk)]
                bucket.add(row["job_id"], value, run_id, estimated)
    return buckets


def usage_line(statement, tariff, tariffs, bucket: Bucket, month_start, month_end):
    """Build one usage line and its per-job detail (unsaved)."""
    r = tariff.resource
    quantity = round_quantity(
        to_unit(r, math.fsum(v for vs in bucket.values.values() for v in vs), month_start)
    )
    estimated = round_quantity(to_unit(r, math.fsum(bucket.estimated), month_start))
    line = StatementLine(
        statement=statement,
        kind=StatementLine.Kind.USAGE,
        resource=r,
        tariff=tariff,
        unit=tariff.unit,
        quantity=quantity,
        estimated_quantity=estimated,
        unit_price=tariff.price_chf,
        amount_chf=amount(quantity, tariff.price_chf),
        first_hour=max(tariff.valid_from, month_start),
        end_hour=min(tariffs.end_of(tariff), month_end),
        runs=sorted(bucket.runs),
    )
    jobs = [
        StatementJob(
            line=line,
            job_id=job_id,
            quantity=to_unit(r, math.fsum(vs), month_start).quantize(DETAIL_STEP),
            hours=len(vs),
        )
        for job_id, vs in sorted(bucket.values.items())
    ]
    return line, jobs


def adjustment_lines(statement, adjustments: list[Adjustment]):
    """Build one line per (resource, tariff) of an account's adjustments (unsaved)."""
    groups: dict[tuple, list[Adjustment]] = defaultdict(list)
    for a in adjustments:
        groups[(a.resource, a.tariff_id)].append(a)
    for (_resource, _), group in sorted(groups.items()):
        tariff = group[0].tariff
        quantity = round_quantity(sum((a.quantity for a in group), Decimal(0)))
        hours = sorted({a.source_hour for a in group})
        reasons = sorted({a.reason for a in group})
        line = StatementLine(
            statement=statement,
            kind=StatementLine.Kind.ADJUSTMENT,
            resource=tariff.resource,
            tariff=tariff,
            unit=tariff.unit,
            quantity=quantity,
            unit_price=tariff.price_chf,
            amount_chf=amount(quantity, tariff.price_chf),
            first_hour=hours[0],
            end_hour=hours[-1] + HOUR,
            reason="; ".join(reasons)[:500],
        )
        per_job: dict[int, list[Adjustment]] = defaultdict(list)
        for a in group:
            per_job[a.job_id].append(a)
        jobs = [
            StatementJob(
                line=line,
                job_id=job_id,
                quantity=sum((a.quantity for a in adjs), Decimal(0)),
                hours=len({a.source_hour for a in adjs}),
            )
            for job_id, adjs in sorted(per_job.items())
        ]
        yield line, jobs


def refresh_statements(period: Period, now: datetime) -> list[Statement]:
    """Recompute the draft statements of an open period; return them.

    The period row stays locked meanwhile, so refreshes and a close never interleave; a
    period found closed once locked keeps its statements as they are.
    """
    with transaction.atomic():
        period = Period.objects.select_for_update().get(pk=period.pk)
        if period.is_closed:
            return list(period.statements.all())
        return write_statements(period, now)


def write_statements(period: Period, now: datetime) -> list[Statement]:
    """Compute and store the statements of a locked open period, ids kept per account."""
    start, end = month_bounds(period.month)
    tariffs = every_tariff()
    buckets = usage_buckets(period, tariffs)
    adjustments: dict[int, list[Adjustment]] = defaultdict(list)
    for a in Adjustment.objects.filter(period=period).select_related("tariff"):
        adjustments[a.account_id].append(a)
    account_ids = {key[0] for key in buckets} | set(adjustments)
    missing = {c: hour_ranges(hs) for c, hs in uncollected_hours(period.month, now).items()}
    flagged = flagged_hours(period.month)
    by_id = {t.pk: t for t in tariffs.every}
    Statement.objects.filter(period=period).exclude(account_id__in=account_ids).delete()
    statements = []
    for account in Account.objects.filter(pk__in=account_ids).order_by("name"):
        kind, receiver = account.receiver
        statement, _ = Statement.objects.update_or_create(
            period=period,
            account=account,
            defaults={
                "receiver_type": kind,
                "receiver": receiver,
                "computed_at": now,
                "missing_hours": missing,
                "flagged_hours": flagged,
            },
        )
        statement.lines.all().delete()
        built = [
            usage_line(
                statement, by_id[tid], tariffs.for_class(account.rate_class), bucket, start, end
            )
            for (aid, _r, tid), bucket in sorted(buckets.items())
            if aid == account.pk
        ]
        built += list(adjustment_lines(statement, adjustments.get(account.pk, [])))
        built = [(line, jobs) for line, jobs in built if line.quantity]
        StatementLine.objects.bulk_create([line for line, _ in built])
        StatementJob.objects.bulk_create([j for _, jobs in built for j in jobs])
        statement.total_chf = sum((line.amount_chf for line, _ in built), Decimal(0))
        statement.save(update_fields=["total_chf"])
        statements.append(statement)
    return statements


def line_sources(line: StatementLine) -> dict:
    """Where a line's number comes from: its job-hours and the runs that collected them."""
    if line.kind == StatementLine.Kind.ADJUSTMENT:
        adjustments = Adjustment.objects.filter(
            period=line.statement.period,
            account=line.statement.account,
            tariff=line.tariff,
        ).select_related("job__cluster", "run")
        return {
            "adjustments": [
                {
                    "job_id": a.job_id,
                    "source_hour": a.source_hour.isoformat(),
                    "quantity": str(a.quantity),
                    "reason": a.reason,
                    "run_id": a.run_id,
                }
                for a in adjustments.order_by("source_hour", "job_id")
            ],
            "runs": runs_json(CollectionRun.objects.filter(adjustment__in=adjustments)),
        }
    return {
        # The job-hours that gave the line a quantity, as its per-job detail counted them,
        # and the runs that collected them, kept when the line was computed.
        "job_hours": sum(job.hours for job in line.jobs.all()),
        "runs": runs_json(CollectionRun.objects.filter(pk__in=line.runs)),
    }


def runs_json(runs) -> list[dict]:
    return [
        {
            "id": r.pk,
            "cluster": r.cluster,
            "window_start": r.window_start.isoformat(),
            "window_end": r.window_end.isoformat(),
            "started_at": r.started_at.isoformat(),
            "finished_at": r.finished_at.isoformat() if r.finished_at else None,
            "queries": r.queries,
            "query_seconds": r.query_seconds,
            "status": r.status,
        }
        for r in runs.distinct().order_by("started_at")
    ]
