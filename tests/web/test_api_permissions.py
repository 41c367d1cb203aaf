"""Who may read what through the API: finance, ops, a lab member and an anonymous client.

Finance sees everything; ops every account's usage and jobs but no statement or export;
a lab member only the accounts it is a member of, another account's object being a 404
and another account's rows, asked by filter, nothing. Exports are finance's only.
"""

import pytest
from django.contrib.auth.models import User
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from billing.models import Statement
from tests.fixtures.api_site import ROLES, get, site_fixture  # noqa: F401

OCTOBER = {"period": "2026-10"}
WINDOW = {"start": "2026-10-01", "end": "2026-12-01"}
# The status each role gets, per endpoint: finance, ops, lab-a member ("own" is lab-a's).
MATRIX = {
    "usage": (200, 200, 200),
    "jobs": (200, 200, 200),
    "own job": (200, 200, 200),
    "other job": (200, 200, 404),
    "statements": (200, 200, 200),
    "own statement": (200, 404, 200),
    "other statement": (200, 404, 404),
    "exports": (200, 403, 403),
    "accounts": (200, 200, 200),
}
CASES = [
    (endpoint, role, status)
    for endpoint, statuses in MATRIX.items()
    for role, status in zip(ROLES, (*statuses, None), strict=True)
]


def october_statement(account: str) -> int:
    return Statement.objects.get(account__name=account, period__month="2026-10-01").pk


def url_of(jobs, endpoint: str) -> str:
    return {
        "usage": "/api/v1/usage?start=2026-10-01&end=2026-12-01",
        "jobs": "/api/v1/jobs",
        "own job": f"/api/v1/jobs/{jobs['train-00'].pk}",
        "other job": f"/api/v1/jobs/{jobs['sim-00'].pk}",
        "statements": "/api/v1/statements?period=2026-10",
        "own statement": f"/api/v1/statements/{october_statement('lab-a')}",
        "other statement": f"/api/v1/statements/{october_statement('lab-b')}",
        "exports": "/api/v1/exports",
        "accounts": "/api/v1/accounts",
    }[endpoint]


@pytest.mark.parametrize(("endpoint", "role", "status"), CASES)
def test_each_role_gets_the_status_of_the_matrix_on_each_endpoint(
    db,
    site,
    endpoint,
    role,
    status,
):
    answer = get(ROLES[role], url_of(site.jobs, endpoint))
    if role == "anonymous":
        assert answer.status_code in (401, 403)
    else:
        assert answer.status_code == status, answer.content


def usage_accounts(username: str, **filters) -> list[str]:
    answer = get(username, "/api/v1/usage", group_by="account", **WINDOW, **filters)
    return [row["account"] for row in answer.json()["rows"]]


def test_finance_and_ops_see_every_accounts_usage_and_a_member_only_its_own(db, site):
    everyone = ["lab-a", "lab-b", "unassigned"]
    assert usage_accounts("fiona") == usage_accounts("oscar") == everyone
    assert usage_accounts("alice") == ["lab-a"]
    assert usage_accounts("bob") == ["lab-b"]


def test_a_member_asking_for_another_accounts_usage_by_filter_gets_no_rows(db, site):
    assert usage_accounts("alice", account="lab-b") == []
    assert usage_accounts("alice", namespace="physics") == []


def job_names(username: str, **filters) -> set[str]:
    answer = get(username, "/api/v1/jobs", page_size=500, **filters)
    return {job["name"] for job in answer.json()["results"]}


def test_a_lab_member_lists_only_the_jobs_billed_to_its_accounts(db, site):
    lab_a = {name for name, job in site.jobs.items() if job.namespace in ("bio-lab", "bio-ci")}
    assert job_names("alice") == lab_a
    assert job_names("fiona") == job_names("oscar") == set(site.jobs)


def test_a_lab_member_filtering_jobs_by_another_account_gets_nothing(db, site):
    assert job_names("alice", account="lab-b") == set()
    assert job_names("alice", namespace="physics") == set()
    assert job_names("bob", account="lab-b") == job_names("fiona", namespace="physics")


def test_a_lab_member_gets_404_for_another_accounts_job(db, site):
    answer = get("alice", f"/api/v1/jobs/{site.jobs['db'].pk}")
    assert answer.status_code == 404
    assert answer.json() == {"detail": "no such job"}


def statement_accounts(username: str, period: str = "2026-10") -> list[str]:
    answer = get(username, "/api/v1/statements", period=period)
    return [row["account"] for row in answer.json()["results"]]


def test_finance_sees_every_statement_ops_none_and_a_member_its_own(db, site):
    assert statement_accounts("fiona") == ["lab-a", "lab-b"]
    assert statement_accounts("oscar") == []
    assert statement_accounts("alice") == ["lab-a"]
    assert statement_accounts("bob") == ["lab-b"]


def test_ops_asking_for_an_open_periods_statements_computes_nothing(db, site):
    november = Statement.objects.filter(period__month="2026-11-01")
    before = list(november.values_list("pk", "computed_at", "total_chf"))
    assert statement_accounts("oscar", "2026-11") == []
    assert list(november.values_list("pk", "computed_at", "total_chf")) == before
    assert statement_accounts("fiona", "2026-11") == ["lab-a", "lab-b", "unassigned"]


def test_a_token_authenticates_as_its_user(db, site):
    token = Token.objects.create(user=User.objects.get(username="alice"))
    client = APIClient(HTTP_AUTHORIZATION=f"Token {token.key}")
    answer = client.get("/api/v1/usage", {"group_by": "account", **WINDOW})
    assert answer.status_code == 200
    assert [row["account"] for row in answer.json()["rows"]] == ["lab-a"]
    assert client.get("/api/v1/exports").status_code == 403


def test_a_wrong_token_is_refused(db, site):
    client = APIClient(HTTP_AUTHORIZATION="Token not-a-token")
    assert client.get("/api/v1/jobs").status_code in (401, 403)


@pytest.mark.parametrize("url", ["/api/v1/metrics", "/api/v1/metrics/cpu/usage_rate"])
@pytest.mark.parametrize("role", ["member", "anonymous"])
def test_metrics_are_refused_to_lab_members_and_anonymous_clients(db, site, url, role):
    assert get(ROLES[role], url).status_code in (401, 403)


@pytest.mark.parametrize("role", ["finance", "ops"])
def test_metrics_are_open_to_ops_and_finance(db, site, role, prometheus_settings):
    answer = get(ROLES[role], "/api/v1/metrics")
    assert answer.status_code == 200
    assert "cpu/usage_rate" in {m["name"] for m in answer.json()["metrics"]}
