"""The PDF statement of an account's closed month, read back as text with pypdf.

The site (tests/fixtures/site_data.py) has October 2026 closed and exported as CSV, November
open. What the PDF shows is checked against the stored statement and, for the total, against
the SIFAC CSV export of the month, read here independently of billing/documents.
"""

import csv
import io
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from django.db.models import Sum
from django.utils import translation

from billing.documents.content import statement_content
from billing.documents.pdf import DraftStatement, pdf_file_name, statement_pdf
from billing.ledger.periods import close_period
from billing.models import Account, Adjustment, ExportFile, HourlyUsage, Statement, Tariff
from kubemon.number_formats import chf
from tests.fixtures.api_site import site_fixture  # noqa: F401
from tests.fixtures.pdf_text import pdf_pages, pdf_text
from tests.fixtures.site_data import NOVEMBER, OCTOBER

pytestmark = pytest.mark.django_db


def october(account: str) -> Statement:
    return Statement.objects.get(period__month=OCTOBER.date(), account__name=account)


def sifac_csv_totals(export_dir) -> dict[str, Decimal]:
    """Each account's total in the month's SIFAC CSV: the sum of its items' PRICE."""
    (record,) = ExportFile.objects.filter(batch__period__month=OCTOBER.date(), name__endswith="csv")
    text = (export_dir / record.name).read_text(encoding="utf-8")
    totals: dict[str, Decimal] = {}
    for row in csv.DictReader(io.StringIO(text), delimiter=";"):
        account = row["SEG_TEXT"].split()[1]
        totals[account] = totals.get(account, Decimal(0)) + Decimal(row["PRICE"])
    return totals


@pytest.mark.parametrize("account", ["lab-a", "lab-b"])
def test_the_pdf_shows_each_line_and_the_total_of_the_sifac_export_to_the_cent(site, account):
    s = october(account)
    text = pdf_text(statement_pdf(s))
    exported = sifac_csv_totals(site.export_dir)[account]
    assert exported == s.total_chf > 0
    with translation.override("en"):
        assert f"CHF {chf(exported)}" in text
    assert f"Total {chf(exported)}" in text
    assert "Statement for October 2026" in text
    assert f"Account {account} – {s.account.description}" in text
    assert f"Receiver Cost centre {s.receiver}" in text
    assert "Closed on 29 Nov 2026" in text
    for line in s.lines.all():
        assert f"{line.quantity:,.3f} {line.unit} {line.unit_price:.6f} {line.amount_chf:,.2f}" in (
            text
        )


def test_the_file_is_named_for_the_month_and_the_account(site):
    assert pdf_file_name(october("lab-a")) == "statement-2026-10-lab-a.pdf"


def test_a_french_account_gets_its_pdf_in_french_with_swiss_numbers(site):
    Account.objects.filter(name="lab-b").update(language="fr")
    s = october("lab-b")
    # A total above a thousand francs, to see Switzerland's thousands separator.
    Statement.objects.filter(pk=s.pk).update(total_chf=Decimal("1234.50"))
    s.refresh_from_db()
    text = pdf_text(statement_pdf(s))
    assert "Décompte pour octobre 2026" in text
    assert "Destinataire Centre de coûts 20555" in text
    assert "Clôturé le 29 novembre 2026" in text
    assert "CHF 1'234.50" in text
    assert "Montant (CHF)" in text and "Demandé et utilisé" in text
    assert "Statement" not in text and "Amount" not in text
    # The English account's PDF stays English whatever language is active.
    with translation.override("fr"):
        assert "Statement for October 2026" in pdf_text(statement_pdf(october("lab-a")))


def test_an_open_months_statement_is_a_draft_without_a_pdf(site):
    draft = Statement.objects.get(period__month=NOVEMBER.date(), account__name="lab-a")
    with pytest.raises(DraftStatement, match="is a draft: its month is not closed"):
        statement_pdf(draft)


def test_the_pdf_shows_cpu_and_memory_requested_and_used_and_their_efficiency(site):
    s = october("lab-a")
    sums = HourlyUsage.objects.filter(
        account=s.account, hour__gte=OCTOBER, hour__lt=NOVEMBER
    ).aggregate(
        cpu=Sum("cpu_core_seconds"),
        cpu_request=Sum("cpu_request_core_seconds"),
        memory=Sum("memory_byte_seconds"),
        memory_request=Sum("memory_request_byte_seconds"),
    )
    cpu_percent = round(100 * sums["cpu"] / sums["cpu_request"])
    text = pdf_text(statement_pdf(s))
    # The site's jobs use 60 % of the memory they request (site_data.usage_of).
    assert f"Memory (GiB-hours) {sums['memory_request'] / 2**30 / 3600:,.1f} " in text
    assert f"{sums['memory'] / 2**30 / 3600:,.1f} 60 %" in text
    assert f"CPU (core-hours) {sums['cpu_request'] / 3600:,.1f} {sums['cpu'] / 3600:,.1f}" in text
    assert f"{cpu_percent} %" in text


def test_the_jobs_that_cost_most_are_listed_ten_largest_first(site):
    content = statement_content(october("lab-a"), None)
    amounts = [j.amount_chf for j in content.top_jobs]
    assert len(amounts) == 10
    assert amounts == sorted(amounts, reverse=True)
    text = pdf_text(statement_pdf(october("lab-a")))
    assert "The 10 jobs that cost most" in text
    first = content.top_jobs[0]
    assert f"{first.job.name} {first.job.kind} {first.job.namespace} {chf(first.amount_chf)}" in (
        text
    )


def test_a_job_amount_is_its_shares_times_the_unit_prices_to_the_cent(site):
    s = october("lab-b")
    content = statement_content(s, None)
    for j in content.top_jobs:
        exact = sum(
            (d.quantity * line.unit_price for line in content.lines for d in line.job_rows
             if d.job_id == j.job.pk),
            Decimal(0),
        )  # fmt: skip
        # Each line's cents go to the jobs that lost most when rounding down: at most one
        # cent per line away from the exact product.
        assert abs(j.amount_chf - exact) < Decimal("0.01") * len(content.lines)


def close_november_with_an_adjustment(site) -> Statement:
    """November closed with --force (hours after the site's last collection missing), with
    an adjustment for late October usage of lab-a."""
    job = site.jobs["train-00"]
    Adjustment.objects.create(
        period=Statement.objects.get(period__month=NOVEMBER.date(), account__name="lab-a").period,
        source_hour=OCTOBER + timedelta(hours=3),
        job=job,
        account=site.accounts["lab-a"],
        resource="cpu",
        tariff=Tariff.objects.get(resource="cpu"),
        quantity=Decimal("40"),
        reason="collected again on 2026-11-02: 40 core-hours more",
        created_at=datetime(2026, 11, 2, tzinfo=UTC),
    )
    period, closed = close_period(
        date(2026, 11, 1), force=True, now=datetime(2026, 12, 2, tzinfo=UTC)
    )
    assert closed and period.forced
    return Statement.objects.get(period=period, account__name="lab-a")


def test_a_month_closed_with_force_shows_its_missing_hours_and_adjustments_with_reasons(site):
    s = close_november_with_an_adjustment(site)
    text = pdf_text(statement_pdf(s))
    assert "closed although some hours had not been collected" in text
    assert "Hours the month lacks" in text
    # Collected until 29 November 20:00 UTC: 21:00 in Zurich, to the month's end.
    assert "epfl-1 29 Nov 2026 21:00 1 Dec 2026 01:00 28" in text
    assert "Adjustments" in text
    assert "collected again on 2026-11-02: 40 core-hours more" in text
    assert "CPU (adjustment) 40.000 core-hour 0.050000 2.00" in text
    assert f"CHF {chf(s.total_chf)}" in text
    assert pdf_pages(statement_pdf(s)) <= 2


def test_a_month_closed_in_full_shows_no_missing_hours_section(site):
    text = pdf_text(statement_pdf(october("lab-a")))
    assert "Hours the month lacks" not in text and "Adjustments" not in text


def test_the_pdf_shows_only_the_lacking_hours_of_the_accounts_clusters(site):
    s = close_november_with_an_adjustment(site)
    Statement.objects.filter(pk=s.pk).update(
        missing_hours={**s.missing_hours, "other-cluster": [["2026-11-03T00:00:00+00:00",
                                                             "2026-11-03T02:00:00+00:00"]]}
    )  # fmt: skip
    s.refresh_from_db()
    text = pdf_text(statement_pdf(s))
    assert "epfl-1" in text and "other-cluster" not in text


def test_a_statement_fits_on_one_or_two_pages(site):
    for account in ("lab-a", "lab-b"):
        assert pdf_pages(statement_pdf(october(account))) <= 2


def test_flagged_hours_are_shown_as_runs_of_hours_with_their_reason(site):
    s = october("lab-a")
    gap = "kube-state-metrics gap"
    flagged = [
        {"hour": f"2026-10-05T{hour:02d}:00:00+00:00", "reason": gap} for hour in (10, 11, 12)
    ] + [{"hour": "2026-10-05T20:00:00+00:00", "reason": gap}]
    Statement.objects.filter(pk=s.pk).update(flagged_hours={"epfl-1": flagged})
    s.refresh_from_db()
    text = pdf_text(statement_pdf(s))
    assert "Hours the month lacks" in text
    # 10:00 UTC is 12:00 in Zurich (summer time until 25 October).
    assert f"epfl-1 5 Oct 2026 12:00 5 Oct 2026 15:00 3 {gap}" in text
    assert f"epfl-1 5 Oct 2026 22:00 5 Oct 2026 23:00 1 {gap}" in text
