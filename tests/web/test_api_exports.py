"""GET /api/v1/exports: finance's list of SIFAC export batches and their files."""

import hashlib
from datetime import timedelta

import pytest

from billing.models import Period
from billing.sifac.batches import export
from tests.fixtures.api_site import client_for, get, site_fixture  # noqa: F401
from tests.fixtures.site_data import NOW


def export_again(site, fmt: str, hours: int = 1):
    """A new batch of closed October in `fmt`, `hours` after the site's first one."""
    october = Period.objects.get(month="2026-10-01")
    now = NOW + timedelta(hours=hours)
    return export(october, fmt, site.export_dir, new_batch=True, allow_unassigned=False, now=now)


def batches(username="fiona", **params) -> list[dict]:
    answer = get(username, "/api/v1/exports", **params)
    assert answer.status_code == 200, answer.content
    return answer.json()["results"]


def test_a_batch_is_listed_with_its_period_format_and_files(db, site):
    (batch,) = batches()
    (file,) = batch.pop("files")
    assert batch == {
        "id": batch["id"],
        "number": 1,
        "period": "2026-10",
        "format": "csv",
        "created_at": "2026-11-29T21:00:00+00:00",
    }
    content = (site.export_dir / file["name"]).read_bytes()
    assert file["name"] == "kubemon-2026-10-csv-batch000001.csv"
    assert file["sha256"] == hashlib.sha256(content).hexdigest()
    assert file["size"] == len(content)
    assert file["url"] == f"http://testserver/exports/files/{file['id']}"


def test_batches_are_listed_newest_first(db, site):
    export_again(site, "idoc")
    export_again(site, "idoc-xml", hours=2)
    listed = batches()
    assert [(b["number"], b["format"]) for b in listed] == [
        (3, "idoc-xml"),
        (2, "idoc"),
        (1, "csv"),
    ]
    assert [len(b["files"]) for b in listed] == [1, 1, 1]


def test_batches_are_filtered_by_period(db, site):
    assert [b["number"] for b in batches(period="2026-10")] == [1]
    assert batches(period="2026-11") == []


@pytest.mark.parametrize("period", ["2026-13", "october", "2026-1"])
def test_a_bad_period_is_a_400_naming_it(db, site, period):
    answer = get("fiona", "/api/v1/exports", period=period)
    assert answer.status_code == 400
    assert answer.json()["param"] == "period"


@pytest.mark.parametrize("username", ["oscar", "alice", "bob"])
def test_anyone_but_finance_is_refused_the_exports(db, site, username):
    answer = get(username, "/api/v1/exports")
    assert answer.status_code == 403
    assert answer.json() == {"detail": "finance only"}


def test_staff_are_finance(db, site, django_user_model):
    django_user_model.objects.create_user("sam", is_staff=True)
    assert len(batches("sam")) == 1


def test_the_list_answers_in_a_fixed_number_of_queries(db, site, django_assert_num_queries):
    # The user's groups, the count, the page of batches, and their files.
    for fmt in ("idoc", "idoc-xml"):
        client = client_for("fiona")
        with django_assert_num_queries(4):
            assert client.get("/api/v1/exports").status_code == 200
        export_again(site, fmt)
