"""Benchmark of every page and API call against a year of usage in PostgreSQL (issue #9).

    nice -n 10 .venv/bin/python bench/pages.py [--database-url URL] [--runs 30]
        [--profile mix|full] [--reseed] [--only NAME,...] [--write-docs]

Creates the database when it is missing (default postgres://postgres@127.0.0.1:5432/
kubemon_bench), migrates it and seeds a year, 2026-01-01 to 2026-12-31, of hourly usage for
2,000 jobs on 2 clusters, 80 namespaces and 40 accounts (plus "unassigned"):

- `mix` (default): about 300 long-running services (Deployments, StatefulSets, DaemonSets
  and their claims) running for most of the year, the rest batch Jobs of hours to weeks,
  a third of them started by CronJobs; about 2.6 million job-hours.
- `full`: every one of the 2,000 jobs in every hour of the year (17.5 million job-hours).

with tariffs (CPU's price changes on 1 July), one user per role (finance, ops, a member of
the largest lab), a collection run per cluster and day with every hour collected (a failed
run and a few data gaps among them), January to October closed and exported as CSV, draft
statements for November, and the daily roll-up; then ANALYZE. Seeding is skipped when the
database already holds the requested profile (the table bench_seed says so); --reseed
drops and rebuilds it.

Then every page and API call that exists (by URL name; a name that does not reverse yet is
printed "not built") is fetched in process with Django's test client, logged in as the role
that uses it, with realistic parameters: 2 warm-ups, then --runs timed fetches. The table
gives the median and the 95th percentile in milliseconds, the queries of one fetch and the
status; a p95 of 200 ms or more is flagged SLOW. --write-docs puts the table in the "Pages
and API" section of docs/benchmarks.md (the rest of the file is kept as it is).
"""

import argparse
import math
import os
import platform
import statistics
import sys
import textwrap
import time
from datetime import date, timedelta
from pathlib import Path

from pages_seed import (
    CLOSED_MONTHS,
    DEFAULT_URL,
    SERVICES,
    USERS,
    YEAR_END,
    YEAR_START,
    counts,
    ensure_database,
    ensure_export_files,
    seed,
    seeded,
    setup_django,
)

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))


SLOW_MS = 200
NEAR_MS = 150  # calls explained under the table from here on, slow or not
SLOW_CALL_RUNS = 5  # timed fetches of a call whose warm-up took a second or more
LOAD = [0.0, 0.0, 0.0]  # the load average when the timings began
DOCS = REPO / "docs" / "benchmarks.md"
SECTION = "## Pages and API"


def parse_args():
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--database-url", default=DEFAULT_URL)
    parser.add_argument("--runs", type=int, default=30, help="timed fetches per call")
    parser.add_argument("--profile", choices=["mix", "full"], default="mix")
    parser.add_argument("--reseed", action="store_true", help="drop and seed the database again")
    parser.add_argument("--seed-only", action="store_true", help="seed, then stop")
    parser.add_argument("--only", default="", help="comma list of URL names to time")
    parser.add_argument("--skip-rollup", action="store_true", help="do not time the roll-up")
    parser.add_argument("--write-docs", action="store_true")
    args = parser.parse_args()
    if args.runs < 1:
        parser.error("--runs: must be 1 or more")
    return args


# The database -----------------------------------------------------------------------------


class Target:
    """What the pages are opened with: the big account, its user, a long job, a statement."""

    def __init__(self):
        from django.contrib.auth.models import User
        from django.db.models import Count, Sum

        from billing.models import DailyUsage, ExportFile, HourlyUsage, Job, Statement

        self.users = {role: User.objects.get(username=name) for name, role in USERS.items()}
        lab_account = self.users["lab"].accounts.get()
        self.lab_account = lab_account
        # The account with the most usage, by the roll-up.
        big = (
            DailyUsage.objects.values("account_id")
            .annotate(cpu=Sum("cpu_request_core_seconds"))
            .order_by("-cpu")
            .first()
        )
        self.big_account_id = big["account_id"]
        longest = (
            HourlyUsage.objects.filter(account=lab_account)
            .values("job_id")
            .annotate(n=Count("id"))
            .order_by("-n")
            .first()
        )
        self.long_job = Job.objects.get(pk=longest["job_id"])
        self.cron_job = (
            Job.objects.filter(parent_kind="CronJob", usage__account=lab_account)
            .order_by("-pk")
            .first()
        )
        self.lab_namespace = (
            DailyUsage.objects.filter(account=lab_account).values_list("namespace", flat=True)
        ).first()
        self.month = f"2026-{CLOSED_MONTHS:02d}"
        statements = Statement.objects.filter(period__month=date(2026, CLOSED_MONTHS, 1))
        self.statement = statements.order_by("-total_chf").first()
        self.lab_statement = statements.filter(account=lab_account).first()
        self.export_file = ExportFile.objects.order_by("-pk").first()
        ensure_export_files()


def cases(t: Target) -> list[tuple]:
    """(URL name, kwargs, query string, role, note) of every call timed."""
    year = "start=2026-01-01T00:00:00Z&end=2027-01-01T00:00:00Z"
    month = f"start={t.month}-01T00:00:00Z&end=2026-11-01T00:00:00Z"
    period = f"period={t.month}"
    big, lab, service = t.big_account_id, t.lab_account.pk, t.long_job
    return [
        ("login", {}, "", None, "login form"),
        ("overview", {}, "", "finance", "30 days"),
        ("overview", {}, "days=365", "finance", "a year"),
        ("overview", {}, "", "ops", "30 days"),
        ("overview", {}, "", "lab", "30 days"),
        ("accounts", {}, "", "finance", "every account, this month"),
        ("accounts", {}, "", "lab", ""),
        ("account", {"pk": big}, "", "finance", "largest account, this month"),
        ("account", {"pk": big}, period, "finance", "largest account, a closed month"),
        ("account", {"pk": lab}, f"{period}&sort=-cpu_hours&page=2", "lab", "page 2, by CPU"),
        ("account", {"pk": lab}, f"{period}&q=train&sort=name", "lab", "name search"),
        ("account", {"pk": lab}, f"{period}&namespace={t.lab_namespace}", "lab", "a namespace"),
        ("account-jobs-csv", {"pk": lab}, period, "lab", "a month"),
        ("account-jobs-csv", {"pk": big}, "", "finance", "largest account, this month"),
        ("job", {"pk": service.pk}, "", "lab", f"a {service.kind} of the whole year"),
        ("job", {"pk": service.pk}, period, "finance", "same, a closed month"),
        ("job", {"pk": t.cron_job.pk}, "", "lab", "a CronJob's Job"),
        ("statements", {}, period, "finance", "a closed month"),
        ("statements", {}, period, "lab", "a closed month"),
        ("statements", {}, "", "finance", "this month, drafts"),
        ("statement", {"pk": t.statement.pk}, "", "finance", "largest statement"),
        ("statement", {"pk": t.lab_statement.pk}, "", "lab", "own statement"),
        ("exports", {}, "", "finance", ""),
        ("export-file", {"pk": t.export_file.pk}, "", "finance", "CSV download"),
        ("api-usage", {}, "", "finance", "default: the last day per job"),
        ("api-usage", {}, f"{month}&group_by=account", "finance", "a month per account"),
        ("api-usage", {}, f"{year}&group_by=account,day", "finance", "a year per account, day"),
        ("api-usage", {}, f"{year}&group_by=namespace", "lab", "a year per namespace"),
        ("api-usage", {}, f"{month}&group_by=job", "lab", "a month per job"),
        ("api-usage", {}, f"{month}&group_by=job,hour&page=2", "finance", "job-hours, page 2"),
        ("api-jobs", {}, "", "finance", "first page"),
        ("api-jobs", {}, "page=2&ordering=-last_seen", "finance", "page 2, latest first"),
        ("api-jobs", {}, "", "lab", "first page"),
        ("api-jobs", {}, "q=train&ordering=-first_seen", "lab", "name search"),
        ("api-jobs", {}, month, "lab", "billed in a month"),
        ("api-job", {"pk": service.pk}, "", "lab", f"a {service.kind} of the whole year"),
        ("api-statements", {}, period, "finance", "a closed month"),
        ("api-statements", {}, period, "lab", "a closed month"),
        ("api-statements", {}, "period=2026-11", "finance", "this month, drafts"),
        ("api-statement", {"pk": t.statement.pk}, "", "finance", "largest statement"),
        ("api-exports", {}, "", "finance", ""),
        ("api-schema", {}, "", "finance", "OpenAPI"),
        ("live", {}, "", "ops", ""),
        ("metric-list", {}, "", "ops", ""),
        ("metric-values", {"name": "cpu/usage_rate"}, "", "ops", ""),
    ]


NEEDS_PROMETHEUS = {"live", "metric-list", "metric-values"}

# Why a call was slow when this was written (EXPLAIN ANALYZE on this database), and the
# fix measured by patching the view in process against it (same answer); printed under the
# table for the calls that a run flags.
CAUSES = {
    "statements": "an open month's drafts are read as stored (their writers recompute them: "
    "billing/ledger/drafts.py); the month's hours not collected so far are read per cluster",
    "api-statements": "the same as the statements page",
    "api-statement": "billing.ledger.statements.line_sources answers each line's audit trail with "
    "two queries (its job-hours counted, the runs that collected them: 30 to 45 ms a line, "
    "four lines for the largest statement). Computing them with the statement, when "
    "write_statements reads those job-hours anyway, would make the call a read",
    "api-usage": "grouped per job with a LIMIT, PostgreSQL walks the job_id index in order "
    "through every hour of the table instead of summing the account's month (421 → 18 ms "
    "when the rows, one per job at most, are read whole and paged in Python)",
    "api-jobs": "a lab's visible jobs: the scalar subquery asks for `hour`, which the (job, "
    "account) index does not hold, so PostgreSQL probes the job_id index and reads every hour "
    "of each job not billed to the lab; asking for `account_id` reads the index alone "
    "(573 → 23 ms, same JSON)",
    "overview": "a year of the roll-up priced per group and month (13 stretches of tariffs): "
    "three grouped queries of 35 ms, the rest pricing in Python. Grouping by names spilled "
    "its sort to disk (work_mem 4 MB): now grouped by ids and named in Python (94 → 35 ms)",
    "account": "a month of the largest account's job-hours (37,000 rows) grouped by seven job "
    "columns. Fix: group by job id, fetch the page's jobs after: 80 → 64 ms in SQL",
    "job": "the template renders the month's 744 hourly rows (SQL: 30 ms)",
    "statement": "the template renders every line's per-job detail",
}


def body_of(response) -> bytes:
    if response.streaming:
        return b"".join(response.streaming_content)
    return response.content


def percentile(values: list[float], p: float) -> float:
    """The p-th percentile, linear between the nearest ranks."""
    ordered = sorted(values)
    k = (len(ordered) - 1) * p / 100
    lo, hi = math.floor(k), math.ceil(k)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def time_calls(t: Target, runs: int, only: set[str]) -> list[dict]:
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext
    from django.urls import NoReverseMatch, reverse

    clients = {None: Client()}
    for role, user in t.users.items():
        clients[role] = Client()
        clients[role].force_login(user)
    results = []
    for name, kwargs, query, role, note in cases(t):
        if only and name not in only:
            continue
        row = {"name": name, "role": role or "anonymous", "note": note}
        try:
            url = reverse(name, kwargs=kwargs)
        except NoReverseMatch:
            results.append({**row, "url": name, "status": "not built"})
            print(f"{name:18} not built", flush=True)
            continue
        if query:
            url += "?" + query
        row["url"] = url
        if name in NEEDS_PROMETHEUS:
            results.append({**row, "status": "skipped: needs Prometheus"})
            continue
        client = clients[role]
        for _ in range(2):
            start = time.perf_counter()
            body_of(client.get(url))
            warm = time.perf_counter() - start
        with CaptureQueriesContext(connection) as queries:
            response = client.get(url)
            size = len(body_of(response))
        # Read now: the next request's request_started signal empties the query log.
        query_count = len(queries.captured_queries)
        timings = []
        # A call of seconds is timed fewer times: its figure is clear, and the run shorter.
        n = runs if warm < 1 else min(runs, SLOW_CALL_RUNS)
        if n < runs:
            row["note"] = (row["note"] + ", " if row["note"] else "") + f"{n} runs"
        for _ in range(n):
            start = time.perf_counter()
            body_of(client.get(url))
            timings.append((time.perf_counter() - start) * 1000)
        row.update(
            status=response.status_code,
            bytes=size,
            queries=query_count,
            median=statistics.median(timings),
            p95=percentile(timings, 95),
        )
        results.append(row)
        flag = "SLOW" if row["p95"] >= SLOW_MS else ""
        print(
            f"{name:18} {row['role']:9} {row['median']:8.1f} {row['p95']:8.1f} "
            f"{row['queries']:4} {row['status']} {flag} {url}",
            flush=True,
        )
    return results


def time_rollup() -> list[tuple]:
    """Time the roll-up's refreshes at this size: (what, rows, runs, median seconds)."""
    from django.db.models import Sum

    from billing.collection import rollup
    from billing.models import Cluster, DailyUsage
    from billing.utc import next_month

    busiest = (
        DailyUsage.objects.values("cluster_id", "day")
        .annotate(jobs=Sum("jobs"))
        .order_by("-jobs")
        .first()
    )
    cluster, day = Cluster.objects.get(pk=busiest["cluster_id"]), busiest["day"]
    month = day.replace(day=1)
    month_end = next_month(month)
    tasks = [
        (
            f"a day: refresh_range({day}, +1 day, {cluster.name})",
            5,
            lambda: rollup.refresh_range(day, day + timedelta(days=1), cluster),
        ),
        (
            f"a month: refresh_range({month:%Y-%m}, every cluster)",
            3,
            lambda: rollup.refresh_range(month, month_end),
        ),
        (
            "the year: refresh_range(2026, every cluster)",
            1,
            lambda: rollup.refresh_range(YEAR_START.date(), YEAR_END.date()),
        ),
    ]
    out = []
    for what, runs, task in tasks:
        seconds = []
        for _ in range(runs):
            start = time.perf_counter()
            rows = task()
            seconds.append(time.perf_counter() - start)
        out.append((what, rows, runs, statistics.median(seconds)))
    return out


def rollup_lines(results: list[tuple]) -> list[str]:
    if not results:
        return []
    busiest = results[0][0].split("(")[1].rstrip(")")
    return [
        "### Roll-up refresh at this size",
        "",
        *wrap(
            "billing/collection/rollup.py recomputes the days from HourlyUsage (exact sums, in "
            f"one grouped query) and replaces their rows; the busiest cluster-day is {busiest}. "
            "write_hours refreshes its hours' days in the chunk's transaction:"
        ),
        "",
        "| refresh | DailyUsage rows | runs | median ms |",
        "|---|---|---|---|",
        *[f"| {w} | {rows:,} | {runs} | {1000 * s:.0f} |" for w, rows, runs, s in results],
        "",
    ]


def unlisted_names(t: Target) -> list[str]:
    """URL names of the project that the benchmark has no case for (to add)."""
    from django.urls import get_resolver

    known = {c[0] for c in cases(t)} | {"healthz", "logout", "set_language", "api-docs"}
    names = set()

    def walk(resolver, namespace=""):
        for p in resolver.url_patterns:
            if hasattr(p, "url_patterns"):
                if p.namespace in ("admin",):
                    continue
                walk(p, p.namespace or namespace)
            elif p.name and not namespace:
                names.add(p.name)

    walk(get_resolver())
    return sorted(names - known)


def table(results: list[dict]) -> list[str]:
    lines = [
        "| call | role | median ms | p95 ms | queries | status |",
        "|---|---|---|---|---|---|",
    ]
    for r in results:
        what = f"`{r['url']}`" + (f" ({r['note']})" if r["note"] else "")
        if "median" not in r:
            lines.append(f"| {what} | {r['role']} | | | | {r['status']} |")
            continue
        p95 = f"{r['p95']:.1f}" + (" **SLOW**" if r["p95"] >= SLOW_MS else "")
        lines.append(
            f"| {what} | {r['role']} | {r['median']:.1f} | {p95} | {r['queries']} | {r['status']} |"
        )
    return lines


def wrap(text: str, indent: str = "") -> list[str]:
    """Prose lines of the docs, at most 100 characters as the rest of the file."""
    return textwrap.wrap(
        text, 100, subsequent_indent=indent, break_on_hyphens=False, break_long_words=False
    )


def machine() -> str:
    cores = os.cpu_count()
    return f"{platform.machine()}, {cores} cores, Python {platform.python_version()}"


def write_docs(args, results, sizes, seed_info, rollup_results):
    from django.db import connection

    pg = connection.cursor().connection.info.server_version
    header = (
        f"{sizes['hourly usage']:,} HourlyUsage rows ({args.profile} profile: "
        f"{sizes['jobs']:,} jobs over 2026, {SERVICES} services running most of the year, "
        "the rest batch jobs of hours to weeks), "
        f"{sizes['daily roll-up']:,} DailyUsage rows, {sizes['statements']:,} statements "
        f"({sizes['statement jobs']:,} per-job details), database {sizes['size']}"
    )
    slow = [r for r in results if r.get("p95", 0) >= SLOW_MS]
    near = [r for r in results if NEAR_MS <= r.get("p95", 0) < SLOW_MS]
    explained = list(dict.fromkeys(r["name"] for r in slow + near if r["name"] in CAUSES))
    section = [
        SECTION,
        "",
        *wrap(
            f"`nice -n 10 .venv/bin/python bench/pages.py --runs {args.runs}"
            + (f" --profile {args.profile}" if args.profile != "mix" else "")
            + "` — every page and API call in process (Django's test client, logged in as the "
            f"role that uses it), against PostgreSQL {pg // 10000}.{pg % 10000} on the same "
            f"shared machine ({machine()}): 2 warm-ups, then {args.runs} timed fetches each; "
            "queries are those of one fetch. Load average when the timings began: "
            f"{LOAD[0]:.1f} (other work ran on the machine meanwhile: read medians). Seeding took "
            f"{seed_info['seconds'] / 60:.1f} min (skipped when the database already holds it)"
            + (
                "; the literal reading, every job in every hour (17.5 million rows, `--profile "
                "full`), would take about seven times as long to seed here, so the realistic mix "
                "is the default."
                if args.profile == "mix"
                else "."
            )
        ),
        "",
        *wrap(
            "Indexes added for these pages (billing/migrations/0005, 0006): HourlyUsage "
            "(account, hour) for an account's usage over a range, and (job, account) for which "
            "accounts a job was billed to and whether a lab may see it. Job needs none: its "
            "unique (cluster, namespace, kind, name) serves namespace filters, and 2,000 rows "
            "are scanned for a name search in well under a millisecond. HourlyUsage's job "
            "foreign key has no index of its own since 0008: the unique (job, hour) leads "
            "with it and bounds a job's hours."
        ),
        "",
        *wrap(header + ":"),
        "",
        *table(results),
        "",
        *wrap(
            f"p95 of {SLOW_MS} ms or more: "
            + (", ".join(f"`{r['url']}` ({r['role']})" for r in slow) if slow else "none")
            + f". From {NEAR_MS} ms: "
            + (", ".join(f"`{r['url']}` ({r['role']})" for r in near) if near else "none")
            + "."
        ),
        "",
        *[line for name in explained for line in wrap(f"- `{name}`: {CAUSES[name]}.", indent="  ")],
        *([""] if explained else []),
        *rollup_lines(rollup_results),
    ]
    text = DOCS.read_text() if DOCS.exists() else "# Benchmarks\n"
    lines = text.split("\n")
    if SECTION in lines:
        start = lines.index(SECTION)
        end = next(
            (i for i in range(start + 1, len(lines)) if lines[i].startswith("## ")), len(lines)
        )
        lines[start:end] = section
    else:
        while lines and not lines[-1]:
            lines.pop()
        lines += ["", *section]
    DOCS.write_text("\n".join(lines).rstrip("\n") + "\n")
    print(f"wrote the {SECTION!r} section of {DOCS}")


def main():
    args = parse_args()
    created = ensure_database(args.database_url, drop=args.reseed)
    setup_django(args.database_url)
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    info = None if created else seeded(args.profile)
    if info is None:
        if not created:
            # Whatever is there is not the requested seed: start from an empty database.
            from django.db import connections

            connections.close_all()
            ensure_database(args.database_url, drop=True)
            call_command("migrate", verbosity=0)
        print(f"seeding the {args.profile} profile into {args.database_url}", flush=True)
        info = seed(args.profile)
        print(f"seeded in {info['seconds']:.0f} s", flush=True)
    else:
        print(f"database already seeded ({info['hourly_rows']:,} hourly rows)", flush=True)
    sizes = counts()
    print(", ".join(f"{k}: {v:,}" if isinstance(v, int) else f"{k}: {v}" for k, v in sizes.items()))
    if args.seed_only:
        return
    t = Target()
    extra = unlisted_names(t)
    if extra:
        print("URL names without a case here (add them): " + ", ".join(extra))
    only = {n for n in args.only.split(",") if n}
    LOAD[:] = os.getloadavg()
    print(f"load average {LOAD[0]:.1f}")
    print(f"{'name':18} {'role':9} {'median':>8} {'p95':>8} {'qs':>4} status url")
    results = time_calls(t, args.runs, only)
    print()
    print("\n".join(table(results)))
    rollup_results = [] if args.skip_rollup else time_rollup()
    print("\n".join(rollup_lines(rollup_results)))
    if args.write_docs:
        write_docs(args, results, sizes, info, rollup_results)


if __name__ == "__main__":
    main()
