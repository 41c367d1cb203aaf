"""/metrics: the collection's health read from the database, and the web process's own
Prometheus requests, in Prometheus' text format."""

from datetime import UTC, datetime, timedelta

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from billing.collection.rollup import refresh_range
from billing.models import Account, Cluster, CollectionRun, DailyUsage, DataGap
from promadapter.client import PrometheusClient, PrometheusUnavailable
from simulator.prometheus import free_port
from tests.fixtures.billing_rows import HOUR, add_usage, collect_hours, make_account, make_job

DAY = timedelta(days=1)


def scrape(client, **headers) -> dict:
    """GET /metrics; return {(sample name, labels as sorted tuple): value}."""
    answer = client.get("/metrics", headers=headers)
    assert answer.status_code == 200, answer.content
    assert answer["Content-Type"].startswith("text/plain; version=0.0.4")
    samples = {}
    for family in text_string_to_metric_families(answer.content.decode()):
        for sample in family.samples:
            samples[sample.name, tuple(sorted(sample.labels.items()))] = sample.value
    return samples


def this_hour() -> datetime:
    return timezone.now().replace(minute=0, second=0, microsecond=0)


def fail_run(cluster: str, at: datetime, unreachable: bool) -> CollectionRun:
    return CollectionRun.objects.create(
        cluster=cluster,
        window_start=at - HOUR,
        window_end=at,
        status=CollectionRun.Status.FAILED,
        started_at=at,
        finished_at=at + timedelta(seconds=42),
        query_seconds=40.0,
        error="Prometheus at http://prometheus is unreachable: ConnectionError",
        prometheus_unreachable=unreachable,
    )


@pytest.fixture
def two_clusters(db):
    """epfl-1 collected until 3 hours ago, its last run failed (Prometheus down); epfl-2
    collected until 2 days ago, its last run succeeded; gaps and unassigned usage on epfl-1."""
    now = this_hour()
    collect_hours(now - 6 * HOUR, now - 4 * HOUR, cluster="epfl-1")
    collect_hours(now - 4 * HOUR, now - 3 * HOUR, cluster="epfl-1")
    fail_run("epfl-1", now - 2 * HOUR, unreachable=True)
    fail_run("epfl-1", now - 5 * HOUR, unreachable=False)
    collect_hours(now - 3 * DAY, now - 2 * DAY, cluster="epfl-2")
    epfl_1 = Cluster.objects.get(name="epfl-1")
    for exporter, bridged in [("kube-state-metrics", True), ("cadvisor", True), ("dcgm", False)]:
        DataGap.objects.create(
            cluster=epfl_1, exporter=exporter, start=now - 5 * HOUR, end=now, bridged=bridged
        )
    unassigned = Account.objects.create(name=Account.UNASSIGNED)
    lab = make_account()
    first, second = make_job("train", "lost-ns"), make_job("serve", "lost-ns")
    for hour in (now - 5 * HOUR, now - 4 * HOUR):
        add_usage(first, unassigned, hour, cpu_core_seconds=1800.0)
        add_usage(second, unassigned, hour, cpu_core_seconds=0.5)
        add_usage(make_job(f"lab-{hour:%H}", "lab-a"), lab, hour, cpu_core_seconds=7.0)
    refresh_range(now.date() - 2 * DAY, now.date() + DAY)
    return now


def one(samples: dict, name: str, **labels) -> float:
    return samples[name, tuple(sorted(labels.items()))]


def test_the_last_collected_hour_and_the_lag_are_per_cluster(client, two_clusters):
    now = two_clusters
    samples = scrape(client)
    end_1, end_2 = now - 3 * HOUR, now - 2 * DAY
    name = "kubemon_collection_last_hour_end_timestamp_seconds"
    assert one(samples, name, cluster="epfl-1") == end_1.timestamp()
    assert one(samples, name, cluster="epfl-2") == end_2.timestamp()
    scraped = timezone.now()
    lag_1 = one(samples, "kubemon_collection_lag_seconds", cluster="epfl-1")
    assert 0 <= (scraped - end_1).total_seconds() - lag_1 < 10
    lag_2 = one(samples, "kubemon_collection_lag_seconds", cluster="epfl-2")
    assert 0 <= (scraped - end_2).total_seconds() - lag_2 < 10


def test_runs_are_counted_by_outcome_and_the_last_one_says_why_it_failed(client, two_clusters):
    now = two_clusters
    samples = scrape(client)
    runs = "kubemon_collection_runs_total"
    assert one(samples, runs, cluster="epfl-1", outcome="succeeded") == 2
    assert one(samples, runs, cluster="epfl-1", outcome="failed") == 2
    assert one(samples, runs, cluster="epfl-2", outcome="succeeded") == 1
    assert one(samples, runs, cluster="epfl-2", outcome="failed") == 0
    assert one(samples, "kubemon_collection_last_run_failed", cluster="epfl-1") == 1
    assert one(samples, "kubemon_collection_last_run_failed", cluster="epfl-2") == 0
    unreachable = "kubemon_collection_last_run_prometheus_unreachable"
    assert one(samples, unreachable, cluster="epfl-1") == 1
    assert one(samples, unreachable, cluster="epfl-2") == 0
    assert one(samples, "kubemon_collection_last_run_duration_seconds", cluster="epfl-1") == 42
    assert one(samples, "kubemon_collection_last_run_duration_seconds", cluster="epfl-2") == 5
    assert one(samples, "kubemon_collection_last_run_query_seconds", cluster="epfl-1") == 40
    # The last success of epfl-1 is the run that collected until 3 hours ago, 5 s after it.
    success = one(samples, "kubemon_collection_last_success_timestamp_seconds", cluster="epfl-1")
    assert success == (now - 3 * HOUR + timedelta(seconds=5)).timestamp()


def test_a_running_run_is_neither_counted_nor_the_last_run(client, two_clusters):
    now = two_clusters
    CollectionRun.objects.create(
        cluster="epfl-1", window_start=now - HOUR, window_end=now, started_at=now
    )
    samples = scrape(client)
    assert one(samples, "kubemon_collection_last_run_failed", cluster="epfl-1") == 1
    runs = "kubemon_collection_runs_total"
    assert one(samples, runs, cluster="epfl-1", outcome="succeeded") == 2


def test_recorded_gaps_are_counted_bridged_or_refused(client, two_clusters):
    samples = scrape(client)
    gaps = "kubemon_collection_gaps_total"
    assert one(samples, gaps, cluster="epfl-1", outcome="bridged") == 2
    assert one(samples, gaps, cluster="epfl-1", outcome="refused") == 1
    assert one(samples, gaps, cluster="epfl-2", outcome="refused") == 0


def test_unassigned_usage_is_counted_in_job_hours_and_cpu_seconds(client, two_clusters):
    samples = scrape(client)
    assert one(samples, "kubemon_unassigned_usage_job_hours_total", cluster="epfl-1") == 4
    cpu = one(samples, "kubemon_unassigned_cpu_core_seconds_total", cluster="epfl-1")
    assert cpu == 2 * 1800.0 + 2 * 0.5
    assert one(samples, "kubemon_unassigned_usage_job_hours_total", cluster="epfl-2") == 0


def test_a_scrape_asks_five_queries_however_much_was_collected(
    client, two_clusters, django_assert_num_queries
):
    # Five for the collection's health, one for the accounts with a budget (none here; their
    # figures: tests/web/test_budgets.py).
    with django_assert_num_queries(6):
        scrape(client)
    now = two_clusters
    for n in range(3, 9):
        collect_hours(now - 30 * DAY, now - 30 * DAY + 2 * HOUR, cluster=f"epfl-{n}")
        fail_run(f"epfl-{n}", now - HOUR, unreachable=False)
    with django_assert_num_queries(6):
        samples = scrape(client)
    assert one(samples, "kubemon_collection_last_run_failed", cluster="epfl-8") == 1


def test_an_empty_database_gives_the_families_without_samples(client, db):
    answer = client.get("/metrics")
    families = {f.name for f in text_string_to_metric_families(answer.content.decode())}
    assert {"kubemon_collection_lag_seconds", "kubemon_collection_runs"} <= families


def test_a_prometheus_down_before_any_run_is_recorded_as_an_unreachable_run(
    client, two_clusters, settings
):
    settings.PROMETHEUS_URL = f"http://127.0.0.1:{free_port()}"
    settings.PROMETHEUS_RETRIES = 0
    with pytest.raises(CommandError, match="unreachable"):
        call_command("collect_usage", cluster="epfl-2")
    samples = scrape(client)
    assert one(samples, "kubemon_collection_last_run_failed", cluster="epfl-2") == 1
    assert one(samples, "kubemon_collection_last_run_prometheus_unreachable", cluster="epfl-2") == 1
    runs = "kubemon_collection_runs_total"
    assert one(samples, runs, cluster="epfl-2", outcome="failed") == 1
    assert one(samples, runs, cluster="epfl-1", outcome="failed") == 2  # only the one asked for


def test_prometheus_requests_of_this_process_are_counted_by_outcome(
    client, db, prometheus_settings
):
    before = scrape(client)
    PrometheusClient().query("vector(1)")
    closed = PrometheusClient(f"http://127.0.0.1:{free_port()}", retries=0)
    with pytest.raises(PrometheusUnavailable):
        closed.query("vector(1)")
    after = scrape(client)

    def increase(name, **labels):
        return one(after, name, **labels) - one(before, name, **labels)

    assert increase("kubemon_prometheus_requests_total", outcome="ok") == 1
    assert increase("kubemon_prometheus_requests_total", outcome="unavailable") == 1
    assert increase("kubemon_prometheus_requests_total", outcome="timeout") == 0
    assert increase("kubemon_prometheus_request_duration_seconds_count") == 2


def test_the_metrics_token_is_required_when_set(client, db, settings):
    settings.KUBEMON_METRICS_TOKEN = "s3cret"
    assert client.get("/metrics").status_code == 401
    wrong = client.get("/metrics", headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401
    assert wrong["WWW-Authenticate"] == "Bearer"
    scrape(client, Authorization="Bearer s3cret")


def test_the_job_hours_of_the_roll_up_count_each_job_hour_once(db):
    unassigned = Account.objects.create(name=Account.UNASSIGNED)
    job = make_job("train", "lost-ns")
    day = datetime(2026, 3, 2, tzinfo=UTC)
    for h in range(5):
        add_usage(job, unassigned, day + h * HOUR, cpu_core_seconds=1.0)
    refresh_range(day.date(), day.date() + DAY)
    (row,) = DailyUsage.objects.all()
    assert (row.jobs, row.job_hours) == (1, 5)
