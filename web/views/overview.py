"""The overview: usage and cost over recent days, top accounts and namespaces, GPU energy per
day and cluster, this month's budgets (for finance and members), and, for ops and finance,
the energy of GPUs no pod held and the health of collection."""

from datetime import timedelta

from django.contrib.auth.decorators import login_required
from django.db.models import Count, Max, Q
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _

from billing.models import Account, Cluster, CollectedHour, CollectionRun, DailyUsage, DataGap
from web import access, charts, dates, energy, reports
from web.budgets import budget_rows

RANGES = (7, 30, 90, 365)
HEALTH_DAYS = 7


def chosen_range(request) -> int:
    try:
        days = int(request.GET.get("days", 30))
    except ValueError:
        return 30
    return days if days in RANGES else 30


@login_required
def overview(request):
    now = timezone.now()
    span = chosen_range(request)
    first, last = dates.recent_days(now, span)
    tariffs = reports.all_tariffs()
    visible = dict(access.visible_accounts(request.user).values_list("pk", "name"))
    daily = DailyUsage.objects.filter(account__in=list(visible))
    # Grouped by ids, named here: grouping a year by names would sort text on disk.
    accounts = reports.costs_by(daily, ["account_id"], first, last, tariffs)
    namespaces = reports.costs_by(
        daily, ["cluster_id", "namespace", "account_id"], first, last, tariffs
    )
    clusters = dict(Cluster.objects.values_list("pk", "name"))
    for group in accounts + namespaces:
        group["account__name"] = visible[group["account_id"]]
        group["cluster__name"] = clusters.get(group.get("cluster_id"))
    context = {
        "span": span,
        "ranges": RANGES,
        "first": first,
        "last": last,
        "total": sum((a["cost"] for a in accounts), reports.ZERO),
        "accounts": with_unassigned(accounts, visible, request.user)[:15],
        "namespaces": namespaces[:15],
        "cost_chart": reports.cost_chart(
            "cost-per-day", _("Estimated cost per day (CHF)"), daily, first, last, tariffs
        ),
        "account_chart": account_chart(accounts[:8]),
        # A lab's own GPUs' energy; the unheld GPUs' is no lab's: ops and finance only.
        "energy": energy.energy_overview(
            daily, first, last, clusters, access.sees_every_account(request.user)
        ),
        # Someone signed in whose groups name no account yet: say whom to ask, not an error.
        "no_account": not visible,
        # This month's budgets of the visible accounts that have one; None for ops.
        "budget_rows": budget_rows(
            request.user,
            access.visible_accounts(request.user).filter(budget_chf__isnull=False).order_by("name"),
            now,
        ),
    }
    if access.sees_every_account(request.user):
        context["health"] = collection_health(now)
    return render(request, "web/overview.html", context)


def with_unassigned(accounts: list[dict], names: dict[int, str], user) -> list[dict]:
    """Every page shows the unassigned account, even at zero, to whoever sees every account."""
    if not access.sees_every_account(user):
        return accounts
    unassigned = [a for a in accounts if a["account__name"] == Account.UNASSIGNED]
    others = [a for a in accounts if a["account__name"] != Account.UNASSIGNED]
    if not unassigned:
        pk = next((pk for pk, name in names.items() if name == Account.UNASSIGNED), None)
        zero = {"account_id": pk, "cost": reports.ZERO, "cpu_hours": 0.0}
        unassigned = [{**zero, "account__name": Account.UNASSIGNED}]
    return others[:14] + unassigned


def account_chart(accounts: list[dict]) -> dict:
    return charts.chart(
        "cost-per-account",
        _("Estimated cost per account (CHF)"),
        [a["account__name"] for a in accounts],
        {_("Cost"): [a["cost"] for a in accounts]},
        kind="bar",
        y_title="CHF",
    )


def collection_health(now) -> dict:
    since = now - timedelta(days=HEALTH_DAYS)
    clusters = (
        CollectedHour.objects.values("cluster__name")
        .annotate(
            last_hour=Max("hour"),
            flagged=Count("pk", filter=Q(flagged=True, hour__gte=since)),
        )
        .order_by("cluster__name")
    )
    for c in clusters:
        c["lag"] = dates.lag(c["last_hour"] + timedelta(hours=1), now)
    failed = CollectionRun.objects.filter(
        status=CollectionRun.Status.FAILED, started_at__gte=since
    ).order_by("-started_at")
    gaps = DataGap.objects.filter(end__gte=since).select_related("cluster").order_by("-start")
    return {
        "days": HEALTH_DAYS,
        "clusters": list(clusters),
        "failed_runs": list(failed[:5]),
        "failed_count": failed.count(),
        "gaps": list(gaps[:5]),
        "gap_count": gaps.count(),
    }
