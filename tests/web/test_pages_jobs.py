"""The job page: hourly usage against requests, cost, parent, and who may see it."""

import pytest

from billing.models import HourlyUsage, Job
from tests.fixtures.api_site import site_fixture  # noqa: F401
from tests.fixtures.site_data import NOVEMBER, PASSWORD

# The site is built once for the module (tests/fixtures/api_site.py); each test's changes roll back.
pytestmark = pytest.mark.django_db


def job_page(client, username, job, query=""):
    assert client.login(username=username, password=PASSWORD)
    return client.get(f"/jobs/{job.pk}/{query}")


def test_the_hourly_charts_draw_each_hour_used_and_requested(client, site):
    job = site.jobs["train-05"]
    page = job_page(client, "alice", job)
    assert page.status_code == 200
    hours = list(HourlyUsage.objects.filter(job=job).order_by("hour"))
    cpu, memory, gpu = page.context["charts"]
    assert len(cpu["labels"]) == len(hours) == 11
    used, requested = cpu["datasets"]
    assert used["data"] == [round(h.cpu_core_seconds / 3600, 4) for h in hours]
    assert requested["data"] == [round(h.cpu_request_core_seconds / 3600, 4) for h in hours]
    assert memory["id"] == "job-memory" and gpu["id"] == "job-gpu"
    assert [h["hour"] for h in page.context["hours"]] == [h.hour for h in hours]


def test_efficiency_and_cost_cover_the_month_and_the_whole_life(client, site):
    job = site.jobs["notebook"]
    page = job_page(client, "alice", job, "?period=2026-11")
    month, life = page.context["period"], page.context["lifetime"]
    assert month["hours"] == life["hours"] == HourlyUsage.objects.filter(job=job).count()
    assert month["cost"] == life["cost"] > 0
    assert month["cpu_efficiency"] == pytest.approx(0.5)
    assert month["memory_efficiency"] == pytest.approx(0.6)
    empty = job_page(client, "alice", job, "?period=2026-09").context
    assert empty["period"] is None and empty["hours"] == []
    assert empty["lifetime"]["cost"] == life["cost"]


def test_the_page_defaults_to_the_last_month_the_job_ran(client, site):
    page = job_page(client, "alice", site.jobs["notebook"])
    assert page.context["month"] == NOVEMBER.date()


def test_a_cronjob_run_links_its_parent_and_the_other_runs(client, site):
    page = job_page(client, "alice", site.jobs["nightly-03"])
    assert "CronJob nightly" in page.content.decode()
    siblings = [j.name for j in page.context["siblings"]]
    assert siblings == [f"nightly-{i:02d}" for i in (7, 6, 5, 4, 2, 1, 0)]


def test_another_accounts_job_is_a_404_for_a_member_and_open_to_ops(client, site):
    physics = site.jobs["sim-03"]
    assert job_page(client, "alice", physics).status_code == 404
    assert job_page(client, "oscar", physics).status_code == 200
    assert job_page(client, "alice", Job(pk=999999)).status_code == 404


def test_a_bad_period_is_a_400_naming_the_field(client, site):
    page = job_page(client, "alice", site.jobs["train-05"], "?period=2026-00")
    assert page.status_code == 400
    assert list(page.context["form"].errors) == ["period"]


def test_the_job_page_runs_a_fixed_number_of_queries(client, site, django_assert_num_queries):
    assert client.login(username="alice", password=PASSWORD)
    # session, user, groups, accounts, job, first and last hour, tariffs, hours, month,
    # life, siblings.
    with django_assert_num_queries(11):
        client.get(f"/jobs/{site.jobs['nightly-03'].pk}/")
    with django_assert_num_queries(10):
        client.get(f"/jobs/{site.jobs['notebook'].pk}/")
