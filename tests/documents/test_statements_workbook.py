"""Finance's Excel workbook of a month's statements: read back with openpyxl it equals the
statements and their lines (amounts to the cent, numbers as numbers, hours in UTC); the page
and the API serve it to finance only, and a read creates nothing."""

import io
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from drf_spectacular.generators import SchemaGenerator
from openpyxl import load_workbook

from billing.documents.workbook import statements_workbook
from billing.ledger.drafts import refresh_open_drafts
from billing.models import Adjustment, Period, Statement, StatementLine, Tariff
from tests.fixtures.site_data import NOW, PASSWORD, build_site

CENT = Decimal("0.01")


@pytest.fixture
def site(db, settings, tmp_path):
    """October closed, November open (drafts) with an adjustment: October's usage less."""
    settings.KUBEMON_EXPORT_DIR = str(tmp_path)
    site = build_site(tmp_path)
    late = datetime(2026, 10, 1, 1, tzinfo=UTC)
    Adjustment.objects.create(
        period=Period.objects.get(month="2026-11-01"),
        source_hour=late,
        job=site.jobs["train-00"],
        account=site.accounts["lab-a"],
        resource="cpu",
        tariff=Tariff.objects.get(resource="cpu"),
        quantity=Decimal("-10"),
        reason="late collection of epfl-1 2026-10-01 01:00Z (closed period 2026-10)",
        created_at=NOW,
    )
    refresh_open_drafts(late, late + timedelta(hours=1), NOW)
    return site


def read_back(content: bytes) -> dict[str, list[tuple]]:
    book = load_workbook(io.BytesIO(content))
    return {sheet.title: list(sheet.iter_rows(values_only=True)) for sheet in book.worksheets}


def as_decimal(value, places: str) -> Decimal:
    assert isinstance(value, int | float) and not isinstance(value, bool), value
    return Decimal(str(value)).quantize(Decimal(places))


def utc(moment):
    return moment.replace(tzinfo=UTC)


@pytest.mark.parametrize("month, status", [("2026-10-01", "closed"), ("2026-11-01", "draft")])
def test_the_workbook_read_back_equals_the_statements_and_their_lines(site, month, status):
    period = Period.objects.get(month=month)
    sheets = read_back(statements_workbook(period))
    assert list(sheets) == ["Statements", "Lines"]
    header, *rows = sheets["Statements"]
    assert header[:6] == (
        "Account",
        "Receiver type",
        "Receiver",
        "Rate class",
        "Status",
        "Total (CHF)",
    )
    statements = list(Statement.objects.filter(period=period).order_by("account__name"))
    assert len(statements) >= 2 and len(rows) == len(statements)
    for row, s in zip(rows, statements, strict=True):
        assert row[:5] == (
            s.account.name,
            s.receiver_type or None,
            s.receiver or None,
            s.account.rate_class or None,
            status,
        )
        assert as_decimal(row[5], "0.01") == s.total_chf
        assert utc(row[6]) == s.computed_at.replace(microsecond=row[6].microsecond)
    header, *rows = sheets["Lines"]
    assert header[7:9] == ("First hour (UTC)", "End hour (UTC)")
    lines = list(
        StatementLine.objects.filter(statement__period=period).order_by(
            "statement__account__name", "kind", "resource", "first_hour", "pk"
        )
    )
    assert len(lines) > 5 and len(rows) == len(lines)
    kinds = {"usage", "adjustment"} if status == "draft" else {"usage"}
    assert {row[1] for row in rows} == kinds
    for row, line in zip(rows, lines, strict=True):
        assert row[:3] == (line.statement.account.name, line.kind, line.resource)
        assert as_decimal(row[3], "0.001") == line.quantity
        assert row[4] == line.unit
        assert as_decimal(row[5], "0.000001") == line.unit_price
        assert as_decimal(row[6], "0.01") == line.amount_chf
        assert (utc(row[7]), utc(row[8])) == (line.first_hour, line.end_hour)
    # the lines add up to each statement's total, to the cent
    for s in statements:
        mine = [as_decimal(r[6], "0.01") for r in rows if r[0] == s.account.name]
        assert sum(mine, Decimal(0)) == s.total_chf


def test_the_sheets_are_formatted_for_reading(site):
    book = load_workbook(io.BytesIO(statements_workbook(Period.objects.get(month="2026-11-01"))))
    for sheet in book.worksheets:
        assert sheet.freeze_panes == "A2"
        assert all(cell.font.bold for cell in sheet[1])
        assert all(10 <= sheet.column_dimensions[c].width <= 60 for c in "ABCDEF")
    assert book["Statements"]["F2"].number_format == "#,##0.00"
    assert book["Lines"]["G2"].number_format == "#,##0.00"
    assert book["Lines"]["H2"].is_date


def test_finance_downloads_the_month_from_the_statements_page(site, client):
    assert client.login(username="fiona", password=PASSWORD)
    page = client.get("/statements/?period=2026-11")
    assert b'href="/statements/2026-11.xlsx"' in page.content
    answer = client.get("/statements/2026-11.xlsx")
    assert answer.status_code == 200
    assert answer["Content-Type"].startswith("application/vnd.openxmlformats")
    assert 'filename="statements-2026-11.xlsx"' in answer["Content-Disposition"]
    assert read_back(answer.content) == read_back(
        statements_workbook(Period.objects.get(month="2026-11-01"))
    )
    # a data file: the same columns whatever the reader's language
    french = client.get("/statements/2026-11.xlsx", headers={"accept-language": "fr"})
    assert read_back(french.content) == read_back(answer.content)


@pytest.mark.parametrize("user", ["alice", "oscar"])
def test_members_and_ops_get_neither_the_link_nor_the_file(site, client, user):
    assert client.login(username=user, password=PASSWORD)
    page = client.get("/statements/?period=2026-11")
    assert b".xlsx" not in page.content
    assert client.get("/statements/2026-11.xlsx").status_code == 403


def test_a_bad_month_is_a_400_and_a_month_without_period_a_404_creating_none(site, client):
    assert client.login(username="fiona", password=PASSWORD)
    assert client.get("/statements/2026-13.xlsx").status_code == 400
    periods = Period.objects.count()
    missing = client.get("/statements/2025-01.xlsx")
    assert missing.status_code == 404
    assert b"2025-01 has no statements" in missing.content
    assert Period.objects.count() == periods


def api_get(client, user: str, period: str):
    assert client.login(username=user, password=PASSWORD)
    return client.get("/api/v1/statements/workbook", {"period": period})


def test_the_api_gives_finance_the_same_workbook(site, client):
    answer = api_get(client, "fiona", "2026-10")
    assert answer.status_code == 200
    assert read_back(answer.content) == read_back(
        statements_workbook(Period.objects.get(month="2026-10-01"))
    )


@pytest.mark.parametrize(
    "user, period, status",
    [
        ("alice", "2026-10", 403),
        ("oscar", "2026-10", 403),
        ("fiona", "2026-13", 400),
        ("fiona", "2025-01", 404),
    ],
)
def test_the_api_refuses_others_and_bad_months(site, client, user, period, status):
    periods = Period.objects.count()
    answer = api_get(client, user, period)
    assert answer.status_code == status
    assert answer.json()["detail"]
    assert Period.objects.count() == periods


def test_the_openapi_schema_describes_the_file_and_its_period():
    spec = SchemaGenerator().get_schema(request=None, public=True)
    operation = spec["paths"]["/api/v1/statements/workbook"]["get"]
    assert [p["name"] for p in operation["parameters"]] == ["period"]
    (media,) = operation["responses"]["200"]["content"]
    assert media == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert {"400", "403", "404"} <= set(operation["responses"])


def test_the_workbook_is_read_in_two_queries_whatever_the_number_of_lines(
    site, django_assert_num_queries
):
    period = Period.objects.get(month="2026-11-01")
    with django_assert_num_queries(2):  # the statements with accounts, then their lines
        statements_workbook(period)
