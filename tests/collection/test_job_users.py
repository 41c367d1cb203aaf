"""Who ran each job: the pod label KUBEMON_USER_LABEL names, read from kube_pod_labels.

Collected from the session's real Prometheus and compared with the simulator's truth, on the
plain cluster and on the one with every exporter behaviour (two kube-state-metrics replicas,
restarts, labels moved by honor_labels false, an HA Prometheus pair). Off, nothing is asked.
"""

from datetime import UTC, datetime, timedelta

import pytest

from billing.checks import label_settings
from billing.collection.attribution import JobUsage
from billing.collection.jobs import JobDirectory
from billing.models import Cluster, CollectionRun, Job
from promadapter.client import PrometheusClient
from tests.conftest import scenario_cluster
from tests.fixtures.truth_compare import collect

HOUR = timedelta(hours=1)


@pytest.fixture
def asked(monkeypatch):
    """Every PromQL expression the collection sends, in order."""
    expressions: list[str] = []
    for name in ("query", "query_range"):
        original = getattr(PrometheusClient, name)

        def spy(self, expr, *args, _original=original, **kwargs):
            expressions.append(expr)
            return _original(self, expr, *args, **kwargs)

        monkeypatch.setattr(PrometheusClient, name, spy)
    return expressions


def truth_users(truth) -> dict[tuple, str]:
    return {(j["namespace"], j["kind"], j["name"]): j["user"] or "" for j in truth["jobs"]}


def collected_users(cluster: str) -> dict[tuple, str]:
    jobs = Job.objects.filter(cluster__name=cluster).exclude(kind="PersistentVolumeClaim")
    return {(j.namespace, j.kind, j.name): j.user for j in jobs}


@pytest.mark.parametrize("label", ["default", "sc-all"])
def test_every_job_is_credited_to_the_user_its_pods_carry(
    db, prometheus_settings, usage_window, cluster, label, asked
):
    prometheus_settings.KUBEMON_USER_LABEL = "label_user"
    collect(usage_window, label)
    truth = (cluster if label == "default" else scenario_cluster(label)).truth(*usage_window)
    expected = truth_users(truth)
    got = collected_users(label)
    assert got, "nothing collected"
    assert set(got) <= set(expected)
    assert got == {key: expected[key] for key in got}
    # the comparison means something: users and jobs without one were both collected
    assert len({user for user in got.values() if user}) >= 2
    assert "" in got.values()
    # one query for the chunk's six hours, whatever the number of pods
    assert len([expr for expr in asked if "kube_pod_labels" in expr]) == 1


def test_without_the_setting_no_user_is_read_and_no_query_is_sent(
    db, prometheus_settings, usage_window, asked
):
    prometheus_settings.KUBEMON_USER_LABEL = ""
    collect(usage_window)
    assert Job.objects.exists()
    assert not Job.objects.exclude(user="").exists()
    assert asked and not [expr for expr in asked if "kube_pod_labels" in expr]
    # the same window again with the setting on: one query more, no other difference
    prometheus_settings.KUBEMON_USER_LABEL = "label_user"
    collect(usage_window)
    off, on = CollectionRun.objects.order_by("pk")
    assert on.queries == off.queries + 1
    assert Job.objects.exclude(user="").exists()


@pytest.fixture
def directory(db):
    return JobDirectory(Cluster.objects.create(name="lab"))


def hour(n: int) -> datetime:
    return datetime(2026, 3, 2, tzinfo=UTC) + n * HOUR


def usage_of(users: dict[str, str]) -> dict[tuple, JobUsage]:
    return {("ml", "Job", name): JobUsage(user=user) for name, user in users.items()}


def test_a_later_hour_names_the_user_an_earlier_one_only_fills_a_blank(directory):
    directory.for_hour(hour(5), usage_of({"a": "alice", "b": ""}))
    directory.for_hour(hour(2), usage_of({"a": "bruno", "b": "chloe"}))
    assert dict(Job.objects.values_list("name", "user")) == {"a": "alice", "b": "chloe"}
    directory.for_hour(hour(6), usage_of({"a": "dmitri", "b": ""}))
    assert dict(Job.objects.values_list("name", "user")) == {"a": "dmitri", "b": "chloe"}


def test_users_are_written_in_one_update_per_user_whatever_the_number_of_jobs(
    directory, django_assert_num_queries
):
    names = [f"j{i}" for i in range(60)]
    directory.for_hour(hour(0), usage_of({name: "" for name in names}))
    # one UPDATE of last_seen, then one per user: not one per job
    with django_assert_num_queries(3):
        directory.for_hour(
            hour(1),
            usage_of({name: ("alice" if i % 2 else "bruno") for i, name in enumerate(names)}),
        )
    assert Job.objects.filter(user="alice").count() == 30


@pytest.mark.parametrize("value", ["user-name", "1user", "label user", 'x"}'])
def test_a_user_label_that_is_not_a_label_name_is_refused_by_the_checks(settings, value):
    settings.KUBEMON_USER_LABEL = value
    (error,) = label_settings()
    assert error.id == "billing.E001" and error.is_serious()
    assert "KUBEMON_USER_LABEL" in error.msg and repr(value) in error.msg


@pytest.mark.parametrize("value", ["", "label_user"])
def test_an_empty_or_valid_user_label_passes_the_checks(settings, value):
    settings.KUBEMON_USER_LABEL = value
    assert label_settings() == []
