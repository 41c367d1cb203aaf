"""The overview: cost over time, top accounts and namespaces, and collection health."""

from datetime import timedelta

import pytest
from django.utils import timezone

from billing.models import Account, CollectionRun, DailyUsage, DataGap
from tests.fixtures.api_site import site_fixture  # noqa: F401
from tests.fixtures.site_data import PASSWORD

# The site is built once for the module (tests/fixtures/api_site.py); each test's changes roll back.
pytestmark = pytest.mark.django_db


def overview(client, username, days=90):
    assert client.login(username=username, password=PASSWORD)
    page = client.get(f"/?days={days}")
    assert page.status_code == 200
    return page


def test_cost_chart_adds_up_to_the_accounts_total(client, site):
    page = overview(client, "fiona")
    chart = page.context["cost_chart"]
    assert len(chart["labels"]) == 90
    drawn = sum(sum(d["data"]) for d in chart["datasets"])
    total = page.context["total"]
    assert total > 0
    assert drawn == pytest.approx(float(total), abs=0.01 * len(page.context["accounts"]) * 7)
    assert total == sum(a["cost"] for a in page.context["accounts"])


def test_every_account_is_listed_with_the_unassigned_one_for_finance_and_ops(client, site):
    for user in ("fiona", "oscar"):
        names = [a["account__name"] for a in overview(client, user).context["accounts"]]
        assert sorted(names) == ["lab-a", "lab-b", "unassigned"]


def test_the_unassigned_account_is_shown_even_without_usage(client, site):
    DailyUsage.objects.filter(account__name=Account.UNASSIGNED).delete()
    names = [a["account__name"] for a in overview(client, "fiona").context["accounts"]]
    assert names[-1] == "unassigned"
    assert "namespaces without an account" in overview(client, "fiona").content.decode()


def test_a_lab_member_sees_only_their_account_and_no_collection_health(client, site):
    page = overview(client, "alice")
    assert [a["account__name"] for a in page.context["accounts"]] == ["lab-a"]
    assert {n["account__name"] for n in page.context["namespaces"]} == {"lab-a"}
    assert "health" not in page.context
    assert "collection-health" not in page.content.decode()


def test_collection_health_shows_the_last_hour_lag_failures_and_gaps(client, site):
    now = timezone.now()
    DataGap.objects.create(
        cluster=site.cluster,
        exporter="dcgm-exporter",
        start=now - timedelta(hours=5),
        end=now - timedelta(hours=3),
        bridged=False,
    )
    CollectionRun.objects.filter(status=CollectionRun.Status.FAILED).update(started_at=now)
    health = overview(client, "oscar").context["health"]
    after = timezone.now()
    (cluster,) = health["clusters"]
    assert cluster["cluster__name"] == "epfl-1"
    assert cluster["last_hour"].isoformat() == "2026-11-29T19:00:00+00:00"
    collected_until = cluster["last_hour"] + timedelta(hours=1)
    assert now - collected_until <= cluster["lag"] <= after - collected_until
    assert health["failed_count"] == 1
    assert "did not answer" in health["failed_runs"][0].error
    assert [g.exporter for g in health["gaps"]] == ["dcgm-exporter"]


def test_an_unknown_range_falls_back_to_thirty_days(client, site):
    for days in ("3", "x", "-1"):
        page = overview(client, "fiona", days)
        assert page.context["span"] == 30


def test_the_overview_runs_a_fixed_number_of_queries(client, site, django_assert_num_queries):
    assert client.login(username="fiona", password=PASSWORD)
    # session, user, groups, tariffs, visible accounts' names, clusters' names, the chart's
    # days, accounts, namespaces (each one query whatever the months and tariffs spanned);
    # GPU energy per day of held and of unheld GPUs; health: clusters, failed runs and their
    # count, gaps and their count; the accounts with a budget (none here; with some, four
    # more: tests/web/test_budgets.py).
    with django_assert_num_queries(17):
        client.get("/?days=365")


def test_the_overview_shows_no_energy_section_without_gpu_energy(client, site):
    page = overview(client, "fiona", days=365)
    assert page.context["energy"]["clusters"] == []
    assert 'id="gpu-energy"' not in page.content.decode()
