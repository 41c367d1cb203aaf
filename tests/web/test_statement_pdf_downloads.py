"""The PDF statement downloaded from the statement page and from the API.

Only a closed month's statement has a PDF (an open month's is a draft: no link, and a 404
that says why). Access is the statement page's: finance every account's, a lab member only
their own accounts' (another's is a 404), ops none (403). A download only reads.
"""

import re
from decimal import Decimal

import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from drf_spectacular.generators import SchemaGenerator

from billing.models import Job, Statement
from kubemon.number_formats import chf
from tests.fixtures.api_site import get, site_fixture  # noqa: F401
from tests.fixtures.pdf_text import pdf_text
from tests.fixtures.site_data import NOVEMBER, OCTOBER

pytestmark = pytest.mark.django_db

WRITES = ("INSERT", "UPDATE", "DELETE")


def statement(month, account: str) -> Statement:
    return Statement.objects.get(period__month=month.date(), account__name=account)


def page_get(username: str, url: str):
    """GET as the user; fail if the request wrote anything."""
    client = Client()
    client.force_login(User.objects.get(username=username))
    with CaptureQueriesContext(connection) as queries:
        answer = client.get(url)
    assert [q["sql"] for q in queries if q["sql"].lstrip().upper().startswith(WRITES)] == []
    return answer


def pdf_url(s: Statement) -> str:
    return reverse("statement-pdf", args=[s.pk])


def api_pdf_url(s: Statement) -> str:
    return f"/api/v1/statements/{s.pk}/pdf"


@pytest.mark.parametrize(
    ("user", "account"), [("fiona", "lab-a"), ("fiona", "lab-b"), ("alice", "lab-a")]
)
def test_finance_and_the_accounts_member_download_the_pdf_of_a_closed_month(site, user, account):
    s = statement(OCTOBER, account)
    answer = page_get(user, pdf_url(s))
    assert answer.status_code == 200
    assert answer["Content-Type"] == "application/pdf"
    assert answer["Content-Disposition"] == (
        f'attachment; filename="statement-2026-10-{account}.pdf"'
    )
    assert f"CHF {chf(s.total_chf)}" in pdf_text(answer.content)


def test_a_member_gets_404_for_another_accounts_pdf(site):
    assert page_get("alice", pdf_url(statement(OCTOBER, "lab-b"))).status_code == 404


def test_ops_get_403_since_they_do_not_handle_bills(site):
    assert page_get("oscar", pdf_url(statement(OCTOBER, "lab-a"))).status_code == 403


def test_an_anonymous_visitor_is_sent_to_the_login_page(site):
    answer = Client().get(pdf_url(statement(OCTOBER, "lab-a")))
    assert answer.status_code == 302 and answer["Location"].startswith(reverse("login"))


def test_an_open_months_statement_has_no_pdf_and_says_why(site):
    draft = statement(NOVEMBER, "lab-a")
    answer = page_get("fiona", pdf_url(draft))
    assert answer.status_code == 404
    assert answer.content.decode() == (
        "The statement of lab-a for 2026-11 is a draft: the month is not closed yet, and only "
        "a closed month's statement has a PDF."
    )
    assert page_get("fiona", reverse("statement-pdf", args=[999999])).status_code == 404


def test_the_statement_page_links_the_pdf_of_a_closed_month_only(site):
    closed = statement(OCTOBER, "lab-a")
    text = page_get("alice", reverse("statement", args=[closed.pk])).content.decode()
    assert f'href="{pdf_url(closed)}"' in text
    draft = statement(NOVEMBER, "lab-a")
    text = page_get("alice", reverse("statement", args=[draft.pk])).content.decode()
    assert "data-pdf" not in text and pdf_url(draft) not in text


def test_a_french_account_is_downloaded_in_french_whatever_the_pages_language(site):
    s = statement(OCTOBER, "lab-b")
    s.account.language = "fr"
    s.account.save(update_fields=["language"])
    client = Client()
    client.force_login(User.objects.get(username="fiona"))
    answer = client.get(pdf_url(s), headers={"accept-language": "en"})
    assert "Décompte pour octobre 2026" in pdf_text(answer.content)


@pytest.mark.parametrize(("user", "account"), [("fiona", "lab-b"), ("alice", "lab-a")])
def test_the_api_gives_the_same_pdf_to_finance_and_the_member(site, user, account):
    s = statement(OCTOBER, account)
    answer = get(user, api_pdf_url(s))
    assert answer.status_code == 200
    assert answer["Content-Type"] == "application/pdf"
    assert answer["Content-Disposition"] == (
        f'attachment; filename="statement-2026-10-{account}.pdf"'
    )
    assert f"CHF {chf(s.total_chf)}" in pdf_text(answer.content)


def test_the_api_refuses_as_the_page_does_in_json(site):
    other = get("alice", api_pdf_url(statement(OCTOBER, "lab-b")))
    assert other.status_code == 404 and other.json() == {"detail": "no such statement"}
    assert get("oscar", api_pdf_url(statement(OCTOBER, "lab-a"))).status_code == 403
    assert get(None, api_pdf_url(statement(OCTOBER, "lab-a"))).status_code == 401
    draft = get("fiona", api_pdf_url(statement(NOVEMBER, "lab-a")))
    assert draft.status_code == 404
    assert "is a draft: 2026-11 is not closed" in draft.json()["detail"]


def test_the_api_schema_documents_the_pdf_endpoint():
    spec = SchemaGenerator().get_schema(request=None, public=True)
    operation = spec["paths"]["/api/v1/statements/{id}/pdf"]["get"]
    assert operation["operationId"] == "statement_pdf"
    assert operation["responses"]["200"]["content"]["application/pdf"]["schema"] == {
        "type": "string",
        "format": "binary",
    }
    assert {"401", "403", "404"} <= set(operation["responses"])


def test_the_page_shows_the_pdfs_jobs_that_cost_most_split_per_user_and_efficiency(site):
    Job.objects.filter(namespace="bio-lab").update(user="ana")
    s = statement(OCTOBER, "lab-a")
    page = page_get("alice", reverse("statement", args=[s.pk])).content.decode()
    pdf = pdf_text(page_get("alice", pdf_url(s)).content)
    job_amounts = re.findall(r'data-job-amount="([-\d.]+)"', page)
    user_amounts = re.findall(r'data-user-amount="([-\d.]+)"', page)
    assert len(job_amounts) == 10
    assert sum(Decimal(a) for a in user_amounts) == s.total_chf
    assert len(user_amounts) == 2  # ana, and the unknown user of bio-ci's jobs
    for amount in job_amounts + user_amounts:
        assert chf(Decimal(amount)) in pdf
    assert "unknown user" in page and "unknown user" in pdf
    assert "60 %" in page and "60 %" in pdf  # memory: the site's jobs use 60 % of requests
