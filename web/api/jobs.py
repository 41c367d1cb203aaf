"""The jobs API: GET /api/v1/jobs, a filtered and paginated list, and GET /api/v1/jobs/<id>.

A job is visible when at least one of its hours is billed to an account the user may see
(web/access.py); its accounts, totals, hours and estimated cost count only those hours.
The cost is an estimate at the tariffs in force each UTC day for the rate class of the account
each hour was billed to (billing/ledger/costs.py): the bill is the statement. Its GPU energy
in kWh and the carbon of that energy in kg CO2-eq count the same hours, each at its hour's
grid intensity (billing/ledger/carbon.py).
"""

import math
from datetime import UTC

from django.db.models import Count, Exists, OuterRef
from django.db.models.functions import TruncDate
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.decorators import api_view
from rest_framework.exceptions import NotFound
from rest_framework.response import Response

from billing.ledger.carbon import usage_carbon
from billing.ledger.costs import RATE_CLASS, hourly_cost_sums, total_cost
from billing.ledger.pricing import every_tariff
from billing.models import HourlyUsage, Job
from billing.resources import QUANTITIES
from web import access
from web.api import schema
from web.api.pagination import paginate
from web.api.params import check_window, choice, time_param

ORDERINGS = ("name", "-name", "first_seen", "-first_seen", "last_seen", "-last_seen")
FILTERS = {"cluster": "cluster__name", "namespace": "namespace", "kind": "kind"}


# What the `max` tariff policy bills, per job-hour (as billing/collection/rollup.py sums it).
def job_list(user, params):
    """The visible jobs that match the filters, ordered as asked (by name by default)."""
    ordering = choice(params, "ordering", ORDERINGS, "name")
    start, end = time_param(params, "start"), time_param(params, "end")
    check_window(start, end)
    jobs = access.visible_jobs(user).select_related("cluster")
    jobs = jobs.filter(**{FILTERS[name]: params[name] for name in FILTERS if params.get(name)})
    if params.get("q"):
        jobs = jobs.filter(name__icontains=params["q"])
    lookups = {
        "account__name": params.get("account") or None,
        "hour__gte": start,
        "hour__lt": end,
    }
    lookups = {lookup: value for lookup, value in lookups.items() if value is not None}
    if lookups:
        billed = access.visible_usage(user).filter(job=OuterRef("pk"), **lookups)
        jobs = jobs.filter(Exists(billed))
    return jobs.order_by(ordering, "pk")


def account_names(user, jobs: list[Job]) -> dict[int, list[str]]:
    """The names of the visible accounts each job was billed to, in two queries.

    One EXISTS per visible account, each a probe of the (job, account) index: reading the
    distinct accounts of every hour of a page of year-long jobs would read them all.
    """
    names = {job.pk: [] for job in jobs}
    if not names:
        return names
    accounts = dict(access.visible_accounts(user).order_by("name").values_list("pk", "name"))
    billed = {
        f"a{pk}": Exists(HourlyUsage.objects.filter(job=OuterRef("pk"), account_id=pk))
        for pk in accounts
    }
    for row in Job.objects.filter(pk__in=list(names)).values("pk", **billed):
        names[row["pk"]] = [name for pk, name in accounts.items() if row[f"a{pk}"]]
    return names


def job_json(job: Job, accounts: list[str]) -> dict:
    return {
        "id": job.pk,
        "cluster": job.cluster.name,
        "namespace": job.namespace,
        "kind": job.kind,
        "name": job.name,
        "parent_kind": job.parent_kind,
        "parent_name": job.parent_name,
        "first_seen": job.first_seen.isoformat(),
        "last_seen": job.last_seen.isoformat(),
        "accounts": accounts,
    }


def job_day_sums(user, job: Job) -> list[dict]:
    """The job's visible usage per UTC day and rate class of its accounts: hours, every
    quantity and the `max` sums."""
    return list(
        access.visible_usage(user)
        .filter(job=job)
        .annotate(day=TruncDate("hour", tzinfo=UTC))
        .values("day", RATE_CLASS)
        .annotate(hours=Count("pk"), **hourly_cost_sums())
        .order_by("day")
    )


class JobItem(serializers.Serializer):
    id = serializers.IntegerField()
    cluster = serializers.CharField()
    namespace = serializers.CharField()
    kind = serializers.CharField(help_text="Job, Deployment, StatefulSet, Pod, PVC...")
    name = serializers.CharField()
    parent_kind = serializers.CharField(help_text="e.g. CronJob; empty if none")
    parent_name = serializers.CharField()
    first_seen = serializers.DateTimeField()
    last_seen = serializers.DateTimeField()
    accounts = serializers.ListField(
        child=serializers.CharField(), help_text="accounts it was billed to"
    )


class JobDetail(JobItem):
    hours = serializers.IntegerField(help_text="job-hours billed")
    totals = schema.Quantities()
    estimated_cost_chf = serializers.DecimalField(
        max_digits=14, decimal_places=2, help_text="at the tariffs in force; the bill may differ"
    )
    gpu_energy_kwh = serializers.FloatField(
        help_text="energy of the GPUs it held (totals.gpu_energy_joules / 3.6e6)"
    )
    gpu_co2_kg = serializers.FloatField(
        help_text="kg CO2-eq of that energy, each hour at its grid intensity "
        "(import_grid_intensity, else KUBEMON_GRID_GCO2_PER_KWH); GPUs only, location-based "
        "average, no PUE"
    )


@extend_schema(
    operation_id="jobs_list",
    parameters=[
        schema.text_parameter("cluster", "only jobs of this cluster"),
        schema.text_parameter("namespace", "only jobs of this namespace"),
        schema.text_parameter("kind", "only jobs of this kind (Job, Deployment, ...)"),
        schema.text_parameter(
            "account", "only jobs billed to this account (in the window, if given)"
        ),
        schema.text_parameter("q", "only jobs whose name contains this, ignoring case"),
        schema.time_parameter("start", "only jobs with usage from this time"),
        schema.time_parameter("end", "only jobs with usage before this time"),
        OpenApiParameter("ordering", OpenApiTypes.STR, enum=ORDERINGS, default="name"),
        *schema.page_parameters(),
    ],
    responses={
        200: schema.page_of("JobPage", JobItem),
        400: schema.BAD_PARAM,
        401: schema.UNAUTHENTICATED,
        403: schema.REFUSED,
    },
)
@api_view(["GET"])
def jobs(request):
    """The jobs the user may see, filtered and ordered, paginated."""
    rows, page = paginate(request, job_list(request.user, request.query_params))
    accounts = account_names(request.user, rows)
    return Response({**page, "results": [job_json(job, accounts[job.pk]) for job in rows]})


@extend_schema(
    operation_id="job_retrieve",
    responses={
        200: JobDetail,
        401: schema.UNAUTHENTICATED,
        403: schema.REFUSED,
        404: schema.NOT_FOUND,
    },
)
@api_view(["GET"])
def job(request, pk: int):
    """One job: its accounts, billed hours, totals per quantity, estimated cost in CHF and
    the carbon of its GPU energy."""
    found = access.visible_jobs(request.user).select_related("cluster").filter(pk=pk).first()
    if found is None:
        raise NotFound("no such job")
    days = job_day_sums(request.user, found)
    cost = total_cost(days, every_tariff())
    carbon = usage_carbon(access.visible_usage(request.user).filter(job=found))
    return Response(
        {
            **job_json(found, account_names(request.user, [found])[found.pk]),
            "hours": sum(day["hours"] for day in days),
            "totals": {q: math.fsum(day[q] for day in days) for q in QUANTITIES},
            "estimated_cost_chf": str(cost),
            "gpu_energy_kwh": carbon.energy_kwh,
            "gpu_co2_kg": carbon.co2_kg,
        }
    )
