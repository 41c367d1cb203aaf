"""Every list of the API is paginated: usage rows, jobs, statements and exports.

`page` and `page_size` pick a page; `page_size` is capped at 500; `next` and `previous`
link the pages; a bad page is a 400 naming `page`. No answer is unbounded.
"""

from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest

from billing.models import DataGap, HourlyUsage, Period
from billing.sifac.batches import export
from tests.fixtures.api_site import client_for, get, site_fixture  # noqa: F401
from tests.fixtures.site_data import NOVEMBER, NOW

USAGE = {"start": "2026-10-01", "end": "2026-12-01", "group_by": "job,hour"}


def pages(username: str, url: str, **params) -> list[dict]:
    """Every page of a list, following `next` from the first."""
    client = client_for(username)
    answers = [client.get(url, params).json()]
    while answers[-1]["next"]:
        answers.append(client.get(answers[-1]["next"]).json())
    return answers


def query(url: str) -> dict[str, str]:
    return {name: values[0] for name, values in parse_qs(urlsplit(url).query).items()}


def test_usage_rows_are_capped_at_500_a_page(db, site):
    body = get("fiona", "/api/v1/usage", page_size=10_000, **USAGE).json()
    assert len(body["rows"]) == 500
    assert body["count"] == HourlyUsage.objects.count() > 1500
    assert query(body["next"]) == {**USAGE, "page_size": "10000", "page": "2"}
    assert body["previous"] is None
    assert {"start", "end", "group_by", "gaps", "gaps_truncated"} <= set(body)


def test_usage_pages_hold_every_row_once(db, site):
    answers = pages("fiona", "/api/v1/usage", page_size=500, **USAGE)
    rows = [(row["job_id"], row["hour"]) for body in answers for row in body["rows"]]
    assert len(answers) == 4
    assert len(rows) == len(set(rows)) == HourlyUsage.objects.count()
    assert answers[-1]["next"] is None and query(answers[-1]["previous"])["page"] == "3"


def test_usage_rows_come_100_a_page_by_default(db, site):
    assert len(get("alice", "/api/v1/usage", **USAGE).json()["rows"]) == 100


def test_the_usage_answer_bounds_its_data_gaps(db, site):
    for i in range(150):
        start = NOVEMBER + timedelta(hours=i)
        DataGap.objects.create(
            cluster=site.cluster, exporter="cadvisor", start=start, end=start, bridged=True
        )
    body = get("oscar", "/api/v1/usage", **USAGE).json()
    assert len(body["gaps"]) == 100 and body["gaps_truncated"] is True
    body = get("oscar", "/api/v1/usage", start="2026-11-21", end="2026-11-22").json()
    assert len(body["gaps"]) == 1 and body["gaps_truncated"] is False


def test_a_usage_page_answers_in_a_fixed_number_of_queries(db, site, django_assert_num_queries):
    # The user's groups and accounts, the rows' count, the page's rows, their jobs and the
    # data gaps.
    for size in (10, 500):
        client = client_for("alice")
        with django_assert_num_queries(6):
            client.get("/api/v1/usage", {"page_size": size, **USAGE})


def test_jobs_pages_hold_every_job_once(db, site):
    answers = pages("fiona", "/api/v1/jobs", page_size=10)
    ids = [job["id"] for body in answers for job in body["results"]]
    assert [len(body["results"]) for body in answers] == [10, 10, 10, 3]
    assert sorted(ids) == sorted(job.pk for job in site.jobs.values())
    assert query(answers[1]["previous"]) == {"page_size": "10", "page": "1"}


def test_jobs_are_capped_at_500_a_page(db, site):
    body = get("fiona", "/api/v1/jobs", page_size=501).json()
    assert body["count"] == len(body["results"]) == len(site.jobs)


def test_statements_come_a_page_at_a_time(db, site):
    answers = pages("fiona", "/api/v1/statements", period="2026-10", page_size=1)
    assert [[s["account"] for s in body["results"]] for body in answers] == [["lab-a"], ["lab-b"]]
    assert answers[0]["count"] == 2


def test_exports_come_a_page_at_a_time(db, site):
    october = Period.objects.get(month="2026-10-01")
    for hours, fmt in enumerate(("idoc", "idoc-xml"), start=1):
        export(october, fmt, site.export_dir, True, False, NOW + timedelta(hours=hours))
    answers = pages("fiona", "/api/v1/exports", page_size=2)
    numbers = [[b["number"] for b in body["results"]] for body in answers]
    assert numbers == [[3, 2], [1]]


@pytest.mark.parametrize("url", ["/api/v1/usage", "/api/v1/jobs", "/api/v1/exports"])
@pytest.mark.parametrize(
    ("params", "param"),
    [
        ({"page": "0"}, "page"),
        ({"page": "-1"}, "page"),
        ({"page": "two"}, "page"),
        ({"page": "1.5"}, "page"),
        ({"page": "99"}, "page"),
        ({"page_size": "0"}, "page_size"),
        ({"page_size": "many"}, "page_size"),
        ({"page_size": "9" * 20}, "page_size"),
    ],
)
def test_a_bad_page_is_a_400_naming_it(db, site, url, params, param):
    answer = get("fiona", url, **params)
    assert answer.status_code == 400, answer.content
    assert answer.json()["param"] == param
    assert answer.json()["detail"].startswith(f"{param}: ")


def test_an_empty_list_has_one_empty_page(db, site):
    body = get("fiona", "/api/v1/jobs", q="no such job").json()
    assert (body["count"], body["results"], body["next"], body["previous"]) == (0, [], None, None)
    assert get("fiona", "/api/v1/jobs", q="no such job", page=2).status_code == 400
