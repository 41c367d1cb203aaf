"""Run a real Prometheus loaded with simulator history, for the tests and the demo.

Loading takes four steps, because a running Prometheus evaluates recording rules only at
the current time:
1. the simulator writes OpenMetrics history and promtool turns it into TSDB blocks;
2. a first Prometheus serves that raw history;
3. `promtool tsdb create-blocks-from rules` evaluates the project's recording rules over the
   history window against it and writes the recorded series as blocks;
4. the final Prometheus starts on the same data directory with both sets of blocks, the
   project's rule files, and a scrape of the live simulator endpoint.

The final Prometheus also scrapes the app's own /metrics (job `kubemon`, every second) at
whatever address `scrape_app` names, none until then: the tests of the pipeline dashboard
start the app and point Prometheus at it without a restart.
"""

import json
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path

import yaml

REPO_DIR = Path(__file__).resolve().parent.parent
RULES_DIR = REPO_DIR / "prometheus" / "rules"


class PrometheusError(RuntimeError):
    pass


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rule_files() -> list[Path]:
    return sorted(RULES_DIR.glob("*.yml"))


def rule_shares(parts: int) -> list[list[dict]]:
    """The recording groups of the rule files shared out in `parts`.

    A rule costs about as much as its expression is long (each selector and join is
    evaluated at every step): the shares are balanced on that.
    """
    groups = [
        {**group, "rules": recording}
        for path in rule_files()
        for group in yaml.safe_load(path.read_text())["groups"]
        if (recording := [rule for rule in group["rules"] if "record" in rule])
    ]

    def cost(share: list[dict]) -> int:
        return sum(len(rule["expr"]) for group in share for rule in group["rules"])

    shares: list[list[dict]] = [[] for _ in range(parts)]
    for group in sorted(groups, key=lambda g: cost([g]), reverse=True):
        min(shares, key=cost).append(group)
    return shares


def require_binaries() -> None:
    missing = [b for b in ("prometheus", "promtool") if shutil.which(b) is None]
    if missing:
        raise PrometheusError(
            f"{' and '.join(missing)} not found: install Debian's `prometheus` package "
            "(apt-get install prometheus), or run `make test`/`make demo`, which do it"
        )


def run(args: list[str], log: Path, cwd: Path = REPO_DIR) -> None:
    with log.open("a") as out:
        done = subprocess.run(args, stdout=out, stderr=subprocess.STDOUT, check=False, cwd=cwd)
    if done.returncode != 0:
        tail = log.read_text()[-2000:]
        raise PrometheusError(f"{args[0]} {args[1]} failed ({done.returncode}):\n{tail}")


def app_scrape_job(targets_file: Path) -> str:
    """A scrape job, `kubemon`, over the targets listed in `targets_file` (file_sd)."""
    return (
        "  - job_name: kubemon\n"
        "    scrape_interval: 1s\n"
        "    scrape_timeout: 1s\n"
        "    file_sd_configs:\n"
        f"      - files: [{json.dumps(str(targets_file))}]\n"
        "        refresh_interval: 1s\n"
    )


def config_text(scrape_configs: str, scrape_interval: int) -> str:
    """Return a prometheus.yml: global intervals, the project's rules, the given scrapes."""
    rules = "\n".join(f"  - {json.dumps(str(p))}" for p in rule_files()) or "  []"
    return (
        "global:\n"
        f"  scrape_interval: {scrape_interval}s\n"
        f"  evaluation_interval: {scrape_interval}s\n"
        f"rule_files:\n{rules}\n"
        f"{scrape_configs.strip()}\n"
    )


class PrometheusServer:
    """One Prometheus process on 127.0.0.1 with its data in `workdir`."""

    def __init__(self, workdir: Path, port: int | None = None):
        self.workdir = Path(workdir)
        self.data_dir = self.workdir / "data"
        self.config_file = self.workdir / "prometheus.yml"
        self.log = self.workdir / "prometheus.log"
        self.app_targets = self.workdir / "kubemon-targets.json"
        self.port = port or free_port()
        self.process: subprocess.Popen | None = None
        self.data_dir.mkdir(parents=True, exist_ok=True)
        if not self.config_file.exists():
            self.config_file.write_text(config_text("scrape_configs: []", 30))

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 60) -> None:
        args = [
            "prometheus",
            f"--config.file={self.config_file}",
            f"--storage.tsdb.path={self.data_dir}",
            f"--web.listen-address=127.0.0.1:{self.port}",
            # Backfilled history lies in the past; keep it whatever its age.
            "--storage.tsdb.retention.time=100y",
            "--web.enable-lifecycle",
        ]
        with self.log.open("a") as out:
            self.process = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT)
        self.wait_until_ready(timeout)

    def wait_until_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise PrometheusError(f"prometheus exited:\n{self.log.read_text()[-2000:]}")
            try:
                with urllib.request.urlopen(f"{self.url}/-/ready", timeout=2) as answer:
                    if answer.status == 200:
                        return
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.2)
        self.stop()
        raise PrometheusError(f"prometheus not ready after {timeout}s; see {self.log}")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def import_openmetrics(self, history: Path, into: Path | None = None) -> None:
        """Turn an OpenMetrics file into blocks in `into` (default: the data directory).

        promtool reads the whole input once per block it writes: blocks of up to a day
        instead of the default two hours make it several times faster.
        """
        run(
            [
                "promtool",
                "tsdb",
                "create-blocks-from",
                "openmetrics",
                "--max-block-duration=24h",
                str(history),
                str(into or self.data_dir),
            ],
            self.log,
        )

    def record_rules(
        self, start: datetime, end: datetime, eval_interval: int, parts: int = 2
    ) -> None:
        """Evaluate the project's recording rules over [start, end] into blocks.

        The server must be running and serving the raw history; the blocks land in its
        data directory and are picked up at its next start. promtool evaluates one rule at
        a time: the groups are shared out among `parts` promtool processes run side by side.
        Each group is evaluated at an offset that Prometheus hashes from its name and file
        name (rules.Group.EvalTimestamp): the shares' files are named the same in every
        work directory, so that the recorded samples' times are the same from run to run.
        """
        shares = [share for share in rule_shares(parts) if share]
        outputs = [self.workdir / f"rule-blocks-{i}" for i in range(len(shares))]
        with ThreadPoolExecutor(max_workers=len(shares) or 1) as pool:
            runs = [
                pool.submit(self.record_share, share, out, start, end, eval_interval)
                for share, out in zip(shares, outputs, strict=True)
            ]
            for done in runs:
                done.result()
        for out in outputs:
            for block in out.iterdir():
                shutil.move(str(block), self.data_dir / block.name)
            out.rmdir()

    def record_share(
        self, groups: list[dict], out: Path, start: datetime, end: datetime, eval_interval: int
    ) -> None:
        rules = out.with_suffix(".yml")
        rules.write_text(yaml.safe_dump({"groups": groups}, sort_keys=False))
        shutil.rmtree(out, ignore_errors=True)
        try:
            run(
                [
                    "promtool",
                    "tsdb",
                    "create-blocks-from",
                    "rules",
                    "--quiet",
                    f"--start={int(start.timestamp())}",
                    f"--end={int(end.timestamp())}",
                    f"--url={self.url}",
                    f"--output-dir={out}",
                    f"--eval-interval={eval_interval}s",
                    rules.name,
                ],
                self.log,
                cwd=rules.parent,
            )
        finally:
            rules.unlink()

    def write_config(self, scrape_configs: str, scrape_interval: int) -> None:
        """Write prometheus.yml: the given `scrape_configs:` block and the app's job."""
        self.scrape_app(None)
        # The app's job joins the given list, which may be written empty, as a flow list.
        scrapes = scrape_configs.strip().removesuffix("[]").rstrip()
        scrapes += "\n" + app_scrape_job(self.app_targets)
        self.config_file.write_text(config_text(scrapes, scrape_interval))

    def scrape_app(self, address: str | None) -> None:
        """Have the `kubemon` job scrape the app at `address` (host:port) from now on.

        None stops the scrapes: the job is left without targets.
        """
        targets = [{"targets": [address]}] if address else []
        self.app_targets.write_text(json.dumps(targets))


def simulator_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "simulator", *args]


def load_history(
    server: PrometheusServer,
    start: datetime,
    end: datetime,
    simulators: list[list[str]],
    scrape_interval: int,
    progress=lambda step: None,
    rules: bool = True,
) -> None:
    """Run steps 1 to 3 of the module docstring, telling `progress` of each.

    `simulators` holds the arguments of one or more simulated clusters (give each its own
    --cluster-label when there are several); two are generated and imported at a time,
    each into blocks of its own. Without `rules`, step 3 is left out: the clusters loaded
    then have raw series only. The server is left stopped.
    """
    window = ["--start", start.isoformat(), "--end", end.isoformat()]

    def load(index: int, simulator_args: list[str]) -> None:
        history = server.workdir / f"history-{index}.om"
        progress("generating the simulated history")
        run(
            simulator_command("history", *window, "--out", str(history), *simulator_args),
            server.log,
        )
        progress("importing it into TSDB blocks (promtool)")
        server.import_openmetrics(history)
        history.unlink()

    with ThreadPoolExecutor(max_workers=2) as pool:
        for done in [pool.submit(load, i, args) for i, args in enumerate(simulators)]:
            done.result()
    if not rules:
        return
    server.start()
    try:
        progress("recording the project's rules over it (promtool)")
        server.record_rules(start, end, scrape_interval)
    finally:
        server.stop()
