"""The statement pages: a month's list and one statement, for finance and account members.

The site (tests/fixtures/site_data.py) has October 2026 closed and exported, November open with
the drafts collection left. The pages only read: a change reaches them through its writer's
refresh (billing/ledger/drafts.py). Totals on the pages are checked against the Statement rows,
lines and per-job detail against the StatementLine and StatementJob rows.
"""

import re
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from billing.ledger.drafts import refresh_open_drafts, refresh_open_periods
from billing.models import (
    Adjustment,
    CollectedHour,
    Period,
    Statement,
    StatementJob,
    StatementLine,
    Tariff,
)
from tests.fixtures import site_data
from tests.fixtures.api_site import site_fixture  # noqa: F401

OCTOBER = "2026-10"
NOVEMBER = "2026-11"


# The site is built once for the module (tests/fixtures/api_site.py); each test's changes roll back.
pytestmark = pytest.mark.django_db


def login(client, name: str):
    assert client.login(username=name, password=site_data.PASSWORD)
    return client


def page(client, name: str, url: str, **params):
    return login(client, name).get(url, params)


def html(response) -> str:
    return response.content.decode()


def totals(response) -> list[Decimal]:
    return [Decimal(v) for v in re.findall(r'data-total="([-\d.]+)"', html(response))]


def statements_of(month: str) -> list[Statement]:
    return list(
        Statement.objects.filter(period__month=f"{month}-01")
        .select_related("account")
        .order_by("account__name")
    )


def test_finance_sees_every_statement_of_a_closed_month_with_totals_and_the_period_total(
    client, site
):
    answer = page(client, "fiona", reverse("statements"), period=OCTOBER)
    assert answer.status_code == 200
    rows = statements_of(OCTOBER)
    assert [s.account.name for s in rows] == ["lab-a", "lab-b"]
    assert totals(answer) == [s.total_chf for s in rows]
    period_total = sum((s.total_chf for s in rows), Decimal(0))
    assert re.search(rf'data-period-total="{period_total}"', html(answer))
    text = html(answer)
    for s in rows:
        assert reverse("statement", args=[s.pk]) in text
        assert f"{s.total_chf:,.2f}" in text
    assert "Closed" in text and "draft" not in text


def test_a_closed_month_shows_when_it_was_closed_and_whether_it_was_forced(client, site):
    period = Period.objects.get(month="2026-10-01")
    Period.objects.filter(pk=period.pk).update(forced=True)
    text = html(page(client, "fiona", reverse("statements"), period=OCTOBER))
    assert "Closed" in text
    assert "forced: some hours had not been collected" in text
    assert "29 Nov 2026 22:00" in text  # 21:00 UTC, shown in Europe/Zurich


def drafts(month: str) -> list[tuple]:
    return [(s.pk, s.account.name, s.total_chf, s.computed_at) for s in statements_of(month)]


def test_an_open_month_shows_the_drafts_collection_left_as_a_recompute_gives_them(client, site):
    stored = drafts(NOVEMBER)
    answer = page(client, "fiona", reverse("statements"), period=NOVEMBER)
    assert answer.status_code == 200
    assert drafts(NOVEMBER) == stored  # the read wrote nothing
    assert [name for _, name, _, _ in stored] == ["lab-a", "lab-b", "unassigned"]
    assert all(total > 0 for _, _, total, _ in stored)
    assert totals(answer) == [total for _, _, total, _ in stored]
    assert html(answer).count(">draft</td>") == 3
    assert "Open" in html(answer)
    assert 'data-drafts="stale"' not in html(answer)
    # What was shown is what a recompute now gives: the drafts were current.
    assert refresh_open_periods(timezone.now()) == []
    assert [s.total_chf for s in statements_of(NOVEMBER)] == totals(answer)


def test_a_lab_member_sees_only_their_accounts_statements_and_no_period_total(client, site):
    answer = page(client, "alice", reverse("statements"), period=OCTOBER)
    assert answer.status_code == 200
    mine = Statement.objects.get(period__month="2026-10-01", account__name="lab-a")
    other = Statement.objects.get(period__month="2026-10-01", account__name="lab-b")
    assert totals(answer) == [mine.total_chf]
    assert reverse("statement", args=[mine.pk]) in html(answer)
    assert reverse("statement", args=[other.pk]) not in html(answer)
    assert "data-period-total" not in html(answer)
    assert "lab-b" not in html(answer)


def test_lab_member_gets_404_for_another_accounts_statement(client, site):
    other = Statement.objects.get(period__month="2026-10-01", account__name="lab-b")
    answer = page(client, "alice", reverse("statement", args=[other.pk]))
    assert answer.status_code == 404


def test_an_unknown_statement_is_a_404(client, site):
    answer = page(client, "fiona", reverse("statement", args=[999999]))
    assert answer.status_code == 404


@pytest.mark.parametrize("url", ["list", "detail"])
def test_ops_get_403_on_statements_since_they_do_not_handle_bills(client, site, url):
    s = Statement.objects.filter(period__month="2026-10-01").first()
    target = reverse("statements") if url == "list" else reverse("statement", args=[s.pk])
    assert page(client, "oscar", target, period=OCTOBER).status_code == 403


@pytest.mark.parametrize("url", ["list", "detail"])
def test_an_anonymous_visitor_is_sent_to_the_login_page(client, site, url):
    s = Statement.objects.filter(period__month="2026-10-01").first()
    target = reverse("statements") if url == "list" else reverse("statement", args=[s.pk])
    answer = client.get(target)
    assert answer.status_code == 302
    assert answer["Location"].startswith(reverse("login"))


@pytest.mark.parametrize("period", ["2026-13", "october", "2026-1", "0000-01", "9999-12", "'"])
def test_a_bad_period_is_a_400_saying_what_to_type(client, site, period):
    answer = page(client, "fiona", reverse("statements"), period=period)
    assert answer.status_code == 400
    assert 'role="alert"' in html(answer)
    assert "period" in html(answer)
    assert not Period.objects.exclude(month__in=["2026-10-01", "2026-11-01"]).exists()


def test_without_a_period_the_list_shows_the_current_month_of_the_display_zone(client, site):
    answer = page(client, "fiona", reverse("statements"))
    assert answer.status_code == 200
    month = timezone.localdate(timezone.now(), timezone.get_default_timezone())
    assert f'value="{month:%Y-%m}"' in html(answer)


def test_the_list_links_the_previous_and_next_month(client, site):
    text = html(page(client, "fiona", reverse("statements"), period="2026-01"))
    assert "?period=2025-12" in text
    assert "?period=2026-02" in text


def test_a_month_not_yet_begun_has_no_statements_and_creates_no_period(client, site):
    answer = page(client, "fiona", reverse("statements"), period="2099-01")
    assert answer.status_code == 200
    assert "has not begun" in html(answer)
    assert not Period.objects.filter(month="2099-01-01").exists()


def test_the_list_of_a_closed_month_takes_the_same_queries_whatever_its_size(
    client, site, django_assert_num_queries
):
    login(client, "fiona")
    # session, user, groups, period, statements
    with django_assert_num_queries(5):
        answer = client.get(reverse("statements"), {"period": OCTOBER})
    assert answer.status_code == 200


def test_a_statement_shows_its_header_lines_per_job_detail_and_total(client, site):
    s = Statement.objects.get(period__month="2026-10-01", account__name="lab-a")
    answer = page(client, "alice", reverse("statement", args=[s.pk]))
    assert answer.status_code == 200
    text = html(answer)
    assert "lab-a" in text and "10421" in text and "Cost centre" in text
    assert "2026-10" in text and "closed" in text
    lines = list(StatementLine.objects.filter(statement=s))
    amounts = [Decimal(v) for v in re.findall(r'data-amount="([-\d.]+)"', text)]
    assert sorted(amounts) == sorted(line.amount_chf for line in lines)
    assert sum(amounts) == s.total_chf
    assert totals(answer) == [s.total_chf]
    for line in lines:
        assert f"{line.quantity:,.3f}" in text
        assert f"{line.unit_price:,.6f}" in text
        assert line.unit in text
    details = StatementJob.objects.filter(line__statement=s).select_related("job")
    assert details
    for detail in details:
        assert reverse("job", args=[detail.job_id]) in text
        assert f">{detail.job.name}</a>" in text
        shown = detail.quantity.quantize(Decimal("0.001"), ROUND_HALF_UP)
        assert f'<td class="num">{shown:,}</td>\n      <td class="num">{detail.hours}</td>' in text
    assert "bio-lab" in text and "bio-ci" in text


def test_a_statement_page_takes_the_same_queries_whatever_its_number_of_jobs(
    client, site, django_assert_num_queries
):
    s = Statement.objects.get(period__month="2026-10-01", account__name="lab-b")
    login(client, "fiona")
    # session, user, groups, statement with period and account, lines, their jobs, and the
    # account's CPU and memory of the month (one sum)
    with django_assert_num_queries(7):
        answer = client.get(reverse("statement", args=[s.pk]))
    assert answer.status_code == 200


def test_a_statement_is_printable_with_a_print_button_outside_the_document(client, site):
    s = Statement.objects.get(period__month="2026-10-01", account__name="lab-a")
    text = html(page(client, "fiona", reverse("statement", args=[s.pk])))
    assert 'media="print"' in text
    # Its handler is in a static file (the Content-Security-Policy allows no inline one).
    assert re.search(r'<button[^>]*class="no-print"[^>]*data-print', text)
    assert re.search(r'<script src="/static/web/print\.js"', text)
    document = text[text.index('<article class="statement">') : text.index("</article>")]
    # print.css hides forms, navigation and charts: the document holds none of them.
    assert "<form" not in document and "<nav" not in document and "no-print" not in document
    assert "Amounts in CHF" in document
    assert f"{s.total_chf:,.2f}" in document


def test_adjustments_appear_as_lines_with_their_reason_and_jobs(client, site):
    job = site.jobs["train-00"]
    cpu = Tariff.objects.get(resource="cpu")
    november = Period.objects.get_or_create(month="2026-11-01")[0]
    Adjustment.objects.create(
        period=november,
        source_hour=datetime(2026, 10, 1, 1, tzinfo=UTC),
        job=job,
        account=site.accounts["lab-a"],
        resource="cpu",
        tariff=cpu,
        quantity=Decimal("10"),
        reason="late collection of epfl-1 2026-10-01 01:00Z (closed period 2026-10)",
        created_at=site_data.NOW,
    )
    # Collection records an adjustment and refreshes the month billing it.
    refresh_open_drafts(
        datetime(2026, 10, 1, 1, tzinfo=UTC), datetime(2026, 10, 1, 2, tzinfo=UTC), timezone.now()
    )
    page(client, "alice", reverse("statements"), period=NOVEMBER)
    s = Statement.objects.get(period=november, account__name="lab-a")
    line = s.lines.get(kind=StatementLine.Kind.ADJUSTMENT)
    assert line.amount_chf == Decimal("0.50")
    text = html(client.get(reverse("statement", args=[s.pk])))
    assert "Adjustments" in text
    assert "late collection of epfl-1 2026-10-01 01:00Z (closed period 2026-10)" in text
    assert "Adjustment" in text and ">0.50<" in text
    assert reverse("job", args=[job.pk]) in text
    amounts = [Decimal(v) for v in re.findall(r'data-amount="([-\d.]+)"', text)]
    assert sum(amounts) == s.total_chf


def test_hours_not_collected_and_flagged_hours_are_listed(client, site):
    flagged_hour = datetime(2026, 11, 10, 4, tzinfo=UTC)
    CollectedHour.objects.filter(hour=flagged_hour).update(
        flagged=True, flag_reason="kube-state-metrics silent for 2 h"
    )
    # Collection flags the hour and refreshes the drafts of its month.
    refresh_open_drafts(flagged_hour, flagged_hour + timedelta(hours=1), timezone.now())
    login(client, "fiona")
    s = Statement.objects.get(period__month="2026-11-01", account__name="lab-b")
    assert s.missing_hours["epfl-1"][0][0] == site_data.COLLECTED_UNTIL.isoformat()
    text = html(client.get(reverse("statement", args=[s.pk])))
    assert "Hours not collected" in text and "epfl-1" in text
    # Shown in the display zone (Europe/Zurich: UTC+1 in November).
    assert "29 Nov 2026 21:00" in text
    assert "kube-state-metrics silent for 2 h" in text
    assert "10 Nov 2026 05:00" in text


def test_drafts_a_writer_could_not_price_are_shown_as_stored_with_a_notice_not_a_500(client, site):
    # A tariff moved behind the writers' back leaves November's usage unpriced: the next
    # refresh says so and keeps the drafts; the page shows them with a notice.
    Tariff.objects.filter(resource="network_tx").update(
        valid_from=datetime(2026, 12, 1, tzinfo=UTC), changed_at=timezone.now()
    )
    (problem,) = refresh_open_periods(timezone.now())
    assert "draft statements of 2026-11 not recomputed: no tariff for network_tx" in problem
    stored = drafts(NOVEMBER)
    answer = page(client, "fiona", reverse("statements"), period=NOVEMBER)
    assert answer.status_code == 200
    assert totals(answer) == [total for _, _, total, _ in stored]
    assert 'data-drafts="stale"' in html(answer)
    assert "older than the latest usage, adjustment or tariff" in html(answer)
    assert drafts(NOVEMBER) == stored
