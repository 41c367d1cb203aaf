"""`make demo`: run the whole system on 127.0.0.1 until Ctrl-C; see simulator/demo/__init__.py."""

import argparse
import json
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path

from simulator.demo.loading import load_span, visible
from simulator.demo.plan import Span, ceil_hour, floor_hour, last_slot, month_start, plan
from simulator.demo.site import USERS, CommandFailed, Site
from simulator.prometheus import (
    REPO_DIR,
    PrometheusError,
    PrometheusServer,
    free_port,
    require_binaries,
    simulator_command,
)

STATE_VERSION = 1
COLLECT_EVERY = 60  # seconds between checks for a newly completed hour
COLLECTION_LAG = 120  # seconds after an hour's end before the demo collects it


def say(message: str) -> None:
    print(f"[demo] {message}", flush=True)


def parse_args(argv):
    parser = argparse.ArgumentParser(prog="python -m simulator.demo", description=__doc__)
    parser.add_argument("--dir", type=Path, default=REPO_DIR / "var" / "demo", help="state")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--nodes", type=int, default=1, help="CPU nodes (default 1)")
    parser.add_argument("--gpu-nodes", type=int, default=1, help="GPU nodes (default 1)")
    parser.add_argument("--jobs-per-hour", type=float, default=3)
    parser.add_argument("--scrape-interval", type=int, default=60)
    parser.add_argument(
        "--previous-hours", type=int, default=12, help="hours of the previous month (default 12)"
    )
    parser.add_argument(
        "--recent-hours", type=int, default=4, help="hours loaded before serving (default 4)"
    )
    parser.add_argument(
        "--current-hours",
        type=int,
        default=None,
        help="hours of the current month (default: the whole month to date)",
    )
    parser.add_argument("--prometheus-port", type=int, default=9090)
    parser.add_argument("--web-port", type=int, default=8000)
    return parser.parse_args(argv)


class State:
    """var/demo/state.json: the simulator's arguments and the spans Prometheus holds."""

    def __init__(self, path: Path, sim_args: list[str]):
        self.path = path
        self.sim_args = sim_args
        self.covered: list[Span] = []
        self.lock = threading.Lock()
        if path.exists():
            saved = json.loads(path.read_text())
            if saved.get("version") == STATE_VERSION and saved.get("simulator") == sim_args:
                self.covered = [tuple(map(datetime.fromisoformat, s)) for s in saved["covered"]]

    @property
    def fresh(self) -> bool:
        return not self.covered

    def add(self, span: Span) -> None:
        with self.lock:
            spans = sorted([*self.covered, span])
            merged = [spans[0]]
            for start, end in spans[1:]:
                if start <= merged[-1][1]:
                    merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
                else:
                    merged.append((start, end))
            self.covered = merged
            text = {
                "version": STATE_VERSION,
                "simulator": self.sim_args,
                "covered": [[a.isoformat(), b.isoformat()] for a, b in merged],
            }
            self.path.write_text(json.dumps(text, indent=1) + "\n")


def scrape_configs(port: int, sim_args: list[str]) -> str:
    return subprocess.run(
        simulator_command("scrape-config", "--port", str(port), *sim_args),
        capture_output=True,
        text=True,
        check=True,
    ).stdout


def collect_spans(site: Site, spans: list[Span], until: datetime) -> None:
    """Collect every hour the spans touch up to `until` (an hour half loaded is redone)."""
    for start, end in spans:
        first, last = floor_hour(start), min(ceil_hour(end), floor_hour(until))
        if first < last:
            site.collect(first, last)


def wait_for_web(url: str, web: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if web.poll() is not None:
            raise CommandFailed("the web server exited; see var/demo/demo.log")
        try:
            with urllib.request.urlopen(f"{url}/login/", timeout=2):
                return
        except OSError:
            time.sleep(0.2)
    raise CommandFailed(f"the web server did not answer in {timeout:.0f} s")


class Worker(threading.Thread):
    """Loads and collects the older days, then collects each hour as it completes."""

    def __init__(self, site, server, state, bridge: Span, pieces: list[Span], interval: int):
        super().__init__(daemon=True)
        self.site, self.server, self.state = site, server, state
        self.bridge, self.pieces, self.live_start = bridge, pieces, bridge[0]
        self.interval = interval
        self.stopping = threading.Event()

    def run(self) -> None:
        try:
            self.backfill()
            while not self.stopping.wait(COLLECT_EVERY):
                self.site.collect()
                self.state.add((self.live_start, datetime.now(UTC)))
        except (CommandFailed, PrometheusError) as e:
            if not self.stopping.is_set():
                say(f"background work stopped: {e}")

    def backfill(self) -> None:
        load_span(self.server, self.bridge, self.state.sim_args)
        self.state.add(self.bridge)
        for number, piece in enumerate(self.pieces, 1):
            if self.stopping.is_set():
                return
            load_span(self.server, piece, self.state.sim_args)
            self.state.add(piece)
            deadline = time.monotonic() + 150  # Prometheus looks for new blocks every minute
            while (
                not visible(self.server.url, piece, self.interval) and time.monotonic() < deadline
            ):
                if self.stopping.wait(2):
                    return
            collect_spans(self.site, [piece], piece[1])
            self.site.collect()
            say(
                f"history of {piece[0]:%Y-%m-%d %H:%M} to {piece[1]:%Y-%m-%d %H:%M} UTC loaded and "
                f"collected ({number} of {len(self.pieces)})"
            )
        if self.pieces:
            say("the month to date is loaded and collected")


def start(args, workdir: Path, processes: list) -> tuple[PrometheusServer, Worker, Site]:
    sim_args = [
        *("--seed", str(args.seed), "--nodes", str(args.nodes)),
        *("--gpu-nodes", str(args.gpu_nodes), "--jobs-per-hour", str(args.jobs_per_hour)),
        *("--scrape-interval", str(args.scrape_interval)),
    ]
    state = State(workdir / "state.json", sim_args)
    if state.fresh:
        shutil.rmtree(workdir / "prometheus", ignore_errors=True)
    now = datetime.now(UTC)
    todo = plan(
        now,
        args.scrape_interval,
        args.previous_hours,
        args.recent_hours,
        args.current_hours,
        state.covered,
    )
    server = PrometheusServer(workdir / "prometheus", port=args.prometheus_port)
    sim_port = free_port()
    with (workdir / "demo.log").open("a") as log:
        simulator = simulator_command("serve", "--port", str(sim_port), *sim_args)
        processes.append(subprocess.Popen(simulator, stdout=log, stderr=subprocess.STDOUT))
    server.write_config(scrape_configs(sim_port, sim_args), args.scrape_interval)
    loading = ", ".join(f"{a:%m-%d %H:%M}–{b:%m-%d %H:%M}" for a, b in todo.foreground)
    say(f"loading simulated history ({loading or 'nothing new'}) into Prometheus")
    for span in todo.foreground:
        load_span(server, span, sim_args)
        state.add(span)
    server.start()
    if todo.foreground:
        say("recording the project's rules over the newest hours")
        newest = max(todo.foreground)
        server.record_rules(newest[0], newest[1], args.scrape_interval)
    site = Site(workdir, server.url, args.scrape_interval, COLLECTION_LAG)
    say("setting up the database, example accounts, tariffs and users")
    site.set_up()
    say("collecting usage, closing, exporting and mailing the previous month")
    complete = datetime.now(UTC) - timedelta(seconds=COLLECTION_LAG)
    collect_spans(site, todo.foreground, complete)
    site.close_and_export(month_start(todo.end) - timedelta(days=1))
    # The history ends where the plan was made; Prometheus scrapes from its start: the
    # minutes between are loaded first, in the background, so that no gap is seen.
    interval = timedelta(seconds=args.scrape_interval)
    bridge = (todo.end, last_slot(datetime.now(UTC), args.scrape_interval) + interval)
    worker = Worker(site, server, state, bridge, todo.background, args.scrape_interval)
    return server, worker, site


def main(argv=None) -> int:
    args = parse_args(argv)
    require_binaries()
    began = time.monotonic()
    workdir = args.dir.resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    processes: list[subprocess.Popen] = []
    server = worker = None
    try:
        server, worker, site = start(args, workdir, processes)
        web = site.serve(args.web_port)
        processes.append(web)
        url = f"http://127.0.0.1:{args.web_port}"
        wait_for_web(url, web)
        worker.start()
        say(f"Prometheus: {server.url}")
        say(f"Web app:    {url}/   (API docs at {url}/api/v1/docs)")
        say("Logins (password = user name): " + ", ".join(USERS))
        say("  finance: statements and exports; ops: live metrics; lab: the ml-lab account")
        say(f"Mails (statements, budget alerts): {site.mail}/")
        pending = len(worker.pieces)
        if pending:
            say(f"{pending} older days of this month load and are collected in the background")
        say(f"ready in {time.monotonic() - began:.0f} s; Ctrl-C stops everything")
        web.wait()
        return 1
    except KeyboardInterrupt:
        say("stopping")
        return 0
    except (CommandFailed, PrometheusError) as e:
        say(f"failed: {e}")
        return 1
    finally:
        if worker:
            worker.stopping.set()
            # Prometheus scraped the live simulator until now: a next run need not load it.
            worker.state.add((worker.live_start, datetime.now(UTC)))
        for process in processes:
            if process.poll() is None:
                process.terminate()
                process.wait(timeout=15)
        if server:
            server.stop()
        if worker and worker.is_alive():
            worker.join(timeout=15)


if __name__ == "__main__":
    sys.exit(main())
