"""Load: the usage API and the main pages under 50 concurrent clients for 60 s.

Serves the app with gunicorn on a PostgreSQL database seeded by bench/pages_seed.py when
missing (the mix profile of bench/pages.py: a year of usage of 2,000 jobs), then runs `--clients`
threads, each a logged-in user (finance, ops or a lab member) asking for the next URL of a
fixed mix as soon as the last answer came, for `--seconds`. Prints the answers per status and
the latency percentiles per URL and overall; any answer but a 200 is an error.

    nice -n 10 .venv/bin/python bench/load.py [--clients 50] [--seconds 60] [--workers 4]
"""

import argparse
import http.client
import os
import random
import secrets
import signal
import subprocess
import sys
import threading
import time
from collections import Counter, defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

import pages_seed  # noqa: E402  (bench/, the script's own folder)

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/kubemon_bench_load"
PORT = 18431
WINDOW = "start=2026-10-01T00:00:00Z&end=2026-11-01T00:00:00Z"


def parse_args():
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--database-url", default=DEFAULT_URL)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--workers", type=int, default=4, help="gunicorn worker processes")
    parser.add_argument("--threads", type=int, default=4, help="threads per gunicorn worker")
    return parser.parse_args()


def prepare(url: str) -> dict[str, str]:
    """Seed when needed; return a session cookie per role, made without the login form."""
    created = pages_seed.ensure_database(url, drop=False)
    pages_seed.setup_django(url)
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    if pages_seed.seeded("mix") is None:
        if not created:
            raise SystemExit(f"{url} holds something else: drop it, or give --database-url")
        print("seeding the mix profile (a few minutes)", flush=True)
        pages_seed.seed("mix")
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.auth.models import User
    from django.contrib.sessions.backends.db import SessionStore

    cookies = {}
    for name, role in pages_seed.USERS.items():
        user = User.objects.get(username=name)
        session = SessionStore()
        session[SESSION_KEY] = str(user.pk)
        session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
        session[HASH_SESSION_KEY] = user.get_session_auth_hash()
        session.create()
        cookies[role] = session.session_key
    return cookies


def mix() -> list[tuple[str, str]]:
    """(role, path) of the calls, the usage API first among them."""
    from django.contrib.auth.models import User

    lab = User.objects.get(username="lara").accounts.get().pk
    return [
        ("finance", f"/api/v1/usage?{WINDOW}&group_by=account"),
        ("finance", f"/api/v1/usage?{WINDOW}&group_by=job"),
        ("ops", f"/api/v1/usage?{WINDOW}&group_by=namespace,day"),
        ("lab", f"/api/v1/usage?{WINDOW}&group_by=job,day&page=2"),
        ("lab", f"/api/v1/usage?{WINDOW}&group_by=job,hour"),
        ("lab", "/api/v1/jobs?ordering=-last_seen"),
        ("finance", "/"),
        ("lab", "/"),
        ("finance", "/accounts/"),
        ("lab", f"/accounts/{lab}/?period=2026-10"),
        ("finance", "/statements/?period=2026-10"),
    ]


def serve(url: str, args) -> subprocess.Popen:
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "DJANGO_DEBUG": "False",
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
        "DATABASE_CONN_MAX_AGE": "60",
        "KUBEMON_EXPORT_DIR": str(pages_seed.EXPORT_DIR),
        "KUBEMON_LOG_LEVEL": "ERROR",
    }
    command = [
        str(Path(sys.executable).parent / "gunicorn"),
        "kubemon.wsgi",
        f"--bind=127.0.0.1:{PORT}",
        f"--workers={args.workers}",
        "--worker-class=gthread",
        f"--threads={args.threads}",
        "--log-level=warning",
    ]
    server = subprocess.Popen(command, cwd=REPO, env=env)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", PORT, timeout=5)
            conn.request("GET", "/login/")
            if conn.getresponse().status == 200:
                return server
        except OSError:
            time.sleep(0.5)
    server.send_signal(signal.SIGTERM)
    raise SystemExit("gunicorn did not answer within 60 s")


def client(number: int, calls, cookies, stop: float, results: list):
    """One client: the calls in a shuffled order, one after the other, until `stop`."""
    rng = random.Random(number)
    conn = http.client.HTTPConnection("127.0.0.1", PORT, timeout=120)
    while time.monotonic() < stop:
        role, path = rng.choice(calls)
        started = time.perf_counter()
        try:
            conn.request("GET", path, headers={"Cookie": f"sessionid={cookies[role]}"})
            answer = conn.getresponse()
            answer.read()
            status = answer.status
        except (OSError, http.client.HTTPException) as e:
            status = type(e).__name__
            conn.close()
            conn = http.client.HTTPConnection("127.0.0.1", PORT, timeout=120)
        results.append((path, status, time.perf_counter() - started))


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))]


def report(results: list, seconds: float):
    by_path = defaultdict(list)
    for path, _status, latency in results:
        by_path[path].append(latency * 1000)
    statuses = Counter(status for _, status, _ in results)
    print(f"{len(results)} answers in {seconds:.0f} s ({len(results) / seconds:.1f}/s); {statuses}")
    print("| call | answers | p50 ms | p95 ms | p99 ms |\n|---|--:|--:|--:|--:|")
    rows = [*sorted(by_path.items()), ("all", [ms for v in by_path.values() for ms in v])]
    for path, ms in rows:
        cells = " | ".join(f"{percentile(ms, p):.0f}" for p in (50, 95, 99))
        print(f"| `{path}` | {len(ms)} | {cells} |")
    errors = sum(n for status, n in statuses.items() if status != 200)
    return errors


def main():
    args = parse_args()
    # One key for this process (which writes the sessions) and gunicorn (which reads them).
    os.environ["DJANGO_SECRET_KEY"] = secrets.token_urlsafe(50)
    cookies = prepare(args.database_url)
    calls = mix()
    from django.db import connections

    connections.close_all()
    server = serve(args.database_url, args)
    try:
        results: list = []
        stop = time.monotonic() + args.seconds
        threads = [
            threading.Thread(target=client, args=(n, calls, cookies, stop, results))
            for n in range(args.clients)
        ]
        began = time.monotonic()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        errors = report(results, time.monotonic() - began)
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)
    print(f"load average {os.getloadavg()[0]:.1f}; errors: {errors}")
    sys.exit(1 if errors else 0)


if __name__ == "__main__":
    main()
