"""Two collect_usage of the same cluster never write at once: one waits or skips cleanly.

On PostgreSQL the runs are real processes on the test database (what production runs:
CronJobs, or a cron run still going when the next starts). SQLite's lock is a file lock,
which two opens in one process contend for as two processes do.
"""

import os
import subprocess
import sys

import pytest
from django.core.management import call_command
from django.db import connection

from billing.collection.locks import collection_lock, lock_key
from billing.models import CollectedHour, CollectionRun
from simulator.prometheus import REPO_DIR

START, END = "2026-03-02T06:00:00+00:00", "2026-03-02T07:00:00+00:00"
SKIPPED = "skipped, another collect_usage is collecting this cluster"
postgresql_only = pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="runs collect_usage in other processes on the test database: PostgreSQL only; "
    "CI runs it on PostgreSQL (.ci/run)",
)


def database_url() -> str:
    db = connection.settings_dict
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    return f"postgres://{db['USER']}{password}@{db['HOST']}:{db['PORT'] or 5432}/{db['NAME']}"


def command(prometheus, wait: float) -> subprocess.Popen:
    """collect_usage over START..END in a process of its own, on the test database."""
    env = {
        **os.environ,
        "DATABASE_URL": database_url(),
        "PROMETHEUS_URL": prometheus.url,
        "KUBEMON_COLLECT_LOCK_WAIT": str(wait),
    }
    args = ["manage.py", "collect_usage", "--start", START, "--end", END, "--cluster", "default"]
    return subprocess.Popen(
        [sys.executable, *args],
        cwd=REPO_DIR,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_lock_keys_differ_per_cluster_and_are_stable():
    assert lock_key("default") == lock_key("default") != lock_key("docker-lab")
    assert -(2**63) <= lock_key("default") < 2**63


@postgresql_only
def test_while_one_holds_the_cluster_another_skips_cleanly_or_waits_and_then_collects(
    transactional_db, prometheus
):
    with collection_lock("default", wait=0):
        waiting, skipping = command(prometheus, wait=60), command(prometheus, wait=0)
        out, err = skipping.communicate(timeout=120)
        assert skipping.returncode == 0 and SKIPPED in err
        assert waiting.poll() is None
        assert not CollectionRun.objects.exists()
    out, err = waiting.communicate(timeout=120)
    assert waiting.returncode == 0, err
    assert SKIPPED not in err
    assert CollectionRun.objects.count() == 1 and CollectedHour.objects.count() == 1


@postgresql_only
def test_two_runs_started_at_once_never_both_collect(transactional_db, prometheus):
    first, second = command(prometheus, wait=0), command(prometheus, wait=0)
    answers = [p.communicate(timeout=180) for p in (first, second)]
    assert [p.returncode for p in (first, second)] == [0, 0]
    assert sum(SKIPPED in err for _, err in answers) == 1
    assert CollectionRun.objects.count() == 1 and CollectedHour.objects.count() == 1


@pytest.mark.skipif(connection.vendor == "postgresql", reason="SQLite's file lock")
def test_on_sqlite_a_second_run_skips_while_the_file_lock_is_held(db, prometheus_settings, capsys):
    prometheus_settings.KUBEMON_COLLECT_LOCK_WAIT = 0
    with collection_lock("default", wait=0):
        call_command("collect_usage", start=START, end=END, cluster="default")
    assert SKIPPED in capsys.readouterr().err
    assert not CollectionRun.objects.exists()
