"""The child processes of bench/collect.py, each measured on its own (peak RSS, wall).

    collect_child.py fresh                      an empty, migrated database
    collect_child.py collect START END LOG      collect_usage over [START, END), requests in LOG
    collect_child.py bound LOG                  replay LOG's requests, then COPY the rows
    collect_child.py floor LOG START END        count every sample of LOG's families per hour

Each prints one line of JSON. DATABASE_URL and PROMETHEUS_URL come from the environment.
"""

import hashlib
import json
import os
import re
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kubemon.settings")

# A metric name where PromQL selects a family: before a `{` of matchers or a `[` of range,
# or listed in a `__name__=~"a|b"` matcher (the GPU energy reads ask for two at once).
FAMILY = re.compile(r"(?<![\w:])([a-zA-Z_:][\w:]*)\s*[{\[]")
NAMES = re.compile(r'__name__=~"([\w:|]+)"')


def fresh() -> dict:
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection

    db = settings.DATABASES["default"]
    if connection.vendor == "postgresql":
        import psycopg

        admin = f"host={db['HOST']} port={db['PORT'] or 5432} user={db['USER']} dbname=postgres"
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{db["NAME"]}"')
            conn.execute(f'CREATE DATABASE "{db["NAME"]}"')
    else:
        Path(db["NAME"]).unlink(missing_ok=True)
    call_command("migrate", verbosity=0)
    return {}


def collect(start: str, end: str, log: str) -> dict:
    import io

    from django.core.management import call_command
    from django.db import connection

    from billing.models import CollectionRun, HourlyUsage
    from billing.resources import QUANTITIES
    from promadapter.client import PrometheusClient

    requests, in_db = [], [0.0]
    original = PrometheusClient.call
    lock = threading.Lock()

    def logged(client, endpoint, params, method="POST"):
        with lock:
            requests.append((endpoint, params, method))
        return original(client, endpoint, params, method)

    def timed(execute, sql, params, many, context):
        began = time.monotonic()
        try:
            return execute(sql, params, many, context)
        finally:
            in_db[0] += time.monotonic() - began

    PrometheusClient.call = logged
    began = time.monotonic()
    with connection.execute_wrapper(timed):
        call_command("collect_usage", start=start, end=end, stdout=io.StringIO())
    wall = time.monotonic() - began
    Path(log).write_text(json.dumps(requests))
    run = CollectionRun.objects.latest("started_at")
    rows = HourlyUsage.objects.values_list(
        "job__namespace", "job__kind", "job__name", "hour", *QUANTITIES
    )
    ordered = sorted(rows)
    totals = {q: sum(r[4 + i] for r in ordered) for i, q in enumerate(QUANTITIES)}
    energy, by_job = 4 + QUANTITIES.index("gpu_energy_joules"), {}
    for row in ordered:
        if row[energy]:
            key = "/".join(row[:3])
            by_job[key] = by_job.get(key, 0.0) + row[energy]
    return {
        "wall": wall,
        "queries": run.queries,
        "query_seconds": run.query_seconds,
        "db_seconds": in_db[0],
        "rows": len(ordered),
        "digest": hashlib.sha256(repr(ordered).encode()).hexdigest(),
        "totals": totals,
        "gpu_energy_by_job": by_job,
    }


def bound(log: str) -> dict:
    from django.db import connection

    replay = replayed(json.loads(Path(log).read_text()))
    return {"replay": replay, "copy": copy_rows(connection)}


def floor(log: str, start: str, end: str) -> dict:
    """The decode floor: every sample of the families the run read, counted once per hour.

    Prometheus decodes each sample of the window once and answers one number per family
    and hour: what reading the data costs when almost nothing has to be sent back.
    """
    families = families_read(json.loads(Path(log).read_text()))
    first, last = datetime.fromisoformat(start), datetime.fromisoformat(end)
    hours = [first + timedelta(hours=i) for i in range(round((last - first) / timedelta(hours=1)))]
    calls = [
        ("query", {"query": count_expr(family), "time": hour_end(h)}, "POST")
        for family in families
        for h in hours
    ]
    answers = []
    seconds = replayed(calls, answers)
    samples = sum(float(s["value"][1]) for a in answers for s in a["data"]["result"])
    return {"floor": seconds, "queries": len(calls), "families": families, "samples": samples}


def families_read(calls: list) -> list[str]:
    """The metric families named in the logged queries' selectors, sorted."""
    found = set()
    for _, params, _ in calls:
        query = params.get("query", "")
        found.update(FAMILY.findall(query))
        for names in NAMES.findall(query):
            found.update(names.split("|"))
    return sorted(found)


def count_expr(family: str) -> str:
    # [3599999ms] at the hour's last millisecond: its samples alone, on closed and left-open
    # ranges alike (promadapter.usage).
    return f"sum(count_over_time({family}[3599999ms]))"


def hour_end(hour: datetime) -> float:
    return hour.timestamp() + 3600 - 0.001


def replayed(calls: list, answers: list | None = None) -> float:
    """Seconds to send the calls as many at a time as the collector does, each answer read
    whole (and kept in `answers` if given, else thrown away)."""
    import requests
    from django.conf import settings

    local, keep = threading.local(), answers is not None

    def ask(call):
        endpoint, params, method = call
        session = getattr(local, "session", None) or requests.Session()
        local.session = session
        url = f"{settings.PROMETHEUS_URL.rstrip('/')}/api/v1/{endpoint}"
        if method == "GET":
            answer = session.get(url, params=params, timeout=300)
        else:
            answer = session.post(url, data=params, timeout=300)
        answer.raise_for_status()
        return answer.content if keep else len(answer.content)  # read whole

    began = time.monotonic()
    with ThreadPoolExecutor(settings.KUBEMON_COLLECT_CONCURRENCY) as pool:
        contents = list(pool.map(ask, calls))
    seconds = time.monotonic() - began
    if keep:
        answers.extend(json.loads(c) for c in contents)
    return seconds


def copy_rows(connection) -> float:
    """Seconds to write the usage rows once more, in one COPY, into a twin table."""
    columns = ", ".join(_stored_columns())
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {columns} FROM billing_hourlyusage")
        rows = cursor.fetchall()
        cursor.execute("DROP TABLE IF EXISTS bound_copy")
        if connection.vendor == "postgresql":
            cursor.execute("CREATE TABLE bound_copy (LIKE billing_hourlyusage INCLUDING ALL)")
            began = time.monotonic()
            with cursor.cursor.copy(f"COPY bound_copy ({columns}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        else:  # SQLite has no COPY: one executemany is its fastest bulk insert
            cursor.execute("CREATE TABLE bound_copy AS SELECT * FROM billing_hourlyusage LIMIT 0")
            began = time.monotonic()
            marks = ", ".join("%s" for _ in columns.split(","))
            cursor.executemany(f"INSERT INTO bound_copy ({columns}) VALUES ({marks})", rows)
        seconds = time.monotonic() - began
        cursor.execute("DROP TABLE bound_copy")
    return seconds


def _stored_columns() -> list[str]:
    """Every column collection writes of a usage row (all but the id)."""
    from billing.models import HourlyUsage

    return [f.column for f in HourlyUsage._meta.concrete_fields if not f.primary_key]


def main() -> None:
    import django

    django.setup()
    command, *args = sys.argv[1:]
    answer = {"fresh": fresh, "collect": collect, "bound": bound, "floor": floor}[command](*args)
    print(json.dumps(answer, default=str))


if __name__ == "__main__":
    main()
