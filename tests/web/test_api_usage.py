"""GET /api/v1/usage: grouping, filters, validation and authentication."""

from datetime import UTC, datetime

import pytest
from rest_framework.test import APIClient

from billing.collection import rollup
from billing.models import Account, Cluster, HourlyUsage, Job

T0 = datetime(2026, 3, 2, 10, tzinfo=UTC)


@pytest.fixture
def usage(db, django_user_model):
    cluster = Cluster.objects.create(name="epfl-1")
    lab = Account.objects.create(name="CC 10421", cost_center="10421")
    lab.members.add(django_user_model.objects.create_user("alice"))
    other = Account.objects.create(name="unassigned")
    train = Job.objects.create(
        cluster=cluster, namespace="ml", kind="Job", name="train", first_seen=T0, last_seen=T0
    )
    web = Job.objects.create(
        cluster=cluster,
        namespace="web",
        kind="Deployment",
        name="site",
        first_seen=T0,
        last_seen=T0,
    )
    for hour in (10, 11):
        at = T0.replace(hour=hour)
        HourlyUsage.objects.create(job=train, hour=at, account=lab, cpu_core_seconds=100.0)
        HourlyUsage.objects.create(job=web, hour=at, account=other, cpu_core_seconds=1.5)
    HourlyUsage.objects.create(job=train, hour=T0.replace(day=3), account=lab, cpu_core_seconds=7.0)
    # As write_hour does: whole days are answered from the roll-up.
    rollup.refresh_hours(cluster, [T0, T0.replace(day=3)])


def get(client, **params):
    return client.get("/api/v1/usage", params)


def test_usage_per_job_sums_the_hours_of_the_window(api_client, usage):
    answer = get(api_client, start="2026-03-02", end="2026-03-03", group_by="job")
    assert answer.status_code == 200
    rows = answer.json()["rows"]
    assert [(r["namespace"], r["kind"], r["name"], r["cpu_core_seconds"]) for r in rows] == [
        ("ml", "Job", "train", 200.0),
        ("web", "Deployment", "site", 3.0),
    ]
    assert rows[0]["cluster"] == "epfl-1"
    assert set(rows[0]) >= {"memory_byte_seconds", "gpu_seconds", "network_tx_bytes"}


def test_usage_groups_by_account_and_day(api_client, usage):
    answer = get(api_client, start="2026-03-01", end="2026-03-04", group_by="account,day")
    rows = answer.json()["rows"]
    assert [(r["account"], r["day"], r["cpu_core_seconds"]) for r in rows] == [
        ("CC 10421", "2026-03-02", 200.0),
        ("CC 10421", "2026-03-03", 7.0),
        ("unassigned", "2026-03-02", 3.0),
    ]


def test_usage_groups_by_hour_and_filters_by_namespace(api_client, usage):
    answer = get(api_client, start="2026-03-02", end="2026-03-03", group_by="hour", namespace="web")
    rows = answer.json()["rows"]
    assert [(r["hour"], r["cpu_core_seconds"]) for r in rows] == [
        ("2026-03-02T10:00:00+00:00", 1.5),
        ("2026-03-02T11:00:00+00:00", 1.5),
    ]


def test_usage_filters_by_account_and_job(api_client, usage):
    answer = get(api_client, start="2026-03-01", end="2026-03-04", account="CC 10421", job="train")
    assert [r["cpu_core_seconds"] for r in answer.json()["rows"]] == [207.0]


def test_usage_answers_in_a_fixed_number_of_queries(api_client, usage, django_assert_num_queries):
    # The rows' count (a page of them), the page's rows, their jobs, and the data gaps.
    with django_assert_num_queries(4):
        get(api_client, start="2026-03-01", end="2026-03-04", group_by="job,hour")


@pytest.mark.parametrize(
    ("params", "parameter"),
    [
        ({"start": "yesterday"}, "start"),
        ({"end": "2026-13-01"}, "end"),
        ({"start": "2026-03-03", "end": "2026-03-02"}, "start"),
        ({"group_by": "job,planet"}, "group_by"),
        ({"group_by": ""}, "group_by"),
    ],
)
def test_bad_parameters_get_a_400_naming_them(api_client, usage, params, parameter):
    answer = get(api_client, **params)
    assert answer.status_code == 400
    assert answer.json()["param"] == parameter
    assert parameter in answer.json()["detail"]


def test_usage_needs_authentication(usage):
    assert APIClient().get("/api/v1/usage").status_code in (401, 403)


def test_a_lab_member_sees_only_the_accounts_of_the_lab(usage, django_user_model):
    client = APIClient()
    client.force_authenticate(django_user_model.objects.get(username="alice"))
    rows = get(client, start="2026-03-01", end="2026-03-04", group_by="account").json()["rows"]
    assert [r["account"] for r in rows] == ["CC 10421"]
    # Asking for another account's usage by name gives nothing either.
    rows = get(client, start="2026-03-01", end="2026-03-04", account="unassigned").json()["rows"]
    assert rows == []


def test_a_user_of_no_lab_sees_no_usage(usage, django_user_model):
    client = APIClient()
    client.force_authenticate(django_user_model.objects.create_user("charlie"))
    answer = get(client, start="2026-03-01", end="2026-03-04", group_by="account")
    assert answer.status_code == 200 and answer.json()["rows"] == []


def test_usage_per_cluster_over_whole_days_reads_the_roll_up_and_names_the_cluster(
    api_client, usage
):
    # Whole UTC days read the daily roll-up, whose own `cluster` field the group must not
    # shadow; the same window one hour shorter reads the job-hours: the same answer.
    daily = get(api_client, start="2026-03-01", end="2026-03-04", group_by="cluster")
    hourly = get(
        api_client, start="2026-03-01T01:00:00Z", end="2026-03-04T00:00:00Z", group_by="cluster"
    )
    assert daily.status_code == hourly.status_code == 200
    rows = [(r["cluster"], r["cpu_core_seconds"]) for r in daily.json()["rows"]]
    assert rows == [(r["cluster"], r["cpu_core_seconds"]) for r in hourly.json()["rows"]]
    assert rows and rows[0][0] == "epfl-1"
