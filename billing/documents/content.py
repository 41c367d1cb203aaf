"""What one account's statement says, for its page and its PDF: one source for both.

A statement as stored (billing/ledger/statements.py), read and never recomputed: its lines
(usage first, then adjustments with their reasons) with each line's jobs, the hours the month
lacks (not collected, or flagged by a data gap too long to bridge), the jobs that cost most,
a split per user (Job.user, from the pod label KUBEMON_USER_LABEL names), the CPU and
memory requested against used (efficiency) from the account's usage of the month, and, for an
account whose jobs held GPUs, the GPUs' energy, its carbon (billing/ledger/carbon.py) and how
busy the GPUs held were.

A job's amount is its share of each line's amount: the line's amount split over the line's
jobs in proportion to their quantities, the cents allocated by largest remainder
(`allocate`), so that the jobs of a line add up to the line and a user's amount (the sum of
their jobs') adds up, over the users, to the statement's total to the cent.
"""

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime
from decimal import ROUND_FLOOR, ROUND_HALF_UP, Decimal

from django.db.models import Count, Prefetch, Q, QuerySet, Sum
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from billing.ledger.carbon import account_month_carbon
from billing.ledger.coverage import only_clusters
from billing.ledger.pricing import CENT, to_unit
from billing.models import (
    Account,
    Cluster,
    HourlyUsage,
    Job,
    Period,
    Statement,
    StatementJob,
    StatementLine,
)
from billing.utc import HOUR, month_bounds

RECEIVER_TYPES = {
    "cctr": gettext_lazy("Cost centre"),
    "order": gettext_lazy("Internal order"),
    "wbs": gettext_lazy("WBS element (EOTP)"),
}
RESOURCE_NAMES = {
    "cpu": gettext_lazy("CPU"),
    "memory": gettext_lazy("Memory"),
    "gpu": gettext_lazy("GPU"),
    "gpu_memory": gettext_lazy("GPU memory"),
    "storage": gettext_lazy("Storage"),
    "network_rx": gettext_lazy("Network received"),
    "network_tx": gettext_lazy("Network sent"),
    "gpu_energy": gettext_lazy("GPU energy"),
}
SHOWN_STEP = Decimal("0.001")
TOP_JOBS = 10


def receiver_type_name(kind: str) -> str:
    return str(RECEIVER_TYPES.get(kind, kind or "–"))


def resource_name(resource: str) -> str:
    return str(RESOURCE_NAMES.get(resource, resource))


def allocate(total: Decimal, weights: dict) -> dict:
    """Split `total` (CHF, to the cent) over the keys of `weights` in proportion to them.

    Largest remainder: each key gets its exact share rounded down to the cent, then the cents
    left go one each to the keys whose shares lost most, ties in key order; the parts add up
    to `total` exactly. The weights must not add up to zero.
    """
    whole = sum(weights.values(), Decimal(0))
    if not whole:
        raise ValueError("weights that add up to zero split nothing")
    exact = {key: total * Decimal(w) / whole for key, w in weights.items()}
    parts = {key: share.quantize(CENT, rounding=ROUND_FLOOR) for key, share in exact.items()}
    left = int((total - sum(parts.values(), Decimal(0))) / CENT)
    by_loss = sorted(weights, key=lambda key: -(exact[key] - parts[key]))
    for key in by_loss[:left]:
        parts[key] += CENT
    return parts


def priced_lines(statement: Statement) -> list[StatementLine]:
    """The statement's lines, usage then adjustments, each with its jobs (`job_rows`) and the
    names the documents show."""
    jobs = StatementJob.objects.select_related("job__cluster").order_by(
        "job__namespace", "job__name", "job_id"
    )
    lines = list(
        statement.lines.order_by("kind", "resource", "first_hour").prefetch_related(
            Prefetch("jobs", queryset=jobs)
        )
    )
    for line in lines:
        line.job_rows = list(line.jobs.all())
        for detail in line.job_rows:
            # Rounded half-up here: the amount filter cuts decimals off rather than rounding.
            detail.quantity_shown = detail.quantity.quantize(SHOWN_STEP, ROUND_HALF_UP)
        line.resource_name = resource_name(line.resource)
        line.is_adjustment = line.kind == StatementLine.Kind.ADJUSTMENT
        line.kind_name = _("Adjustment") if line.is_adjustment else _("Usage")
    # "adjustment" sorts before "usage" in the database: usage first, as a reader expects.
    return sorted(lines, key=lambda line: line.is_adjustment)


def missing_rows(ranges: dict) -> list[dict]:
    """Turn {cluster: [[start, end], ...]} (ISO strings) into rows with datetimes."""
    rows = []
    for cluster, pairs in sorted(ranges.items()):
        for start, end in pairs:
            start, end = datetime.fromisoformat(start), datetime.fromisoformat(end)
            hours = int((end - start).total_seconds()) // 3600
            rows.append({"cluster": cluster, "start": start, "end": end, "hours": hours})
    return rows


def flagged_rows(flagged: dict) -> list[dict]:
    """Turn {cluster: [{hour, reason}, ...]} into rows with datetimes."""
    return [
        {"cluster": cluster, "hour": datetime.fromisoformat(f["hour"]), "reason": f["reason"]}
        for cluster, hours in sorted(flagged.items())
        for f in hours
    ]


@dataclass
class JobAmount:
    job: Job
    amount_chf: Decimal

    @property
    def user(self) -> str:
        return self.job.user


@dataclass
class UserAmount:
    user: str  # empty: the pods carried no user label
    jobs: int
    amount_chf: Decimal


def job_amounts(lines: list[StatementLine]) -> list[JobAmount]:
    """Every job's amount over the lines (see the module's docstring), largest first."""
    amounts: dict[int, Decimal] = defaultdict(Decimal)
    jobs: dict[int, Job] = {}
    for line in lines:
        weights = {d.job_id: d.quantity for d in line.job_rows if d.quantity}
        if not line.amount_chf or not weights:
            continue
        for job_id, part in allocate(line.amount_chf, weights).items():
            amounts[job_id] += part
        jobs.update((d.job_id, d.job) for d in line.job_rows)
    rows = [JobAmount(jobs[job_id], total) for job_id, total in amounts.items()]
    return sorted(rows, key=lambda r: (-r.amount_chf, r.job.namespace, r.job.name, r.job.pk))


def user_split(jobs: list[JobAmount]) -> list[UserAmount]:
    """The amounts per user, largest first, the jobs without a user last; none when no job
    has a user (the label is not set up, or the month's pods carried none)."""
    if not any(j.user for j in jobs):
        return []
    per_user: dict[str, UserAmount] = {}
    for j in jobs:
        row = per_user.setdefault(j.user, UserAmount(j.user, 0, Decimal(0)))
        row.jobs += 1
        row.amount_chf += j.amount_chf
    return sorted(per_user.values(), key=lambda u: (not u.user, -u.amount_chf, u.user))


@dataclass
class Efficiency:
    """Requested against used over the account's month: CPU core-hours, memory GiB-hours."""

    cpu_used: Decimal
    cpu_requested: Decimal
    memory_used: Decimal
    memory_requested: Decimal

    @staticmethod
    def ratio(used: Decimal, requested: Decimal) -> Decimal | None:
        return used / requested if requested else None

    @property
    def cpu(self) -> Decimal | None:
        return self.ratio(self.cpu_used, self.cpu_requested)

    @property
    def memory(self) -> Decimal | None:
        return self.ratio(self.memory_used, self.memory_requested)


@dataclass
class GpuUse:
    """The GPUs the account's jobs held over the month: GPU-hours held, busy and idle (held
    with activity below KUBEMON_GPU_IDLE_PERCENT), their energy and its carbon. Shown, not
    billed."""

    held_hours: Decimal
    busy_hours: Decimal
    idle_hours: Decimal
    energy_kwh: float
    co2_kg: float
    # Job-hours whose energy is an estimate: a MIG slice's or a time-shared GPU's share.
    estimated_hours: int

    @property
    def efficiency(self) -> Decimal | None:
        """Busy over held GPU-hours."""
        return Efficiency.ratio(self.busy_hours, self.held_hours)


def month_sums(account: Account, month: date) -> dict:
    """The account's hourly usage of the month summed in one query: CPU, memory and GPU
    used and requested or held, and the job-hours whose GPU energy is an estimate."""
    start, end = month_bounds(month)
    return HourlyUsage.objects.filter(account=account, hour__gte=start, hour__lt=end).aggregate(
        cpu_used=Sum("cpu_core_seconds"),
        cpu_requested=Sum("cpu_request_core_seconds"),
        memory_used=Sum("memory_byte_seconds"),
        memory_requested=Sum("memory_request_byte_seconds"),
        gpu_held=Sum("gpu_seconds"),
        gpu_busy=Sum("gpu_busy_seconds"),
        gpu_idle=Sum("gpu_idle_seconds"),
        gpu_estimated_hours=Count("pk", filter=Q(gpu_energy_estimated=True)),
    )


def efficiency(sums: dict, month: date) -> Efficiency:
    """CPU and memory used and requested by the account's jobs over the month, from its
    `month_sums` (what the month's statement was computed from)."""
    start = month_bounds(month)[0]
    return Efficiency(
        cpu_used=to_unit("cpu", sums["cpu_used"] or 0.0, start),
        cpu_requested=to_unit("cpu", sums["cpu_requested"] or 0.0, start),
        memory_used=to_unit("memory", sums["memory_used"] or 0.0, start),
        memory_requested=to_unit("memory", sums["memory_requested"] or 0.0, start),
    )


def gpu_use(account: Account, month: date, sums: dict) -> GpuUse | None:
    """The account's GPUs of the month from its `month_sums`, their energy and carbon read
    hour by hour (two queries); None when its jobs held no GPU."""
    if not sums["gpu_held"]:
        return None
    start = month_bounds(month)[0]
    carbon = account_month_carbon(account.pk, month)
    return GpuUse(
        held_hours=to_unit("gpu", sums["gpu_held"], start),
        busy_hours=to_unit("gpu", sums["gpu_busy"] or 0.0, start),
        idle_hours=to_unit("gpu", sums["gpu_idle"] or 0.0, start),
        energy_kwh=carbon.energy_kwh,
        co2_kg=carbon.co2_kg,
        estimated_hours=sums["gpu_estimated_hours"],
    )


@dataclass
class StatementContent:
    """Everything one statement's documents show."""

    statement: Statement
    period: Period
    account: Account
    receiver_type_name: str
    lines: list[StatementLine]
    missing: list[dict]
    flagged: list[dict]
    top_jobs: list[JobAmount]
    users: list[UserAmount]
    efficiency: Efficiency
    gpu: GpuUse | None

    @property
    def adjustment_lines(self) -> list[StatementLine]:
        return [line for line in self.lines if line.is_adjustment]

    @property
    def total_chf(self) -> Decimal:
        return self.statement.total_chf

    @property
    def flagged_ranges(self) -> list[dict]:
        """The flagged hours as runs of consecutive hours per cluster and reason."""
        runs: list[dict] = []
        for f in self.flagged:
            last = runs[-1] if runs else None
            if last and (last["cluster"], last["reason"], last["end"]) == (
                f["cluster"],
                f["reason"],
                f["hour"],
            ):
                last["end"] += HOUR
                last["hours"] += 1
            else:
                runs.append({**f, "start": f["hour"], "end": f["hour"] + HOUR, "hours": 1})
        return runs


def statement_content(statement: Statement, clusters: QuerySet[Cluster] | None) -> StatementContent:
    """The content of `statement`: the lacking hours of `clusters` only (None: every one)."""
    lines = priced_lines(statement)
    jobs = job_amounts(lines)
    month = statement.period.month
    sums = month_sums(statement.account, month)
    return StatementContent(
        statement=statement,
        period=statement.period,
        account=statement.account,
        receiver_type_name=receiver_type_name(statement.receiver_type),
        lines=lines,
        missing=missing_rows(only_clusters(statement.missing_hours or {}, clusters)),
        flagged=flagged_rows(only_clusters(statement.flagged_hours or {}, clusters)),
        top_jobs=jobs[:TOP_JOBS],
        users=user_split(jobs),
        efficiency=efficiency(sums, month),
        gpu=gpu_use(statement.account, month, sums),
    )
