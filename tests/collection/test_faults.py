"""collect_usage broken at seeded points, then run again: every hour ends up exact.

A forwarding proxy on 127.0.0.1 stands between the collector and the session's Prometheus and,
at the request a seed picks, injects one fault: Prometheus killed (every connection cut from
then on, as a dead process does until it is restarted), a 5xx, an answer slower than the
deadline, a truncated or malformed body, `"status":"error"`, or a partial-data warning. The
proxy rather than killing the session's Prometheus: to the client a killed server is exactly
a cut connection, and the session's Prometheus, with hours of backfilled blocks, stays up for
the other test modules. PostgreSQL's connection is dropped for real, by pg_terminate_backend.
"""

import json
import random
import threading
import time

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from billing.collection import rollup
from billing.models import CollectedHour, CollectionRun, HourlyUsage
from billing.resources import QUANTITIES
from tests.fixtures.local_http import LocalHTTPServer, QuietHandler, forward

START, END = "2026-03-02T06:00:00+00:00", "2026-03-02T08:00:00+00:00"
HOURS = 2
FAULTS = ("killed", "http503", "slow", "truncated", "malformed", "error", "partial")
SEEDS = (1, 2, 3, 4, 5)


class FaultyProxy(LocalHTTPServer):
    """Forwards to Prometheus; request number `at` (from 1) and later get `fault`."""

    def __init__(self, target: str, timeout: float):
        self.target, self.timeout = target, timeout
        self.seen, self.at, self.fault = 0, None, None
        self.lock = threading.Lock()
        proxy = self

        class Handler(QuietHandler):
            def do_POST(self):
                with proxy.lock:
                    proxy.seen += 1
                    fault = proxy.fault if proxy.at and proxy.seen >= proxy.at else None
                body = self.request_body()
                if fault == "killed":
                    self.close_connection = True
                    return
                if fault == "slow":
                    time.sleep(proxy.timeout + 0.5)
                upstream = forward(self, proxy.target, body)
                status, content = injected(fault, upstream.status_code, upstream.content)
                length = len(upstream.content) if fault == "truncated" else None
                self.answer(status, content, length)
                if fault == "truncated":
                    self.close_connection = True

            do_GET = do_POST

        super().__init__(Handler)

    def arm(self, at: int | None, fault: str | None) -> None:
        with self.lock:
            self.seen, self.at, self.fault = 0, at, fault


def injected(fault: str | None, status: int, content: bytes) -> tuple[int, bytes]:
    """The answer with the fault in it (`status`, `content` for none)."""
    if fault == "http503":
        return 503, b"upstream connect error or disconnect/reset before headers"
    if fault == "truncated":
        return status, content[: len(content) // 2]
    if fault == "malformed":
        return status, content[: len(content) // 2] + b"]}"
    if fault == "error":
        return 422, b'{"status":"error","errorType":"execution","error":"injected"}'
    if fault == "partial":
        answer = json.loads(content)
        answer["warnings"] = ["store 10.0.0.7:10901 unreachable: partial response"]
        return status, json.dumps(answer).encode()
    return status, content


def rows() -> dict[tuple, tuple]:
    """Every stored job-hour and all its quantities."""
    fields = ("job__namespace", "job__kind", "job__name", "hour", *QUANTITIES)
    return {row[:4]: row[4:] for row in HourlyUsage.objects.values_list(*fields)}


def forget_collection() -> None:
    HourlyUsage.objects.all().delete()
    CollectedHour.objects.all().delete()
    CollectionRun.objects.all().delete()


def collect() -> None:
    """A plain run, from the last collected hour to END (from START on the first)."""
    start = {} if CollectedHour.objects.exists() else {"start": START}
    call_command("collect_usage", end=END, cluster="default", **start)


@pytest.fixture
def fault_settings(prometheus_settings):
    settings = prometheus_settings
    settings.PROMETHEUS_RETRIES = 0
    settings.PROMETHEUS_TIMEOUT = 2
    settings.KUBEMON_COLLECT_CHUNK_HOURS = 1
    settings.KUBEMON_COLLECT_LOCK_WAIT = 0
    return settings


@pytest.fixture
def clean_rows(fault_settings) -> dict:
    """The rows of an unbroken run over the window; the database is left empty."""
    call_command("collect_usage", start=START, end=END, cluster="default")
    clean = rows()
    forget_collection()
    return clean


def test_runs_broken_at_seeded_points_leave_every_hour_exact_after_the_next_run(db, fault_settings):
    settings = fault_settings
    prometheus_url = settings.PROMETHEUS_URL
    with FaultyProxy(prometheus_url, settings.PROMETHEUS_TIMEOUT) as proxy:
        settings.PROMETHEUS_URL = proxy.url
        call_command("collect_usage", start=START, end=END, cluster="default")
        clean_rows, requests_per_run = rows(), proxy.seen
        forget_collection()
        failures = 0
        for seed in SEEDS:
            draw = random.Random(seed)
            proxy.arm(draw.randint(1, requests_per_run), draw.choice(FAULTS))
            try:
                collect()
            except CommandError as e:
                failures += 1
                assert "Prometheus failed" in str(e)
        settings.PROMETHEUS_URL = prometheus_url
    assert failures >= len(SEEDS) // 2  # the seeds broke runs, not only finished ones
    failed = CollectionRun.objects.filter(status="failed")
    assert failed.count() == failures and all(run.error for run in failed)
    collect()
    assert CollectedHour.objects.count() == HOURS
    assert rows() == clean_rows


def test_every_kind_of_fault_fails_the_run_cleanly_and_is_recorded(db, fault_settings):
    settings = fault_settings
    with FaultyProxy(settings.PROMETHEUS_URL, settings.PROMETHEUS_TIMEOUT) as proxy:
        settings.PROMETHEUS_URL = proxy.url
        for fault in FAULTS:
            proxy.arm(4, fault)  # the first hour's first query, after the probe and clusters
            with pytest.raises(CommandError, match="Prometheus failed"):
                call_command("collect_usage", start=START, end=END, cluster="default")
    assert not CollectedHour.objects.exists() and not HourlyUsage.objects.exists()
    failed = CollectionRun.objects.filter(status="failed")
    assert failed.count() == len(FAULTS) and all(run.error for run in failed)


@pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="drops a PostgreSQL connection; CI runs this on PostgreSQL (.ci/run)",
)
def test_a_database_connection_dropped_mid_write_loses_and_doubles_nothing(
    transactional_db, fault_settings, clean_rows, monkeypatch
):
    refresh_hours, writes = rollup.refresh_hours, []

    def drop_on_second_hour(*args):
        # Inside write_hours' transaction of the second one-hour chunk, after its rows.
        writes.append(args)
        if len(writes) == 2:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_backend_pid()")
                pid = cursor.fetchone()[0]
            terminate(pid)
        return refresh_hours(*args)

    monkeypatch.setattr(rollup, "refresh_hours", drop_on_second_hour)
    with pytest.raises(Exception, match="terminat|closed|connection"):
        collect()
    connection.close()  # the next query opens a new connection
    monkeypatch.undo()
    assert [h.hour.hour for h in CollectedHour.objects.all()] == [6]
    assert {key[3].hour for key in rows()} == {6}
    collect()
    assert rows() == clean_rows


def terminate(pid: int) -> None:
    """Kill backend `pid` from a connection of its own, as a restart or a network cut would."""
    import psycopg

    params = connection.get_connection_params()
    params.pop("cursor_factory", None)
    params.pop("context", None)
    with psycopg.connect(**params, autocommit=True) as other:
        other.execute("SELECT pg_terminate_backend(%s)", [pid])
