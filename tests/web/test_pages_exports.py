"""The export pages: the batch history and the downloads, for finance only.

The site (tests/fixtures/site_data.py) has October 2026 closed and exported as CSV into the test's
export directory; a download must give exactly the recorded bytes, and a file that is gone
or changed must get a page that says so, never a 500.
"""

import hashlib
import logging
from datetime import date
from pathlib import Path

import pytest
from django.urls import reverse

from billing.models import ExportBatch, ExportFile, Period
from billing.sifac import directory
from billing.sifac.batches import export
from tests.fixtures import site_data


@pytest.fixture
def site(db, settings, tmp_path):
    settings.KUBEMON_EXPORT_DIR = str(tmp_path)
    return site_data.build_site(tmp_path)


@pytest.fixture
def exported(site, tmp_path) -> tuple[ExportFile, Path]:
    record = ExportFile.objects.select_related("batch").get()
    return record, tmp_path / record.name


def login(client, name: str):
    assert client.login(username=name, password=site_data.PASSWORD)
    return client


def body(response) -> bytes:
    return b"".join(response.streaming_content)


def test_finance_sees_the_batch_history_with_each_files_size_and_sha256(client, site, exported):
    record, _ = exported
    answer = login(client, "fiona").get(reverse("exports"))
    assert answer.status_code == 200
    text = answer.content.decode()
    batch = record.batch
    assert f">{batch.number}</td>" in text
    assert ">2026-10</a>" in text and ">csv</td>" in text
    assert record.name in text
    assert f"{record.size:,}" in text
    assert record.sha256 in text
    assert reverse("export-file", args=[record.pk]) in text


def test_a_download_gives_the_exported_bytes_as_an_attachment_with_the_recorded_sha256(
    client, exported
):
    record, path = exported
    answer = login(client, "fiona").get(reverse("export-file", args=[record.pk]))
    assert answer.status_code == 200
    content = body(answer)
    assert content == path.read_bytes()
    assert hashlib.sha256(content).hexdigest() == record.sha256
    assert len(content) == record.size
    assert answer["Content-Disposition"] == f'attachment; filename="{record.name}"'
    assert answer["Content-Type"].startswith("text/csv")


def test_a_tampered_file_is_refused_with_a_409_page_that_says_so(client, exported):
    record, path = exported
    path.write_bytes(path.read_bytes().replace(b"10421", b"99999"))
    answer = login(client, "fiona").get(reverse("export-file", args=[record.pk]))
    assert answer.status_code == 409
    text = answer.content.decode()
    assert "has changed since it was exported" in text
    assert record.sha256 in text
    assert 'role="alert"' in text


def test_a_missing_file_is_a_404_page_that_says_so(client, exported):
    record, path = exported
    path.unlink()
    answer = login(client, "fiona").get(reverse("export-file", args=[record.pk]))
    assert answer.status_code == 404
    assert "no longer in the export directory" in answer.content.decode()


def test_a_recorded_name_that_leaves_the_export_directory_is_never_served(
    client, exported, tmp_path
):
    record, _ = exported
    secret = tmp_path.parent / "secret.txt"
    secret.write_bytes(b"not an export")
    ExportFile.objects.filter(pk=record.pk).update(
        name="../secret.txt", sha256=hashlib.sha256(b"not an export").hexdigest()
    )
    answer = login(client, "fiona").get(reverse("export-file", args=[record.pk]))
    assert answer.status_code == 409
    assert b"not an export" not in answer.content


def test_a_link_inside_the_directory_that_points_outside_is_never_served(
    client, exported, tmp_path
):
    record, path = exported
    outside = tmp_path.parent / "outside.csv"
    outside.write_bytes(path.read_bytes())
    path.unlink()
    path.symlink_to(outside)
    answer = login(client, "fiona").get(reverse("export-file", args=[record.pk]))
    assert answer.status_code == 409


def test_the_file_name_comes_from_the_database_not_from_the_url(client, exported):
    record, _ = exported
    client = login(client, "fiona")
    assert client.get(reverse("export-file", args=[record.pk + 1000])).status_code == 404
    assert client.get(f"/exports/files/{record.name}").status_code == 404


def test_read_export_checks_the_sha256_and_stays_in_the_directory(exported, tmp_path):
    record, path = exported
    assert directory.read_export(record.name, record.sha256, tmp_path) == path.read_bytes()
    with pytest.raises(directory.ExportFileTampered):
        directory.read_export(record.name, "0" * 64, tmp_path)
    with pytest.raises(directory.ExportFileOutside):
        directory.read_export("../" + record.name, record.sha256, tmp_path / "sub")
    with pytest.raises(directory.ExportFileMissing):
        directory.read_export("nothing.csv", record.sha256, tmp_path)


@pytest.mark.parametrize("name", ["oscar", "alice", "bob"])
def test_only_finance_may_see_exports_or_download_them(client, exported, name):
    record, _ = exported
    client = login(client, name)
    assert client.get(reverse("exports")).status_code == 403
    answer = client.get(reverse("export-file", args=[record.pk]))
    assert answer.status_code == 403
    assert not hasattr(answer, "streaming_content")


def test_an_anonymous_visitor_is_sent_to_the_login_page(client, exported):
    record, _ = exported
    for url in (reverse("exports"), reverse("export-file", args=[record.pk])):
        answer = client.get(url)
        assert answer.status_code == 302
        assert answer["Location"].startswith(reverse("login"))


def test_the_history_takes_the_same_queries_whatever_its_number_of_batches(
    client, site, tmp_path, django_assert_num_queries
):
    october = Period.objects.get(month=date(2026, 10, 1))
    for fmt in ("idoc", "idoc-xml"):
        export(october, fmt, tmp_path, new_batch=True, allow_unassigned=False, now=site_data.NOW)
    assert ExportBatch.objects.count() == 3
    login(client, "fiona")
    # session, user, groups, count of batches, batches with periods, their files
    with django_assert_num_queries(6):
        answer = client.get(reverse("exports"))
    text = answer.content.decode()
    for record in ExportFile.objects.all():
        assert reverse("export-file", args=[record.pk]) in text
        assert record.sha256 in text
    # Newest first.
    assert text.index("batch000003") < text.index("batch000001")


def refused_with_the_log(client, record, caplog) -> tuple[int, str, str]:
    """(status, page, log) of a download of record."""
    with caplog.at_level(logging.ERROR, logger="web.views.exports"):
        answer = login(client, "fiona").get(reverse("export-file", args=[record.pk]))
    return answer.status_code, answer.content.decode(), caplog.text


def test_a_link_leading_out_is_a_409_page_without_the_server_s_paths(
    client, exported, tmp_path, caplog
):
    record, path = exported
    outside = tmp_path.parent / "outside.csv"
    outside.write_bytes(path.read_bytes())
    path.unlink()
    path.symlink_to(outside)
    status, text, logged = refused_with_the_log(client, record, caplog)
    assert status == 409
    assert "leads out of the export directory" in text
    assert str(tmp_path) not in text and str(tmp_path.parent) not in text
    assert str(tmp_path) in logged  # the operator gets the path


def test_a_recorded_name_leading_out_is_a_409_page_without_the_server_s_paths(
    client, exported, tmp_path, caplog
):
    record, _ = exported
    ExportFile.objects.filter(pk=record.pk).update(name="../elsewhere.csv")
    status, text, logged = refused_with_the_log(client, record, caplog)
    assert status == 409
    assert str(tmp_path.parent) not in text
    assert str(tmp_path) in logged


def test_an_unreadable_file_is_a_409_page_without_the_server_s_paths(
    client, exported, tmp_path, caplog
):
    record, path = exported
    path.unlink()
    path.symlink_to(path.name)  # a link to itself: never readable
    status, text, logged = refused_with_the_log(client, record, caplog)
    assert status == 409
    assert "cannot be read from the export directory" in text
    assert str(tmp_path) not in text
    assert str(tmp_path) in logged
