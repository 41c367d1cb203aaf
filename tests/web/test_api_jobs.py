"""GET /api/v1/jobs and GET /api/v1/jobs/<id>: fields, filters, ordering, totals and cost."""

from datetime import UTC, datetime

import pytest
from django.db.models import Sum

from billing.ledger.costs import COST_FIELDS, RATE_CLASS, total_cost
from billing.ledger.pricing import Tariffs
from billing.models import DailyUsage, GridIntensity, HourlyUsage, Tariff
from billing.resources import QUANTITIES
from tests.fixtures.api_site import client_for, get, site_fixture  # noqa: F401

FIELDS = {
    "id",
    "cluster",
    "namespace",
    "kind",
    "name",
    "parent_kind",
    "parent_name",
    "first_seen",
    "last_seen",
    "accounts",
}


def jobs(username="fiona", **params) -> list[dict]:
    answer = get(username, "/api/v1/jobs", page_size=500, **params)
    assert answer.status_code == 200, answer.content
    return answer.json()["results"]


def names(**params) -> list[str]:
    return [job["name"] for job in jobs(**params)]


def test_a_job_is_listed_with_its_identity_times_and_accounts(db, site):
    nightly = next(job for job in jobs() if job["name"] == "nightly-00")
    assert set(nightly) == FIELDS
    assert nightly == {
        "id": site.jobs["nightly-00"].pk,
        "cluster": "epfl-1",
        "namespace": "bio-ci",
        "kind": "Job",
        "name": "nightly-00",
        "parent_kind": "CronJob",
        "parent_name": "nightly",
        "first_seen": "2026-10-01T02:00:00+00:00",
        "last_seen": "2026-10-01T05:00:00+00:00",
        "accounts": ["lab-a"],
    }


def test_jobs_are_listed_by_name_by_default(db, site):
    assert names() == sorted(site.jobs)


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"namespace": "bio-ci"}, [f"nightly-{i:02d}" for i in range(8)]),
        ({"kind": "StatefulSet"}, ["db"]),
        ({"q": "NOTE"}, ["notebook"]),
        ({"account": "unassigned"}, ["debug"]),
        ({"cluster": "another"}, []),
        (
            {"kind": "Job", "namespace": "physics", "q": "sim-0"},
            [f"sim-{i:02d}" for i in range(10)],
        ),
    ],
)
def test_jobs_are_filtered_by_cluster_namespace_kind_account_and_name(db, site, params, expected):
    assert names(**params) == expected


def test_jobs_filtered_by_account_are_those_billed_to_it(db, site):
    billed = HourlyUsage.objects.filter(account__name="lab-b").values_list("job__name", flat=True)
    assert names(account="lab-b") == sorted(set(billed))


def test_jobs_filtered_by_a_window_are_those_with_usage_in_it(db, site):
    start, end = datetime(2026, 11, 4, tzinfo=UTC), datetime(2026, 11, 4, 12, tzinfo=UTC)
    used = HourlyUsage.objects.filter(hour__gte=start, hour__lt=end)
    expected = sorted(set(used.values_list("job__name", flat=True)))
    assert names(start=start.isoformat(), end=end.isoformat()) == expected
    assert "debug" in expected and "train-00" not in expected


@pytest.mark.parametrize("ordering", ["first_seen", "-first_seen", "last_seen", "-last_seen"])
def test_jobs_are_ordered_by_the_ordering_asked(db, site, ordering):
    listed = jobs(ordering=ordering)
    field = ordering.lstrip("-")
    times = [job[field] for job in listed]
    assert times == sorted(times, reverse=ordering.startswith("-"))
    assert names(ordering="-name") == sorted(site.jobs, reverse=True)


@pytest.mark.parametrize(
    ("params", "param"),
    [
        ({"ordering": "cluster__name"}, "ordering"),
        ({"ordering": "password"}, "ordering"),
        ({"start": "last tuesday"}, "start"),
        ({"end": "2026-02-30"}, "end"),
        ({"start": "2026-11-02", "end": "2026-11-01"}, "start"),
        ({"page": "0"}, "page"),
    ],
)
def test_a_bad_parameter_is_a_400_naming_it(db, site, params, param):
    answer = get("fiona", "/api/v1/jobs", **params)
    assert answer.status_code == 400
    assert answer.json()["param"] == param
    assert answer.json()["detail"].startswith(f"{param}: ")


def test_the_list_answers_in_a_fixed_number_of_queries(db, site, django_assert_num_queries):
    # The user's groups and accounts, the count, the page of jobs, the names of the visible
    # accounts and which of them each job of the page was billed to.
    for size in (5, 100):
        client = client_for("alice")
        with django_assert_num_queries(6):
            answer = client.get("/api/v1/jobs", {"page_size": size})
        assert len(answer.json()["results"]) == min(size, 21)


def detail(username: str, job) -> dict:
    answer = get(username, f"/api/v1/jobs/{job.pk}")
    assert answer.status_code == 200, answer.content
    return answer.json()


def test_a_job_has_its_totals_and_hours_as_the_hourly_rows_sum_them(db, site):
    job = site.jobs["train-03"]
    body = detail("fiona", job)
    rows = HourlyUsage.objects.filter(job=job)
    sums = rows.aggregate(**{q: Sum(q) for q in QUANTITIES})
    assert body["hours"] == rows.count() == 9
    assert body["totals"] == pytest.approx(sums)
    assert body["accounts"] == ["lab-a"]
    assert set(body) == FIELDS | {
        "hours",
        "totals",
        "estimated_cost_chf",
        "gpu_energy_kwh",
        "gpu_co2_kg",
    }


def test_a_jobs_gpu_energy_and_carbon_count_the_hours_the_user_may_see(db, site, settings):
    settings.KUBEMON_GRID_GCO2_PER_KWH = 100.0
    job, lab_b = site.jobs["notebook"], site.accounts["lab-b"]
    rows = HourlyUsage.objects.filter(job=job).order_by("hour")
    first = rows[0].hour
    assert rows.update(gpu_energy_joules=3.6e6) > 24  # 1 kWh each hour
    GridIntensity.objects.create(hour=first, gco2_per_kwh=400)
    HourlyUsage.objects.filter(job=job, hour__lt=datetime(2026, 11, 2, tzinfo=UTC)).update(
        account=lab_b
    )
    hours = rows.count()
    body = detail("fiona", job)
    assert body["gpu_energy_kwh"] == pytest.approx(hours)
    # The first hour at its imported 400 g, the others at the constant 100 g.
    assert body["gpu_co2_kg"] == pytest.approx(0.4 + (hours - 1) * 0.1)
    mine = detail("alice", job)  # lab-a only: not the 24 hours moved to lab-b, the first one
    assert mine["gpu_energy_kwh"] == pytest.approx(hours - 24)
    assert mine["gpu_co2_kg"] == pytest.approx((hours - 24) * 0.1)


def test_a_jobs_estimated_cost_is_its_days_priced_at_the_tariffs(db, site):
    # `debug` is alone in its namespace: the daily roll-up of `scratch` is its usage.
    days = DailyUsage.objects.filter(namespace="scratch").values("day", RATE_CLASS, *COST_FIELDS)
    expected = total_cost(days, Tariffs(Tariff.objects.all()))
    # 5 core-hours at 0.05, 5 GiB-hours at 0.005, 25 GiB-hours of storage (1/720 month)
    # at 0.03 per GiB-month, 0.233 GiB sent at 0.02: 0.2807 CHF.
    assert detail("fiona", site.jobs["debug"])["estimated_cost_chf"] == str(expected) == "0.28"


def test_a_member_sees_only_the_hours_billed_to_its_accounts(db, site):
    job, lab_b = site.jobs["notebook"], site.accounts["lab-b"]
    moved = HourlyUsage.objects.filter(job=job, hour__lt=datetime(2026, 11, 2, tzinfo=UTC))
    assert moved.update(account=lab_b) == 24
    assert detail("fiona", job)["accounts"] == ["lab-a", "lab-b"]
    mine = detail("alice", job)
    assert mine["accounts"] == ["lab-a"]
    assert mine["hours"] == detail("fiona", job)["hours"] - 24
    assert detail("bob", job)["hours"] == 24
    assert [j["accounts"] for j in jobs("bob", q="notebook")] == [["lab-b"]]


def test_an_unknown_job_is_a_404(db, site):
    assert get("fiona", "/api/v1/jobs/999999").status_code == 404
