"""Account pages: the accounts a user may see, and one account's usage, cost, budget and jobs,
and the month's jobs that held GPUs idle most."""

import csv

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Count, Q, Sum
from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _

from billing.ledger.pricing import to_unit
from billing.models import DailyUsage, HourlyUsage, Job
from billing.resources import RESOURCES
from billing.utc import month_bounds, month_of, next_month, previous_month
from kubemon.csv_cells import neutralise
from web import access, dates, reports
from web.budgets import budget_rows
from web.forms import JobFilter, show_drawn

JOBS_PER_PAGE = 50
IDLE_JOBS = 10


@login_required
def account_list(request):
    now = timezone.now()
    month = month_of(now)
    first, last = dates.month_days(month, now)
    accounts = access.visible_accounts(request.user).order_by("name")
    daily = DailyUsage.objects.filter(account__in=accounts)
    costs = {
        row["account_id"]: row
        for row in reports.costs_by(daily, ["account_id"], first, last, reports.all_tariffs())
    }
    rows = [{"account": a, **costs.get(a.pk, {})} for a in accounts]
    return render(request, "web/account_list.html", {"rows": rows, "month": month})


def visible_account(user, pk: int):
    account = access.visible_accounts(user).filter(pk=pk).first()
    if account is None:
        raise Http404("no such account")
    return account


def job_filter(request, account) -> JobFilter:
    namespaces = (
        DailyUsage.objects.filter(account=account)
        .values_list("namespace", flat=True)
        .distinct()
        .order_by("namespace")
    )
    kinds = Job.objects.values_list("kind", flat=True).distinct().order_by("kind")
    return JobFilter(request.GET, list(namespaces), list(kinds))


def filtered_jobs(account, form: JobFilter, month, tariffs) -> list[dict]:
    start, end = month_bounds(month)
    usage = HourlyUsage.objects.filter(account=account)
    data = form.cleaned_data
    if data["namespace"]:
        usage = usage.filter(job__namespace=data["namespace"])
    if data["kind"]:
        usage = usage.filter(job__kind=data["kind"])
    if data["q"]:
        usage = usage.filter(job__name__icontains=data["q"])
    rows = reports.job_rows(usage, start, end, tariffs)
    sort_jobs(rows, data["sort"] or "-cost")
    return rows


def sort_jobs(rows: list[dict], sort: str):
    key = sort.lstrip("-")
    if key in ("name", "namespace", "kind", "first_hour"):
        rows.sort(key=lambda r: (r[key], r["name"]))
    else:
        # None (nothing requested, so no efficiency) sorts below every number.
        rows.sort(key=lambda r: (r[key] is not None, r[key] or 0, r["name"]))
    if sort.startswith("-"):
        rows.reverse()


@login_required
def account(request, pk: int):
    account = visible_account(request.user, pk)
    now = timezone.now()
    form = job_filter(request, account)
    if not form.is_valid():
        context = {"account": account, "form": form}
        return render(request, "web/account.html", context, status=400)
    month = form.cleaned_data["period"] or month_of(now)
    show_drawn(form, period=f"{month:%Y-%m}")
    first, last = dates.month_days(month, now)
    tariffs = reports.all_tariffs()
    daily = DailyUsage.objects.filter(account=account)
    totals = reports.costs_by(daily, ["account_id"], first, last, tariffs)
    jobs = filtered_jobs(account, form, month, tariffs)
    page = Paginator(jobs, JOBS_PER_PAGE).get_page(request.GET.get("page"))
    context = {
        "account": account,
        "form": form,
        "month": month,
        "previous": previous_month(month),
        "next": next_month(month) if month < month_of(now) else None,
        "resources": resource_lines(totals[0] if totals else {}, month),
        "total": totals[0]["cost"] if totals else reports.ZERO,
        "chart": reports.cost_chart(
            "account-cost",
            _("Estimated cost per day and resource (CHF)"),
            daily,
            first,
            last,
            tariffs,
        ),
        "page": page,
        "job_count": len(jobs),
        "idle_jobs": idle_gpu_jobs(account, month),
        "query": query_without_page(request),
        # This month's budget figures, whatever month the page shows; None for ops.
        "budget_rows": budget_rows(
            request.user, [account] if account.budget_chf is not None else [], now
        ),
    }
    return render(request, "web/account.html", context)


def idle_gpu_jobs(account, month) -> list[dict]:
    """The account's jobs of the month that held GPUs idle, the most idle GPU-hours first
    (the first IDLE_JOBS), with their GPU figures (reports.gpu_figures): one query, the
    ranking and the cut made by the database. The page's job filters do not apply."""
    start, end = month_bounds(month)
    rows = (
        HourlyUsage.objects.filter(
            account=account, hour__gte=start, hour__lt=end, gpu_seconds__gt=0
        )
        .values("job_id", "job__name", "job__namespace", "job__kind")
        .annotate(
            gpu_seconds=Sum("gpu_seconds"),
            gpu_busy_seconds=Sum("gpu_busy_seconds"),
            gpu_idle_seconds=Sum("gpu_idle_seconds"),
            gpu_energy_joules=Sum("gpu_energy_joules"),
            gpu_energy_estimated_hours=Count("pk", filter=Q(gpu_energy_estimated=True)),
        )
        .filter(gpu_idle_seconds__gt=0)
        .order_by("-gpu_idle_seconds", "job__name", "job_id")[:IDLE_JOBS]
    )
    return [
        {
            "id": row["job_id"],
            "name": row["job__name"],
            "namespace": row["job__namespace"],
            "kind": row["job__kind"],
            "gpu_energy_estimated_hours": row["gpu_energy_estimated_hours"],
            **reports.gpu_figures(row),
        }
        for row in rows
    ]


def resource_lines(group: dict, month) -> list[dict]:
    """Per resource: what was used, what its tariff's policy bills, and the amount."""
    start = month_bounds(month)[0]
    billed = group.get("billed", {})
    return [
        {
            "name": reports.RESOURCE_NAMES[resource],
            "unit": spec.unit,
            "used": to_unit(resource, group.get(spec.usage_field) or 0.0, start),
            "billed": billed.get(resource, {}).get("quantity"),
            "cost": billed.get(resource, {}).get("cost"),
        }
        for resource, spec in RESOURCES.items()
    ]


def query_without_page(request) -> str:
    params = request.GET.copy()
    params.pop("page", None)
    return params.urlencode()


CSV_COLUMNS = [
    ("job_id", "id"),
    ("cluster", "cluster"),
    ("namespace", "namespace"),
    ("kind", "kind"),
    ("name", "name"),
    ("parent_kind", "parent_kind"),
    ("parent_name", "parent_name"),
    ("hours", "hours"),
    ("cpu_core_hours", "cpu_hours"),
    ("cpu_request_core_hours", "cpu_request_hours"),
    ("memory_gib_hours", "memory_gib_hours"),
    ("memory_request_gib_hours", "memory_request_gib_hours"),
    ("gpu_hours", "gpu_hours"),
    ("gpu_energy_kwh", "gpu_energy_kwh"),
    ("gpu_busy_hours", "gpu_busy_hours"),
    ("gpu_idle_hours", "gpu_idle_hours"),
    ("gpu_energy_estimated_hours", "gpu_energy_estimated_hours"),
    ("estimated_cost_chf", "cost"),
]


@login_required
def jobs_csv(request, pk: int):
    """The account's jobs of a period, filtered and sorted as on the page, every row."""
    account = visible_account(request.user, pk)
    form = job_filter(request, account)
    if not form.is_valid():
        errors = "; ".join(f"{f}: {' '.join(e)}" for f, e in form.errors.items())
        return HttpResponse(errors, status=400, content_type="text/plain; charset=utf-8")
    month = form.cleaned_data["period"] or month_of(timezone.now())
    jobs = filtered_jobs(account, form, month, reports.all_tariffs())
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    # Django's helper: a non-ASCII name as filename*, a CR or LF percent-encoded.
    name = f"{account.name}-{month:%Y-%m}-jobs.csv"
    response["Content-Disposition"] = content_disposition_header(True, name)
    writer = csv.writer(response)
    writer.writerow([column for column, _ in CSV_COLUMNS])
    for job in jobs:
        writer.writerow([neutralise(job[key]) for _, key in CSV_COLUMNS])
    return response
