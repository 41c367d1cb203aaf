"""Idle GPUs, for ops and finance: over a UTC day or month, the energy of the GPUs no pod held,
per node, and the GPUs each account held without using them, per account and cluster.

Usage rows carry no node (web/energy.py), so held GPUs are per account and cluster and only
unheld ones per node. The page reads the daily roll-up and the unheld energy: two grouped
queries, whatever the span.
"""

from datetime import timedelta

from django import forms
from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from billing.utc import FIRST_MONTH, LATEST, month_of, next_month, previous_month
from web import access, dates, energy
from web.forms import PeriodField, show_drawn

FIRST_DAY = FIRST_MONTH
LAST_DAY = LATEST.date() - timedelta(days=1)


class IdleGpuFilter(forms.Form):
    """A month, or one day (which then decides the month)."""

    period = PeriodField(label=_("Month"), required=False)
    day = forms.DateField(
        label=_("Day"),
        required=False,
        input_formats=["%Y-%m-%d"],
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        help_text=_("empty: the whole month"),
    )

    def clean_day(self):
        day = self.cleaned_data.get("day")
        if day is not None and not FIRST_DAY <= day <= LAST_DAY:
            raise forms.ValidationError(
                _(
                    "%(value)s is outside the days billed here: "
                    "write one from %(first)s to %(last)s."
                ),
                params={"value": day.isoformat(), "first": FIRST_DAY, "last": LAST_DAY},
            )
        return day


@login_required
def idle_gpus(request):
    access.require_ops(request.user)
    form = IdleGpuFilter(request.GET)
    if not form.is_valid():
        return render(request, "web/idle_gpus.html", {"form": form}, status=400)
    now = timezone.now()
    day = form.cleaned_data["day"]
    month = day.replace(day=1) if day else form.cleaned_data["period"] or month_of(now)
    show_drawn(form, period=f"{month:%Y-%m}")
    first, last = (day, day) if day else dates.month_days(month, now)
    held = energy.held_by_account(first, last)
    unheld = energy.unheld_by_node(first, last)
    context = {
        "form": form,
        "day": day,
        "month": month,
        "first": first,
        "last": last,
        "idle_percent": settings.KUBEMON_GPU_IDLE_PERCENT,
        "held": held,
        "held_total": energy.held_totals(held),
        "unheld": unheld,
        "unheld_kwh": sum(row["kwh"] for row in unheld),
        **neighbours(day, month, now),
    }
    return render(request, "web/idle_gpus.html", context)


def neighbours(day, month, now) -> dict:
    """The day or month before and after the one shown; none after today's."""
    if day:
        before, after = day - timedelta(days=1), day + timedelta(days=1)
        return {
            "previous": before if before >= FIRST_DAY else None,
            "next": after if after <= now.date() else None,
        }
    return {
        "previous": previous_month(month) if month > FIRST_MONTH else None,
        "next": next_month(month) if month < month_of(now) else None,
    }
