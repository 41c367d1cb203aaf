"""Carbon of the GPU energy: kg CO2-eq per job and per account, hour by hour.

An hour's energy E joules at the grid's intensity I g CO2-eq/kWh emits
E / 3.6e6 kWh x I / 1000 kg; I is the hour's imported figure (GridIntensity,
`import_grid_intensity`), else the constant KUBEMON_GRID_GCO2_PER_KWH. Only the GPUs' own
energy is counted (HourlyUsage.gpu_energy_joules): not CPU, memory, storage, network or
cooling (no PUE applied), and at the location-based average intensity, not the marginal one
(docs/billing.md, Carbon). Computed when read, never stored: a newer import of intensities
changes the figures of the hours it covers.
"""

import math
from dataclasses import dataclass
from datetime import date, datetime

from django.conf import settings
from django.db.models import QuerySet, Sum

from billing.models import GridIntensity, HourlyUsage
from billing.utc import month_bounds

JOULES_PER_KWH = 3.6e6


@dataclass(frozen=True)
class Carbon:
    energy_kwh: float
    co2_kg: float
    # Hours with energy but no imported intensity, priced at the constant.
    hours_at_default: int


def co2_kg(joules: float, gco2_per_kwh: float) -> float:
    """kg CO2-eq of `joules` of electricity at `gco2_per_kwh`."""
    return joules / JOULES_PER_KWH * gco2_per_kwh / 1000


def carbon_of(
    energy: dict[datetime, float], intensities: dict[datetime, float], default: float
) -> Carbon:
    """The carbon of an energy per UTC hour (joules), each hour at its intensity, else
    `default`."""
    return Carbon(
        energy_kwh=math.fsum(energy.values()) / JOULES_PER_KWH,
        co2_kg=math.fsum(co2_kg(j, intensities.get(h, default)) for h, j in energy.items()),
        hours_at_default=sum(1 for h in energy if h not in intensities),
    )


def usage_carbon(usage: QuerySet[HourlyUsage]) -> Carbon:
    """The carbon of the GPU energy of `usage` rows, in two queries: their energy per hour,
    then the intensities of those hours' span."""
    energy = dict(
        usage.filter(gpu_energy_joules__gt=0)
        .order_by()
        .values("hour")
        .annotate(joules=Sum("gpu_energy_joules"))
        .values_list("hour", "joules")
    )
    intensities = {}
    if energy:
        intensities = dict(
            GridIntensity.objects.filter(hour__gte=min(energy), hour__lte=max(energy))
            .order_by()
            .values_list("hour", "gco2_per_kwh")
        )
    return carbon_of(energy, intensities, settings.KUBEMON_GRID_GCO2_PER_KWH)


def job_carbon(job_id: int, start: datetime | None = None, end: datetime | None = None) -> Carbon:
    """The carbon of a job's GPU energy in the hours [start, end) (all its hours by default)."""
    usage = HourlyUsage.objects.filter(job_id=job_id)
    if start is not None:
        usage = usage.filter(hour__gte=start)
    if end is not None:
        usage = usage.filter(hour__lt=end)
    return usage_carbon(usage)


def account_month_carbon(account_id: int, month: date) -> Carbon:
    """The carbon of the GPU energy billed to an account in a UTC month."""
    start, end = month_bounds(month)
    return usage_carbon(
        HourlyUsage.objects.filter(account_id=account_id, hour__gte=start, hour__lt=end)
    )
