"""The split of a statement per user, and the one rule that gives out the cents.

A job's amount is its share of each line's amount, the cents given by largest remainder
(billing/documents/content.py: `allocate`); a user's amount is the sum of their jobs'. So
the users' amounts add up to the statement's total to the cent, even where rounding each
share on its own would lose or gain a cent.
"""

from datetime import UTC, date, datetime
from decimal import ROUND_HALF_UP, Decimal

import pytest

from billing.documents.content import allocate, statement_content
from billing.documents.pdf import statement_pdf
from billing.ledger.periods import close_period
from billing.models import Job, Statement
from tests.fixtures.billing_rows import (
    APRIL,
    MARCH,
    add_usage,
    collect_hours,
    make_account,
    make_job,
    make_tariffs,
)
from tests.fixtures.pdf_text import pdf_text
from tests.fixtures.site_data import build_site

CENT = Decimal("0.01")


def test_largest_remainder_gives_the_cents_left_to_the_shares_that_lost_most():
    # 0.10 in three equal shares of 0.0333...: the first in key order gets the cent left.
    assert allocate(Decimal("0.10"), {"a": 1, "b": 1, "c": 1}) == {
        "a": Decimal("0.04"),
        "b": Decimal("0.03"),
        "c": Decimal("0.03"),
    }
    # 1.00 as 2:1 is 0.666... and 0.333...: the first lost more when rounded down.
    assert allocate(Decimal("1.00"), {"x": Decimal("2"), "y": Decimal("1")}) == {
        "x": Decimal("0.67"),
        "y": Decimal("0.33"),
    }
    # Seven shares of 0.05: 0.0071... each; the five cents go to the first five.
    parts = allocate(Decimal("0.05"), dict.fromkeys("abcdefg", 1))
    assert list(parts.values()) == [CENT] * 5 + [Decimal(0)] * 2


def test_the_parts_always_add_up_to_the_total_negative_amounts_too():
    weights = {"a": Decimal("3.3333"), "b": Decimal("0.0001"), "c": Decimal("7.1"), "d": 2}
    for total in ("0.00", "0.01", "12.34", "-5.67", "1000000.01"):
        parts = allocate(Decimal(total), weights)
        assert sum(parts.values()) == Decimal(total)
        assert all(p == p.quantize(CENT) for p in parts.values())
    # A negative adjustment of one job against another's: the parts still add up.
    assert sum(allocate(Decimal("0.10"), {"a": 5, "b": -2}).values()) == Decimal("0.10")


def test_weights_that_add_up_to_zero_are_refused():
    with pytest.raises(ValueError, match="add up to zero"):
        allocate(Decimal("1.00"), {"a": 1, "b": -1})


def three_users_share_ten_centimes() -> Statement:
    """March closed for an account whose three jobs of three users used 2/3 core-hour each:
    one CPU line of 2.000 core-hours at 0.05 = 0.10 CHF, shared in thirds."""
    make_tariffs()
    account = make_account()
    for user in ("ana", "ben", "cem"):
        job = make_job(name=f"train-{user}")
        Job.objects.filter(pk=job.pk).update(user=user)
        add_usage(job, account, MARCH, cpu_core_seconds=2400.0)
    collect_hours(MARCH, APRIL)
    period, _ = close_period(date(2026, 3, 1), force=False, now=datetime(2026, 4, 2, tzinfo=UTC))
    return Statement.objects.get(period=period, account=account)


@pytest.mark.django_db
def test_the_split_per_user_adds_up_to_the_total_where_rounding_each_would_not():
    s = three_users_share_ten_centimes()
    assert s.total_chf == Decimal("0.10")
    content = statement_content(s, None)
    amounts = {u.user: u.amount_chf for u in content.users}
    assert amounts == {"ana": Decimal("0.04"), "ben": Decimal("0.03"), "cem": Decimal("0.03")}
    assert sum(amounts.values()) == s.total_chf
    # Each user's share rounded on its own loses the cent the rule gives out.
    naive = [(s.total_chf / 3).quantize(CENT, ROUND_HALF_UP) for _ in amounts]
    assert sum(naive) != s.total_chf
    text = pdf_text(statement_pdf(s))
    assert "Per user" in text
    assert "ana 1 0.04" in text and "ben 1 0.03" in text and "cem 1 0.03" in text


@pytest.mark.django_db
def test_jobs_without_a_user_are_the_unknown_users_and_the_split_still_adds_up():
    s = three_users_share_ten_centimes()
    Job.objects.filter(name="train-cem").update(user="")
    content = statement_content(s, None)
    assert [u.user for u in content.users] == ["ana", "ben", ""]  # the unknown user last
    assert sum(u.amount_chf for u in content.users) == s.total_chf
    assert "unknown user 1 0.03" in pdf_text(statement_pdf(s))


@pytest.mark.django_db
def test_no_split_is_shown_when_no_job_has_a_user():
    s = three_users_share_ten_centimes()
    Job.objects.update(user="")
    assert statement_content(s, None).users == []
    text = pdf_text(statement_pdf(s))
    assert "Per user" not in text and "unknown user" not in text
    assert "The 3 jobs that cost most" in text


@pytest.mark.django_db
def test_on_a_whole_site_each_statements_split_adds_up_to_its_total(tmp_path, settings):
    settings.KUBEMON_EXPORT_DIR = str(tmp_path)
    site = build_site(tmp_path)
    # Every third job has a user, the others none; a few users share a namespace.
    for i, job in enumerate(sorted(site.jobs.values(), key=lambda j: j.pk)):
        Job.objects.filter(pk=job.pk).update(user=["", "ana", "ben"][i % 3])
    statements = list(Statement.objects.select_related("period", "account"))
    assert len(statements) == 5
    for s in statements:
        content = statement_content(s, None)
        assert content.users, s
        assert sum(u.amount_chf for u in content.users) == s.total_chf, s
        assert sum(u.jobs for u in content.users) == len(
            {d.job_id for line in content.lines for d in line.job_rows}
        )
