"""`make demo` end to end, with a short history: served, every role sees data, Ctrl-C stops it.

The demo runs its own Prometheus and web server (it is the thing under test), in a
temporary directory, on free ports of 127.0.0.1; the session's Prometheus is not used.
"""

import os
import queue
import re
import signal
import socket
import subprocess
import sys
import threading
import time

import pytest
import requests

from simulator.prometheus import REPO_DIR, free_port

READY = re.compile(r"ready in (\d+) s")
DEMO_ARGS = ["--previous-hours", "2", "--recent-hours", "1", "--current-hours", "2"]


class Demo:
    """One `python -m simulator.demo` process and the lines it prints."""

    def __init__(self, workdir, prometheus_port, web_port):
        self.url = f"http://127.0.0.1:{web_port}"
        self.ports = (prometheus_port, web_port)
        args = ["--dir", str(workdir), "--prometheus-port", str(prometheus_port)]
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "simulator.demo",
                *args,
                "--web-port",
                str(web_port),
                *DEMO_ARGS,
            ],
            cwd=REPO_DIR,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,  # its own process group, as a terminal gives it
        )
        self.lines: list[str] = []
        self.fresh: queue.Queue = queue.Queue()
        self.reader = threading.Thread(target=self.read, daemon=True)
        self.reader.start()

    def read(self):
        for line in self.process.stdout:
            self.lines.append(line.rstrip())
            self.fresh.put(line.rstrip())

    def wait_for(self, pattern: re.Pattern, timeout: float) -> re.Match:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self.fresh.get(timeout=1)
            except queue.Empty:
                if self.process.poll() is not None:
                    break
                continue
            if match := pattern.search(line):
                return match
        pytest.fail(f"the demo never printed {pattern.pattern!r}:\n" + "\n".join(self.lines))

    def interrupt(self) -> int:
        """Ctrl-C: SIGINT to the whole process group, then the demo's exit status."""
        os.killpg(self.process.pid, signal.SIGINT)
        status = self.process.wait(timeout=60)
        self.reader.join(timeout=10)
        self.process.stdout.close()
        return status


def login(url: str, user: str) -> requests.Session:
    session = requests.Session()
    session.get(f"{url}/login/", timeout=30)
    answer = session.post(
        f"{url}/login/",
        data={
            "username": user,
            "password": user,
            "csrfmiddlewaretoken": session.cookies["csrftoken"],
        },
        timeout=30,
    )
    assert answer.status_code == 200 and "logout" in answer.text, f"{user} could not log in"
    return session


def page(session: requests.Session, url: str) -> str:
    answer = session.get(url, timeout=60)
    assert answer.status_code == 200, f"{url}: {answer.status_code}"
    return answer.text


def port_is_free(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) != 0


@pytest.fixture(scope="module")
def demo_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("demo")


@pytest.fixture(scope="module")
def demo(demo_dir):
    running = Demo(demo_dir, free_port(), free_port())
    running.wait_for(READY, timeout=600)
    yield running
    if running.process.poll() is None:
        running.interrupt()


def test_finance_sees_the_previous_month_closed_and_exported(demo):
    session = login(demo.url, "finance")
    statements = page(session, f"{demo.url}/statements/")
    assert "closed" in statements.lower() or "exported" in statements.lower()
    exports = page(session, f"{demo.url}/exports/")
    assert ".csv" in exports and "idoc" in exports.lower()


def test_the_closed_months_statements_are_mailed_as_files_with_their_pdf(demo, demo_dir):
    messages = [m.read_bytes() for m in sorted((demo_dir / "mail").glob("*.log"))]
    statements = [m for m in messages if b"application/pdf" in m]
    assert statements, "no statement was mailed"
    assert any(b"head@ml-lab.example" in m for m in statements)


def test_ops_sees_usage_and_live_metrics(demo):
    session = login(demo.url, "ops")
    overview = page(session, f"{demo.url}/")
    # The long-running services of web-portal and monitoring run every hour; batch jobs may not.
    assert "web-portal" in overview and "it-monitoring" in overview and "unassigned" in overview
    assert page(session, f"{demo.url}/live/")
    usage = session.get(f"{demo.url}/api/v1/usage?group_by=account", timeout=60).json()
    assert any(float(row["cpu_core_seconds"]) > 0 for row in usage["rows"])


def test_the_lab_user_sees_its_own_account_with_jobs_and_no_other(demo):
    session = login(demo.url, "lab")
    jobs = session.get(f"{demo.url}/api/v1/jobs", timeout=60).json()
    assert jobs["results"] and {a for j in jobs["results"] for a in j["accounts"]} == {"ml-lab"}
    accounts = page(session, f"{demo.url}/accounts/")
    assert "ml-lab" in accounts and "genomics" not in accounts


def test_the_older_hours_load_in_the_background_and_are_collected(demo):
    demo.wait_for(re.compile(r"the month to date is loaded and collected"), timeout=300)


def test_ctrl_c_stops_every_process_and_a_second_run_reuses_the_history(demo, demo_dir):
    assert demo.interrupt() == 0
    assert all(port_is_free(p) for p in demo.ports)
    with pytest.raises(ProcessLookupError):
        os.killpg(demo.process.pid, 0)  # nothing of the demo's process group is left
    again = Demo(demo_dir, *demo.ports)
    try:
        again.wait_for(READY, timeout=300)
        loading = next(line for line in again.lines if "loading simulated history" in line)
        assert "10-31" not in loading, "the previous month was loaded again"
        assert not any("older days" in line for line in again.lines)
        session = login(again.url, "finance")
        assert ".csv" in page(session, f"{again.url}/exports/")
    finally:
        assert again.interrupt() == 0
