"""The job page: a job's hourly usage against its requests, its cost and its parent, and for
a job that held GPUs their energy, its carbon, and how busy the GPUs were."""

import zoneinfo

from django import forms
from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.db.models import Max, Min
from django.http import Http404
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from billing.ledger.carbon import usage_carbon
from billing.resources import GIB, QUANTITIES
from billing.utc import HOUR, month_bounds, month_of, previous_month
from web import access, charts, dates, reports
from web.forms import PeriodField, show_drawn

SIBLINGS = 20


class JobPeriod(forms.Form):
    period = PeriodField(label=gettext_lazy("Period"), required=False)


@login_required
def job(request, pk: int):
    job = access.visible_jobs(request.user).select_related("cluster").filter(pk=pk).first()
    if job is None:
        raise Http404("no such job")
    usage = access.visible_usage(request.user).filter(job=job)
    form = JobPeriod(request.GET)
    if not form.is_valid():
        return render(request, "web/job.html", {"job": job, "form": form}, status=400)
    span = usage.aggregate(first=Min("hour"), last=Max("hour"))
    month = form.cleaned_data["period"] or month_of(span["last"] or job.last_seen)
    show_drawn(form, period=f"{month:%Y-%m}")
    start, end = month_bounds(month)
    tariffs = reports.all_tariffs()
    month_usage = usage.filter(hour__gte=start, hour__lt=end)
    hours = list(month_usage.order_by("hour").values("hour", "account__name", *QUANTITIES))
    period = first_row(reports.job_rows(usage, start, end, tariffs))
    lifetime = None
    if span["first"]:
        lifetime = first_row(reports.job_rows(usage, span["first"], span["last"] + HOUR, tariffs))
    zone = zoneinfo.ZoneInfo(settings.KUBEMON_DISPLAY_TIME_ZONE)
    context = {
        "job": job,
        "form": form,
        "month": month,
        "previous": previous_month(month),
        "next": end.date(),
        "hours": [hour_row(h) for h in hours],
        "accounts": sorted({h["account__name"] for h in hours}),
        "period": period,
        "lifetime": lifetime,
        "gpu": gpu_energy(period, month_usage, lifetime, usage),
        "charts": hour_charts(hours, zone),
        "siblings": siblings(request.user, job),
    }
    return render(request, "web/job.html", context)


def first_row(rows: list[dict]) -> dict | None:
    """The one row reports.job_rows gives for one job, or None when it did not run."""
    return rows[0] if rows else None


def gpu_energy(period, month_usage, lifetime, usage) -> dict | None:
    """The month's and the whole life's GPU figures (reports.gpu_figures, in their job_rows
    rows) with the carbon of their energy, each hour at its grid intensity; None for a job
    that never held a GPU: it shows no GPU table and runs none of these queries."""
    if not (lifetime and lifetime["gpu_hours"]):
        return None
    return {
        "period": period and {**period, "co2_kg": usage_carbon(month_usage).co2_kg},
        "lifetime": {**lifetime, "co2_kg": usage_carbon(usage).co2_kg},
        "idle_percent": settings.KUBEMON_GPU_IDLE_PERCENT,
    }


def hour_row(h: dict) -> dict:
    return {
        "hour": h["hour"],
        "account": h["account__name"],
        "cpu": h["cpu_core_seconds"] / 3600,
        "cpu_request": h["cpu_request_core_seconds"] / 3600,
        "memory": h["memory_byte_seconds"] / 3600 / GIB,
        "memory_request": h["memory_request_byte_seconds"] / 3600 / GIB,
        "gpu": h["gpu_seconds"] / 3600,
    }


def hour_charts(hours: list[dict], zone) -> list[dict]:
    """Average cores, GiB and GPUs per hour, used against requested."""
    labels = [dates.hour_label(h["hour"], zone) for h in hours]
    rows = [hour_row(h) for h in hours]
    made = [
        charts.chart(
            "job-cpu",
            _("CPU: cores used and requested, hourly average"),
            labels,
            {_("used"): [r["cpu"] for r in rows], _("requested"): [r["cpu_request"] for r in rows]},
            y_title=_("cores"),
        ),
        charts.chart(
            "job-memory",
            _("Memory: GiB used and requested, hourly average"),
            labels,
            {
                _("used"): [r["memory"] for r in rows],
                _("requested"): [r["memory_request"] for r in rows],
            },
            y_title="GiB",
        ),
    ]
    if any(r["gpu"] for r in rows):
        made.append(
            charts.chart(
                "job-gpu",
                _("GPUs allocated, hourly average"),
                labels,
                {_("GPUs"): [r["gpu"] for r in rows]},
                y_title=_("GPUs"),
            )
        )
    return made


def siblings(user, job) -> list:
    """Other runs of the same parent (a CronJob's Jobs, say), the latest first."""
    if not job.parent_name:
        return []
    return list(
        access.visible_jobs(user)
        .filter(
            cluster=job.cluster,
            namespace=job.namespace,
            parent_kind=job.parent_kind,
            parent_name=job.parent_name,
        )
        .exclude(pk=job.pk)
        .order_by("-first_seen")[:SIBLINGS]
    )
