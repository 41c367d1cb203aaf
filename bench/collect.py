"""Benchmark of collect_usage at cluster scale: against the bound, the floor, a naive peer.

    .venv/bin/python bench/collect.py [--sizes small,day-1k] [--runs 3] [--hours N]
                                      [--database-url postgres://...] [--no-peer]
                                      [--against GIT-REVISION]

For each size (bench/backfill.py: simulated clusters backfilled once into a cached
Prometheus), collect_usage runs `--runs` times in a child process on a fresh database
(PostgreSQL by default), and one table gives the median of: wall time, peak RSS, queries,
seconds waiting on Prometheus (CollectionRun.query_seconds), the CPU seconds the Prometheus
process spent meanwhile (/proc), seconds in the database (every SQL statement timed), rows.
Then two references, each a ratio collection / reference:

- the bound: the last run's HTTP requests replayed with the answers read and thrown away,
  as many at a time as the collector asks (KUBEMON_COLLECT_CONCURRENCY), plus a COPY of
  its rows into a table of the same shape: what reading the data once and writing it once
  costs.
- the decode floor: Prometheus reading every sample of the families the bill needs once
  and answering almost nothing: `sum(count_over_time(<family>[1h]))` for each family the
  run's queries select (named in its request log, so that it follows the collector's
  reads) and each hour of the window, sent as many at a time as the collector asks and timed
  as the bound's replay is, after each run (the median: the runs and the floor meet the same
  load of a shared machine). What the collection spends above it is the answers' size and
  the Python side.

And the accuracy against the simulator's truth (cached beside the TSDB):
- the naive peer (bench/naive_peer.py, skipped with `--no-peer`): what a quick script with
  prometheus-api-client and pandas makes of CPU, memory and network, its time, peak RSS and
  error against the truth;
- GPU energy, collected and as the naive `sum by (pod) (increase(
  DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION[1h]))` per hour bills it (bench/naive_energy.py):
  the error of the total, and the median and worst relative error over the GPU jobs.

`--hours` cuts every size's window to its first N hours (the backfill is cached per window).
With `--against`, the collector of that git revision (its own bench/collect_child.py, in a
temporary worktree, on a database of its own) collects the same Prometheus in turns with
the working tree's, run after run (each first in every other turn), so that a shared
machine's noise falls on both alike; the first table gets a row for it.
"""

import argparse
import dataclasses
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from backfill import SIZES, cached_server  # noqa: E402
from naive_energy import by_job, errors, naive_energy  # noqa: E402

PYTHON = str(REPO / ".venv" / "bin" / "python")
DEFAULT_DB = "postgres://postgres@127.0.0.1:5432/kubemon_bench_collect"


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sizes", default="small,day-1k")
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--hours", type=int, default=None)
    p.add_argument("--database-url", default=DEFAULT_DB)
    p.add_argument("--no-peer", action="store_true", help="skip the naive peer")
    p.add_argument("--against", help="a git revision whose collector runs in turns")
    return p.parse_args()


def child(args: list[str], env: dict, tree: Path = REPO) -> tuple[dict, float, int]:
    """(JSON the child printed last, wall seconds, peak RSS in MiB) of a bench child of the
    source tree."""
    began = time.monotonic()
    process = subprocess.Popen(
        [PYTHON, *args], cwd=tree, env={**os.environ, **env}, stdout=subprocess.PIPE, text=True
    )
    out = process.stdout.read()
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.monotonic() - began
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode:
        raise SystemExit(f"{args[0]} failed ({process.returncode})")
    return json.loads(out.strip().splitlines()[-1]), wall, usage.ru_maxrss // 1024


def measure(size, server, database_url: str, runs: int, workdir: Path, against) -> dict:
    """The working tree's figures, and with `against` (name, tree) those of its collector."""
    start, end = size.window
    window = [start.isoformat(), end.isoformat()]
    trees = {REPO: database_url} | ({against[1]: f"{database_url}_against"} if against else {})
    envs = {
        tree: {"DATABASE_URL": url, "PROMETHEUS_URL": server.url} for tree, url in trees.items()
    }
    results: dict[Path, list] = {tree: [] for tree in trees}
    for tree, env in envs.items():
        child(["bench/collect_child.py", "fresh"], env, tree)
    log, env, floors = workdir / "requests.json", envs[REPO], []
    for run in range(runs):
        # Turns alternate who goes first: the first of a turn may meet colder caches.
        for tree, tree_env in list(envs.items())[:: -1 if run % 2 else 1]:
            tree_log = log if tree == REPO else workdir / "requests-against.json"
            args = ["bench/collect_child.py", "collect", *window, str(tree_log)]
            cpu = prometheus_cpu(server)
            got, _, rss = child(args, tree_env, tree)
            results[tree].append(
                {**got, "rss": rss, "prometheus_cpu": prometheus_cpu(server) - cpu}
            )
        # After each run, so that the floor and the runs meet the same load of the machine.
        floors.append(child(["bench/collect_child.py", "floor", str(log), *window], env)[0])
    bound, _, _ = child(["bench/collect_child.py", "bound", str(log)], env)
    floor = floors[-1] | {"floor": statistics.median(f["floor"] for f in floors)}
    ours, last = summary(results[REPO]), results[REPO][-1]
    return {
        "size": size,
        "runs": {"working tree": ours}
        | ({against[0]: summary(results[against[1]])} if against else {}),
        "wall": ours["wall"],
        "bound": bound["replay"] + bound["copy"],
        "replay": bound["replay"],
        "copy": bound["copy"],
        "floor": floor,
        "totals": last["totals"],
        "gpu_energy_by_job": last["gpu_energy_by_job"],
    }


def prometheus_cpu(server) -> float:
    """CPU seconds the Prometheus process has used so far (user and system, from /proc)."""
    fields = Path(f"/proc/{server.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def summary(results: list[dict]) -> dict:
    """Medians of one collector's runs; queries and rows of its last."""

    def median(key):
        return statistics.median(r[key] for r in results)

    return {
        "wall": median("wall"),
        "rss": median("rss"),
        "queries": results[-1]["queries"],
        "prometheus": median("query_seconds"),
        "prometheus_cpu": median("prometheus_cpu"),
        "db": median("db_seconds"),
        "rows": results[-1]["rows"],
        "identical": all(r["digest"] == results[0]["digest"] for r in results),
    }


@contextmanager
def worktree(revision: str | None, workdir: Path):
    """(revision, a temporary worktree of it), or None without a revision."""
    if not revision:
        yield None
        return
    tree = workdir / "against"
    git = ["git", "-C", str(REPO), "worktree"]
    subprocess.run([*git, "add", "--detach", str(tree), revision], check=True, capture_output=True)
    try:
        yield revision, tree
    finally:
        subprocess.run([*git, "remove", "--force", str(tree)], check=True)


def peer(size, server) -> dict:
    start, end = size.window
    args = ["bench/naive_peer.py", server.url, start.isoformat(), end.isoformat()]
    got, wall, rss = child(args, {})
    return {"wall": wall, "rss": rss, "totals": got}


def truth_of(size) -> dict:
    """The simulator's exact totals of the window and each GPU job's energy (observed) and
    pods, computed once and cached beside the TSDB."""
    from backfill import CACHE, sources_key

    # v2: with the GPU jobs (truth.json held the totals alone)
    path = CACHE / f"{size.name}-{size.hours}h-{sources_key(size)}" / "truth-v2.json"
    if not path.exists():
        from simulator.cluster import Cluster

        args = dict(seed=size.seed, nodes=size.nodes, gpu_nodes=size.gpu_nodes)
        cluster = Cluster(**args, jobs_per_hour=size.jobs_per_hour, steady_pods=size.steady_pods)
        truth = cluster.truth(*size.window)
        gpu_jobs = {
            f"{j['namespace']}/{j['kind']}/{j['name']}": {
                "joules": j["quantities"]["gpu_energy_joules"]["observed"],
                "pods": [p["name"] for p in j["pods"]],
            }
            for j in truth["jobs"]
            if j["quantities"].get("gpu_energy_joules", {}).get("observed")
        }
        path.write_text(json.dumps({"totals": truth["totals"], "gpu_jobs": gpu_jobs}))
    return json.loads(path.read_text())


def report_references(m: dict) -> None:
    floor = m["floor"]
    print("\n| reference | seconds | collection / reference |")
    print("|---|---|---|")
    print(
        f"| bound: replay + COPY | {m['replay']:.2f} + {m['copy']:.2f} = {m['bound']:.2f} s "
        f"| {m['wall'] / m['bound']:.2f} |"
    )
    print(
        f"| decode floor: {floor['queries']} queries, {floor['samples']:,.0f} samples "
        f"| {floor['floor']:.2f} s | {m['wall'] / floor['floor']:.2f} |"
    )
    print(f"\nfloor families: {', '.join(floor['families'])}")


def report_energy(m: dict, naive_joules: dict, truth: dict) -> None:
    """The accuracy table's GPU energy rows: the total, then the median and worst job."""
    ours, theirs = energy_errors(m, naive_joules, truth)
    print(f"| gpu_energy_joules | {ours['total']:+.4%} | {theirs['total']:+.2%} |")
    for key in ("median", "worst"):
        print(
            f"| gpu_energy_joules, {key} of {ours['jobs']} GPU jobs (abs.) "
            f"| {ours[key]:.4%} | {theirs[key]:.2%} |"
        )


def energy_errors(m: dict, naive: dict[str, float], truth: dict) -> tuple[dict, dict]:
    """(collected, naive) errors of GPU energy against the truth, in total and per GPU job."""
    real = {job: t["joules"] for job, t in truth["gpu_jobs"].items()}
    ours = errors(m["gpu_energy_by_job"], real, m["totals"]["gpu_energy_joules"])
    pods = {job: t["pods"] for job, t in truth["gpu_jobs"].items()}
    theirs = errors(by_job(naive, pods), real, sum(naive.values()))
    return ours, theirs


def report(m: dict, naive: dict | None, naive_joules: dict, truth: dict) -> None:
    size = m["size"]
    print(f"\n### {size.name}: {size.simulator_args()} over {size.hours} h\n")
    print(
        "| collector | wall (median) | peak RSS | queries | waiting on Prometheus "
        "| Prometheus CPU | in the database | rows | rows identical across runs |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for name, r in m["runs"].items():
        print(
            f"| {name} | {r['wall']:.2f} s | {r['rss']} MiB | {r['queries']} "
            f"| {r['prometheus']:.2f} s | {r['prometheus_cpu']:.2f} s | {r['db']:.2f} s "
            f"| {r['rows']} "
            f"| {'yes' if r['identical'] else 'NO'} |"
        )
    for name, r in list(m["runs"].items())[1:]:
        print(f"\nworking tree / {name}: {m['wall'] / r['wall']:.3f} (wall)")
    report_references(m)
    print("\n| quantity | collected vs truth | naive vs truth |")
    print("|---|---|---|")
    for q in ("cpu_core_seconds", "memory_byte_seconds", "network_rx_bytes"):
        real = truth["totals"][q]["observed"]
        ours = f"{m['totals'][q] / real - 1:+.4%}"
        theirs = f"{naive['totals'][q] / real - 1:+.2%}" if naive else "n/a"
        print(f"| {q} | {ours} | {theirs} |")
    if truth["gpu_jobs"]:
        report_energy(m, naive_joules, truth)
    if naive:
        print(
            f"\nnaive peer: {naive['wall']:.1f} s, peak RSS {naive['rss']} MiB; "
            f"collection is {naive['wall'] / m['wall']:.1f}x faster"
        )


def main():
    args = parse_args()
    for name in args.sizes.split(","):
        size = SIZES[name]
        if args.hours:
            size = dataclasses.replace(size, hours=args.hours)
        began = time.monotonic()
        server = cached_server(size, lambda text: print(text, file=sys.stderr, flush=True))
        print(f"{name}: Prometheus ready in {time.monotonic() - began:.0f} s", file=sys.stderr)
        try:
            with (
                tempfile.TemporaryDirectory(prefix="kubemon-bench-") as workdir,
                worktree(args.against, Path(workdir)) as against,
            ):
                m = measure(size, server, args.database_url, args.runs, Path(workdir), against)
            naive = None if args.no_peer else peer(size, server)
            naive_joules = naive_energy(server.url, *size.window)
        finally:
            server.stop()
        report(m, naive, naive_joules, truth_of(size))


if __name__ == "__main__":
    main()
