"""No CSV the app writes runs as a spreadsheet formula, and every number stays a number.

The rule (kubemon/csv_cells.py): text starting with = + - @ (or a tab or carriage return)
gets a leading '; numbers, and text that is exactly a decimal number such as a negative
amount, are written as they are. Tried on the three CSVs: an account's jobs, the metric API's
`format=csv` and the SIFAC export.
"""

import csv
import io
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.contrib.auth.models import User
from django.test import Client

from billing.sifac.documents import Document, sifac_settings
from billing.sifac.render import CSV_COLUMNS, csv_file
from kubemon.csv_cells import neutralise
from promadapter.catalog import BY_NAME
from tests.fixtures.api_site import site_fixture  # noqa: F401
from web.api.metrics import metric_csv

FORMULAS = ['=HYPERLINK("http://x")', "+cmd|' /C calc'!A0", "-2+3", "@SUM(A1)", "\t=1", "\r=1"]


@pytest.mark.parametrize("text", FORMULAS)
def test_text_starting_like_a_formula_is_quoted(text):
    assert neutralise(text) == "'" + text


@pytest.mark.parametrize("value", ["-12.50", "+1", "-0.001", "1e-05", -3, Decimal("-4.20"), 2.5])
def test_numbers_and_decimal_text_are_written_as_they_are(value):
    assert neutralise(value) == value


def test_plain_text_and_nothing_are_written_as_they_are():
    assert neutralise("train-05") == "train-05"
    assert neutralise(None) == ""


def rows(content: bytes, delimiter: str = ",") -> list[list[str]]:
    return list(csv.reader(io.StringIO(content.decode()), delimiter=delimiter))


def test_a_label_value_like_a_formula_is_quoted_in_the_metric_csv():
    metric = BY_NAME["cpu/usage_rate"]
    series = [{"labels": {"pod": "=1+2", "namespace": "bio"}, "points": [["t0", -1.5]]}]
    [header, row] = rows(metric_csv(metric, series).content)
    assert dict(zip(header, row, strict=True)) == {
        "metric": "cpu/usage_rate",
        "unit": metric.unit,
        "namespace": "bio",
        "pod": "'=1+2",
        "timestamp": "t0",
        "value": "-1.5",
    }


def test_a_job_name_like_a_formula_is_quoted_in_the_account_csv(db, site):
    job = site.jobs["train-00"]
    job.name = "@SUM(1+1)"
    job.save()
    client = Client()
    client.force_login(User.objects.get(username="alice"))
    answer = client.get(f"/accounts/{site.accounts['lab-a'].pk}/jobs.csv", {"period": "2026-10"})
    by_id = {row[0]: row for row in rows(answer.content)}
    assert by_id[str(job.pk)][4] == "'@SUM(1+1)"


def test_the_sifac_csv_quotes_formula_text_and_keeps_negative_amounts():
    header = {"CO_AREA": "EPFL", "DOC_HDR_TX": "=cmd()", "DOCDATE": "20261031"}
    item = {"PRICE": "-12.50", "ACTVTY_QTY": "1.000", "REC_WBS_EL": "+X-1", "SEG_TEXT": "ok"}
    doc = Document(account="lab-a", total=Decimal("-12.50"), header=header, items=[item])
    content = csv_file([doc], 7, datetime(2026, 11, 5, tzinfo=UTC), sifac_settings())
    [columns, row] = rows(content, delimiter=";")
    assert columns == list(CSV_COLUMNS)
    cells = dict(zip(columns, row, strict=True))
    assert cells["PRICE"] == "-12.50"
    assert cells["DOC_HDR_TX"] == "'=cmd()"
    assert cells["REC_WBS_EL"] == "'+X-1"
