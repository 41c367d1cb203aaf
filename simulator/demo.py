"""`make demo`: a real Prometheus fed by the simulator, and the web app, on 127.0.0.1.

Prometheus gets a day of backfilled history (raw and recorded series) and then scrapes the
live simulator; Django runs on SQLite. Ctrl-C stops everything.
"""

import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

from simulator.prometheus import (
    REPO_DIR,
    PrometheusServer,
    free_port,
    load_history,
    require_binaries,
    simulator_command,
)

DEMO_USER = "demo"


def say(message: str) -> None:
    print(f"[demo] {message}", flush=True)


def parse_args(argv):
    parser = argparse.ArgumentParser(prog="python -m simulator.demo", description=__doc__)
    parser.add_argument("--hours", type=int, default=24, help="hours of history (default 24)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--scrape-interval", type=int, default=30)
    parser.add_argument("--prometheus-port", type=int, default=9090)
    parser.add_argument("--web-port", type=int, default=8000)
    return parser.parse_args(argv)


def history_window(hours: int, now: datetime, scrape_interval: int) -> tuple[datetime, datetime]:
    """Return the backfill window: `hours` ending at the last scrape slot before `now`."""
    end = datetime.fromtimestamp(int(now.timestamp()) // scrape_interval * scrape_interval, UTC)
    return end - timedelta(hours=hours), end


def start_simulator(sim_args: list[str]) -> tuple[subprocess.Popen, int]:
    port = free_port()
    process = subprocess.Popen(simulator_command("serve", "--port", str(port), *sim_args))
    return process, port


def scrape_configs(port: int, sim_args: list[str]) -> str:
    return subprocess.run(
        simulator_command("scrape-config", "--port", str(port), *sim_args),
        capture_output=True,
        text=True,
        check=True,
    ).stdout


def start_web(port: int, prometheus_url: str, start: datetime, end: datetime) -> subprocess.Popen:
    """Migrate, create the demo user, collect the history's usage, and serve."""
    env = {**os.environ, "PROMETHEUS_URL": prometheus_url, "DJANGO_DEBUG": "True"}
    manage = [sys.executable, str(REPO_DIR / "manage.py")]
    subprocess.run([*manage, "migrate", "--verbosity", "0"], env=env, check=True)
    subprocess.run([*manage, "shell", "-c", ensure_demo_user_code()], env=env, check=True)
    first = start.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
    last = end.replace(minute=0, second=0, microsecond=0)
    say(f"collecting usage per job for {first:%Y-%m-%d %H:00} to {last:%H:00} UTC")
    collect = ["collect_usage", "--start", first.isoformat(), "--end", last.isoformat()]
    subprocess.run([*manage, *collect], env=env, check=True)
    return subprocess.Popen([*manage, "runserver", "--noreload", f"127.0.0.1:{port}"], env=env)


def ensure_demo_user_code() -> str:
    return (
        "from django.contrib.auth.models import User\n"
        f"u, _ = User.objects.get_or_create(username={DEMO_USER!r}, "
        "defaults={'is_staff': True, 'is_superuser': True})\n"
        f"u.set_password({DEMO_USER!r}); u.save()\n"
    )


def main(argv=None) -> int:
    args = parse_args(argv)
    require_binaries()
    sim_args = ["--seed", str(args.seed), "--scrape-interval", str(args.scrape_interval)]
    processes: list[subprocess.Popen] = []
    workdir = Path(tempfile.mkdtemp(prefix="kubemon-demo-"))
    prometheus = PrometheusServer(workdir, port=args.prometheus_port)
    try:
        simulator, sim_port = start_simulator(sim_args)
        processes.append(simulator)
        prometheus.write_config(scrape_configs(sim_port, sim_args), args.scrape_interval)
        start, end = history_window(args.hours, datetime.now(UTC), args.scrape_interval)
        say(
            f"backfilling {args.hours} h of simulated history ({start:%Y-%m-%d %H:%M} to "
            f"{end:%H:%M} UTC) into Prometheus; this takes a few minutes"
        )
        load_history(prometheus, start, end, [sim_args], args.scrape_interval, say)
        prometheus.start()
        web = start_web(args.web_port, prometheus.url, start, end)
        processes.append(web)
        say(f"Prometheus:   {prometheus.url}")
        say(f"Simulator:    http://127.0.0.1:{sim_port}/  (live exporters)")
        say(
            f"Web app:      http://127.0.0.1:{args.web_port}/  (user {DEMO_USER}, "
            f"password {DEMO_USER}; the API's docs at /api/v1/docs)"
        )
        say("Ctrl-C stops everything")
        web.wait()
    except KeyboardInterrupt:
        say("stopping")
    finally:
        for process in processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
                process.wait(timeout=10)
        prometheus.stop()
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
