"""The usage API reads whole days from the daily roll-up and anything finer from the hours,
and both give the sums of the hourly rows."""

import math

import pytest

from billing.models import HourlyUsage
from billing.resources import QUANTITIES
from tests.fixtures.api_site import get, site_fixture  # noqa: F401

WHOLE_DAYS = {"start": "2026-10-01T00:00:00Z", "end": "2026-11-15T00:00:00Z"}


def hourly_sums(start, end, **filters) -> dict[tuple, dict]:
    sums: dict[tuple, dict] = {}
    rows = HourlyUsage.objects.filter(hour__gte=start, hour__lt=end, **filters)
    for u in rows.select_related("account", "job"):
        key = (u.account.name, u.job.namespace)
        group = sums.setdefault(key, {q: [] for q in QUANTITIES})
        for q in QUANTITIES:
            group[q].append(getattr(u, q))
    return {k: {q: math.fsum(v) for q, v in g.items()} for k, g in sums.items()}


def rows(username, **params) -> list[dict]:
    answer = get(username, "/api/v1/usage", page_size=500, **params)
    assert answer.status_code == 200, answer.json()
    return answer.json()["rows"]


@pytest.mark.parametrize("window", [WHOLE_DAYS, {**WHOLE_DAYS, "end": "2026-11-15T05:00:00Z"}])
def test_sums_per_account_and_namespace_equal_the_hourly_rows(db, site, window):
    expected = hourly_sums(
        window["start"].replace("Z", "+00:00"), window["end"].replace("Z", "+00:00")
    )
    got = {
        (r["account"], r["namespace"]): r
        for r in rows("fiona", group_by="account,namespace", **window)
    }
    assert set(got) == set(expected)
    for key, sums in expected.items():
        for q in QUANTITIES:
            assert got[key][q] == pytest.approx(sums[q], rel=1e-12), (key, q)


def test_days_from_the_roll_up_are_dates_in_order(db, site):
    days = [r["day"] for r in rows("alice", group_by="day", **WHOLE_DAYS)]
    assert days == sorted(days) and days[0] >= "2026-10-01" and days[-1] <= "2026-11-14"


def test_a_member_reads_only_their_accounts_from_the_roll_up(db, site):
    assert {r["account"] for r in rows("alice", group_by="account", **WHOLE_DAYS)} == {"lab-a"}
    assert rows("alice", group_by="account", account="lab-b", **WHOLE_DAYS) == []


def test_job_hours_are_answered_row_by_row_with_their_jobs_fields(db, site):
    got = rows("alice", group_by="job,hour", job="train-05", **WHOLE_DAYS)
    usage = HourlyUsage.objects.filter(job__name="train-05").order_by("hour")
    assert [r["hour"] for r in got] == [u.hour.isoformat() for u in usage]
    assert {(r["name"], r["namespace"], r["cluster"], r["kind"]) for r in got} == {
        ("train-05", "bio-lab", "epfl-1", "Job")
    }
    assert [r["cpu_core_seconds"] for r in got] == [u.cpu_core_seconds for u in usage]
