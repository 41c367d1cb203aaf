"""The demo's Django side, driven through manage.py: its database, users, data and server.

Every command runs in its own process with the demo's environment (SQLite and the export
directory under var/demo/, the demo's Prometheus, DEBUG on), its output going to the demo's
log; a failing command stops the demo with the end of that log.
"""

import os
import subprocess
import sys
from datetime import datetime
from pathlib import Path

from simulator.prometheus import REPO_DIR

DATA_DIR = Path(__file__).resolve().parent
LAB_ACCOUNT = "ml-lab"  # the account whose member the `lab` demo user is
USERS = ("finance", "ops", "lab", "admin")


class CommandFailed(RuntimeError):
    pass


class Site:
    def __init__(
        self, workdir: Path, prometheus_url: str, scrape_interval: int, collection_lag: int
    ):
        self.workdir = workdir
        self.log = workdir / "demo.log"
        self.exports = workdir / "exports"
        self.mail = workdir / "mail"
        self.env = {
            **os.environ,
            "DATABASE_URL": f"sqlite:///{workdir / 'kubemon.sqlite3'}",
            "KUBEMON_EXPORT_DIR": str(self.exports),
            "PROMETHEUS_URL": prometheus_url,
            "DJANGO_DEBUG": "True",
            "KUBEMON_SCRAPE_INTERVAL": str(scrape_interval),
            # The demo's Prometheus scrapes on 127.0.0.1: its samples arrive at once.
            "KUBEMON_COLLECT_LAG_SECONDS": str(collection_lag),
            # The simulated kube-state-metrics exports the pods' `user` label (allowlist
            # pods=[user]): statements split each account's cost per user.
            "KUBEMON_USER_LABEL": "label_user",
            # Statements and budget alerts go to files a newcomer can open, not to SMTP.
            "DJANGO_EMAIL_BACKEND": "django.core.mail.backends.filebased.EmailBackend",
            "DJANGO_EMAIL_FILE_PATH": str(self.mail),
            "DJANGO_DEFAULT_FROM_EMAIL": "kube-monitoring@demo.example",
        }

    def manage(self, *args: str) -> None:
        command = [sys.executable, str(REPO_DIR / "manage.py"), *args]
        with self.log.open("a") as out:
            out.write(f"$ manage.py {' '.join(args)}\n")
            out.flush()
            done = subprocess.run(command, env=self.env, stdout=out, stderr=subprocess.STDOUT)
        if done.returncode != 0:
            tail = self.log.read_text()[-3000:]
            raise CommandFailed(f"manage.py {args[0]} failed ({done.returncode}):\n{tail}")

    def set_up(self) -> None:
        """Create or update the database, the example accounts and tariffs, the users."""
        self.manage("migrate", "--verbosity", "0")
        self.manage("import_accounts", str(DATA_DIR / "accounts.csv"))
        self.manage("import_tariffs", str(DATA_DIR / "tariffs.csv"))
        self.manage("demo_users", LAB_ACCOUNT)

    def collect(self, start: datetime | None = None, end: datetime | None = None) -> None:
        window = []
        if start and end:
            window = ["--start", start.isoformat(), "--end", end.isoformat()]
        self.manage("collect_usage", *window)
        self.manage("check_budgets")

    def close_and_export(self, month: datetime) -> None:
        """Close the month (forced: the demo holds only its end), export it twice and mail
        each account's statement (as files under var/demo/mail/).

        The `sandbox` namespace has no account, on purpose: its usage stays unassigned,
        shown on every page and left out of the export.
        """
        period = f"{month:%Y-%m}"
        self.manage("close_period", period, "--force")
        for fmt in ("csv", "idoc"):
            self.manage("export_sifac", period, "--format", fmt, "--allow-unassigned")
        self.manage("send_statements", period)

    def serve(self, port: int) -> subprocess.Popen:
        command = [sys.executable, str(REPO_DIR / "manage.py"), "runserver", "--noreload"]
        out = self.log.open("a")
        return subprocess.Popen(
            [*command, f"127.0.0.1:{port}"], env=self.env, stdout=out, stderr=subprocess.STDOUT
        )
