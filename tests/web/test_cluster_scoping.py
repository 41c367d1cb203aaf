"""A lab sees the collection records of its own clusters only; finance and ops see all.

Data gaps (`/api/v1/usage`), the hours not collected and flagged of a statement (page and
API) and of a month's list name clusters and, in their reasons, nodes. A lab member sees
those of the clusters where its accounts have usage or a namespace mapping (web/access.py).

The site: lab-a runs on epfl-1 and has a mapping (no usage yet) on epfl-3; lab-b runs on
epfl-2 without a mapping (its namespace label said so). Each cluster has a data gap, March
2026 has hours not collected on each and a flagged hour on epfl-1 and epfl-2.
"""

from datetime import UTC, datetime, timedelta

import pytest
from django.contrib.auth.models import Group, User
from django.db import transaction
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from billing.collection import rollup
from billing.ledger.drafts import refresh_open_periods
from billing.models import Cluster, DataGap, NamespaceAccount, Period, Statement
from tests.fixtures.billing_rows import (
    APRIL,
    MARCH,
    add_usage,
    collect_hours,
    core_hours,
    make_account,
    make_job,
    make_tariffs,
)

pytestmark = pytest.mark.django_db

EVERY_CLUSTER = {"epfl-1", "epfl-2", "epfl-3"}
SEES = {"fiona": EVERY_CLUSTER, "oscar": EVERY_CLUSTER, "alice": {"epfl-1", "epfl-3"}}
SEES["bob"] = {"epfl-2"}
# Node names in reasons: another lab's must not reach a lab.
NODES = {"epfl-1": "node-a1", "epfl-2": "node-b7", "epfl-3": "ksm-c"}


def at(day: int, hour: int = 0) -> datetime:
    return datetime(2026, 3, day, hour, tzinfo=UTC)


@pytest.fixture(scope="module")
def two_clusters(django_db_setup, django_db_blocker):
    """The site, built once for the module and rolled back at its end; tests run in `db`."""
    with django_db_blocker.unblock(), transaction.atomic():
        yield build()
        transaction.set_rollback(True)


def build():
    make_tariffs()
    lab_a = make_account("lab-a", cost_center="10421")
    lab_b = make_account("lab-b", cost_center="20555")
    train = make_job("train", namespace="bio", cluster="epfl-1")
    serve = make_job("serve", namespace="physics", cluster="epfl-2")
    for hour in range(6):
        add_usage(train, lab_a, at(2, hour), **core_hours(2))
        add_usage(serve, lab_b, at(2, hour), **core_hours(1))
    epfl_3 = Cluster.objects.create(name="epfl-3")
    NamespaceAccount.objects.create(
        cluster=Cluster.objects.get(name="epfl-1"), namespace="bio", account=lab_a, valid_from=MARCH
    )
    NamespaceAccount.objects.create(
        cluster=epfl_3, namespace="bio", account=lab_a, valid_from=MARCH
    )
    collect_hours(MARCH, at(10), cluster="epfl-1")
    collect_hours(at(10, 2), APRIL, cluster="epfl-1")
    collect_hours(MARCH, at(20), cluster="epfl-2")
    collect_hours(at(21), APRIL, cluster="epfl-2")
    collect_hours(at(5, 3), at(5, 4), "epfl-1", "kubelet node-a1 silent 90 min")
    collect_hours(at(6, 4), at(6, 5), "epfl-2", "kubelet node-b7 silent 95 min")
    for name, exporter in (("epfl-1", "kubelet node-a1"), ("epfl-2", "kubelet node-b7")):
        day = 5 if name == "epfl-1" else 6
        DataGap.objects.create(
            cluster=Cluster.objects.get(name=name),
            exporter=exporter,
            start=at(day, 3),
            end=at(day, 3) + timedelta(minutes=90),
            bridged=False,
        )
    DataGap.objects.create(
        cluster=epfl_3, exporter="kube-state-metrics ksm-c", start=at(7), end=at(7, 1), bridged=True
    )
    for name in ("epfl-1", "epfl-2"):
        rollup.refresh_range(at(2).date(), at(3).date(), Cluster.objects.get(name=name))
    make_users(lab_a, lab_b)
    assert refresh_open_periods(timezone.now(), [MARCH.date()]) == []  # as collection does
    return lab_a, lab_b


def make_users(lab_a, lab_b):
    for name, role in (("fiona", "finance"), ("oscar", "ops")):
        User.objects.create(username=name).groups.add(Group.objects.get_or_create(name=role)[0])
    lab_a.members.add(User.objects.create(username="alice"))
    lab_b.members.add(User.objects.create(username="bob"))


def api(username: str, url: str, **params):
    client = APIClient()
    client.force_authenticate(User.objects.get(username=username))
    answer = client.get(url, params)
    assert answer.status_code == 200, answer.content
    return answer


def page(username: str, url: str, **params):
    client = Client()
    client.force_login(User.objects.get(username=username))
    answer = client.get(url, params)
    assert answer.status_code == 200, answer.content
    return answer.content.decode()


def gap_clusters(username: str, **params) -> set[str]:
    answer = api(username, "/api/v1/usage", start="2026-03-01", end="2026-04-01", **params)
    return {gap["cluster"] for gap in answer.json()["gaps"]}


@pytest.mark.parametrize("username", ["fiona", "oscar", "alice", "bob"])
def test_the_usage_api_lists_the_data_gaps_of_the_users_clusters_only(two_clusters, username):
    assert gap_clusters(username) == SEES[username]


def test_a_lab_asking_for_another_clusters_gaps_by_filter_gets_none(two_clusters):
    assert gap_clusters("alice", cluster="epfl-2") == set()
    assert gap_clusters("fiona", cluster="epfl-2") == {"epfl-2"}


def statement_of(account: str) -> Statement:
    return Statement.objects.get(account__name=account, period__month=MARCH.date())


@pytest.mark.parametrize(
    ("username", "account", "missing", "flagged"),
    [
        ("fiona", "lab-a", EVERY_CLUSTER, {"epfl-1", "epfl-2"}),
        ("alice", "lab-a", {"epfl-1", "epfl-3"}, {"epfl-1"}),
        ("bob", "lab-b", {"epfl-2"}, {"epfl-2"}),
    ],
)
def test_a_statements_missing_and_flagged_hours_are_its_accounts_clusters_for_a_lab(
    two_clusters, username, account, missing, flagged
):
    url = f"/api/v1/statements/{statement_of(account).pk}"
    body = api(username, url).json()
    assert set(body["missing_hours"]) == missing
    assert set(body["flagged_hours"]) == flagged
    text = page(username, reverse("statement", args=[statement_of(account).pk]))
    for cluster in EVERY_CLUSTER:
        assert (cluster in text) == (cluster in missing | flagged), cluster
    for cluster, node in NODES.items():
        assert (node in text) == (cluster in flagged), node


@pytest.mark.parametrize("username", ["fiona", "alice", "bob"])
@pytest.mark.parametrize("month", ["2026-03", "2026-04"])
def test_the_months_hours_not_collected_are_the_users_clusters_only(two_clusters, username, month):
    text = page(username, reverse("statements"), period=month)
    assert "Hours not collected so far" in text
    listed = {c for c in EVERY_CLUSTER if f"<td>{c}</td>" in text}
    assert listed == SEES[username]
    assert not Period.objects.filter(month=APRIL.date()).exists()
