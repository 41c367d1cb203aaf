"""Carbon of the GPU energy: each hour's joules / 3.6e6 kWh x that hour's imported
g CO2-eq/kWh (else KUBEMON_GRID_GCO2_PER_KWH) / 1000, summed hour by hour, per job and per
account's month, in two queries."""

from datetime import UTC, date, datetime

import pytest

from billing.ledger.carbon import (
    account_month_carbon,
    carbon_of,
    co2_kg,
    job_carbon,
)
from billing.models import GridIntensity
from tests.fixtures.billing_rows import HOUR, MARCH, add_usage, make_account, make_job

KWH = 3.6e6  # joules
H0 = MARCH + 5 * HOUR


@pytest.fixture
def default_100(settings):
    settings.KUBEMON_GRID_GCO2_PER_KWH = 100.0


def test_a_kilowatt_hour_at_one_kilogram_per_kilowatt_hour_is_one_kilogram():
    assert co2_kg(KWH, 1000) == 1.0
    assert co2_kg(2 * KWH, 98) == pytest.approx(0.196, rel=1e-12)
    assert co2_kg(0, 500) == 0


def test_each_hour_takes_its_own_intensity_else_the_default():
    energy = {H0: 2 * KWH, H0 + HOUR: KWH, H0 + 2 * HOUR: 0.5 * KWH}
    carbon = carbon_of(energy, {H0: 300.0, H0 + 2 * HOUR: 20.0}, default=100.0)
    # 2 kWh x 300 g + 1 kWh x 100 g (default) + 0.5 kWh x 20 g = 710 g
    assert carbon.co2_kg == pytest.approx(0.710, rel=1e-12)
    assert carbon.energy_kwh == pytest.approx(3.5, rel=1e-12)
    assert carbon.hours_at_default == 1


def test_a_job_over_several_hours_sums_its_hours_at_their_intensities(
    db, default_100, django_assert_num_queries
):
    account, job = make_account(), make_job()
    for i, kwh in enumerate([1.0, 3.0, 0.0, 2.0]):
        add_usage(job, account, H0 + i * HOUR, gpu_energy_joules=kwh * KWH)
    GridIntensity.objects.create(hour=H0, gco2_per_kwh=250)
    GridIntensity.objects.create(hour=H0 + 3 * HOUR, gco2_per_kwh=40)
    GridIntensity.objects.create(hour=H0 + 9 * HOUR, gco2_per_kwh=999)  # no energy then
    with django_assert_num_queries(2):
        carbon = job_carbon(job.pk)
    # 1 x 250 + 3 x 100 (no figure: the default) + 2 x 40 = 630 g
    assert carbon.co2_kg == pytest.approx(0.630, rel=1e-12)
    assert carbon.energy_kwh == pytest.approx(6.0, rel=1e-12)
    assert carbon.hours_at_default == 1


def test_a_job_window_counts_only_its_hours(db, default_100):
    account, job = make_account(), make_job()
    for i in range(4):
        add_usage(job, account, H0 + i * HOUR, gpu_energy_joules=KWH)
    GridIntensity.objects.create(hour=H0 + HOUR, gco2_per_kwh=500)
    carbon = job_carbon(job.pk, start=H0 + HOUR, end=H0 + 3 * HOUR)
    assert carbon.co2_kg == pytest.approx(0.600, rel=1e-12)  # 500 g + 100 g


def test_a_job_without_gpu_energy_has_no_carbon_in_one_query(
    db, default_100, django_assert_num_queries
):
    account, job = make_account(), make_job()
    add_usage(job, account, H0, cpu_core_seconds=3600.0)
    with django_assert_num_queries(1):
        carbon = job_carbon(job.pk)
    assert (carbon.co2_kg, carbon.energy_kwh, carbon.hours_at_default) == (0, 0, 0)


def test_an_accounts_month_sums_its_jobs_hour_by_hour_and_only_that_month(
    db, default_100, django_assert_num_queries
):
    account, other = make_account(), make_account("lab-b")
    train, infer = make_job("train"), make_job("infer")
    add_usage(train, account, H0, gpu_energy_joules=2 * KWH)
    add_usage(infer, account, H0, gpu_energy_joules=KWH)  # same hour: 3 kWh at 200 g
    add_usage(train, account, H0 + HOUR, gpu_energy_joules=KWH)  # default: 100 g
    add_usage(train, other, H0 + 2 * HOUR, gpu_energy_joules=50 * KWH)  # another account
    add_usage(train, account, datetime(2026, 4, 1, tzinfo=UTC), gpu_energy_joules=50 * KWH)
    add_usage(train, account, MARCH - HOUR, gpu_energy_joules=50 * KWH)  # February
    GridIntensity.objects.create(hour=H0, gco2_per_kwh=200)
    with django_assert_num_queries(2):
        carbon = account_month_carbon(account.pk, date(2026, 3, 1))
    assert carbon.co2_kg == pytest.approx(0.700, rel=1e-12)  # 3 x 200 + 1 x 100 g
    assert carbon.energy_kwh == pytest.approx(4.0, rel=1e-12)
    assert carbon.hours_at_default == 1


def test_the_constant_is_the_setting(db, settings):
    settings.KUBEMON_GRID_GCO2_PER_KWH = 30.0
    account, job = make_account(), make_job()
    add_usage(job, account, H0, gpu_energy_joules=10 * KWH)
    assert job_carbon(job.pk).co2_kg == pytest.approx(0.300, rel=1e-12)
