"""The admin edits an account's contacts, language, rate class and budget, and a tariff's rate
class, refusing what the import refuses; a rate class changed there reprices the drafts."""

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.utils import timezone

from billing.ledger.statements import refresh_statements
from billing.models import Account, Period, Tariff
from tests.fixtures.billing_rows import MARCH, add_usage, collect_hours, core_hours, make_job

GOOD = {
    "name": "lab-a",
    "cost_center": "10421",
    "contacts": "head@epfl.ch|admin@epfl.ch",
    "language": "fr",
    "rate_class": "U1",
    "budget_chf": "1500.50",
}


@pytest.fixture
def lab_a(db):
    return Account.objects.create(name="lab-a", cost_center="10421")


def change(admin_client, account, **fields):
    return admin_client.post(f"/admin/billing/account/{account.pk}/change/", {**GOOD, **fields})


def test_the_admin_shows_and_sets_the_accounts_details(admin_client, lab_a):
    page = admin_client.get(f"/admin/billing/account/{lab_a.pk}/change/").content.decode()
    for field in ("contacts", "language", "rate_class", "budget_chf"):
        assert f'name="{field}"' in page
    assert change(admin_client, lab_a).status_code == 302
    lab_a.refresh_from_db()
    assert lab_a.contact_list() == ["head@epfl.ch", "admin@epfl.ch"]
    assert (lab_a.language, lab_a.rate_class, lab_a.budget_chf) == ("fr", "U1", Decimal("1500.5"))


@pytest.mark.parametrize(
    "field, value, said",
    [
        ("contacts", "head@epfl.ch|nobody", "is not an e-mail address"),
        ("language", "de", "Select a valid choice"),
        ("rate_class", "U 1", "a rate class is a short code"),
        ("budget_chf", "0", "greater than or equal to 0.01"),
        ("budget_chf", "10.005", "no more than 2 decimal places"),
        ("budget_chf", "ten", "Enter a number"),
    ],
)
def test_the_admin_refuses_a_bad_account_detail(admin_client, lab_a, field, value, said):
    answer = change(admin_client, lab_a, **{field: value})
    assert answer.status_code == 200  # the form again, with the error
    assert said in answer.content.decode()
    lab_a.refresh_from_db()
    assert (lab_a.contacts, lab_a.language, lab_a.rate_class, lab_a.budget_chf) == (
        "",
        "en",
        "",
        None,
    )


def tariff_form(**fields) -> dict:
    return {
        "resource": "cpu",
        "rate_class": "U1",
        "unit": "core-hour",
        "price_chf": "0.02",
        "policy": "max",
        "valid_from_0": "2026-03-01",
        "valid_from_1": "00:00:00",
        "activity_type": "",
        **fields,
    }


def test_the_admin_sets_a_tariffs_rate_class_and_refuses_a_bad_one(admin_client):
    answer = admin_client.post("/admin/billing/tariff/add/", tariff_form(rate_class="U 1"))
    assert answer.status_code == 200
    assert "a rate class is a short code" in answer.content.decode()
    assert not Tariff.objects.exists()
    assert admin_client.post("/admin/billing/tariff/add/", tariff_form()).status_code == 302
    assert Tariff.objects.get().rate_class == "U1"
    # A second U1 cpu tariff from the same time is refused; a class-less one is not.
    again = admin_client.post("/admin/billing/tariff/add/", tariff_form())
    assert again.status_code == 200 and "already exists" in again.content.decode()
    added = admin_client.post("/admin/billing/tariff/add/", tariff_form(rate_class=""))
    assert added.status_code == 302
    assert Tariff.objects.count() == 2


def test_a_rate_class_changed_in_the_admin_reprices_the_open_months_drafts(admin_client, lab_a):
    for rate_class, price in (("", "0.05"), ("U1", "0.02")):
        Tariff.objects.create(
            resource="cpu",
            unit="core-hour",
            price_chf=Decimal(price),
            policy="max",
            valid_from=datetime(2026, 1, 1, tzinfo=UTC),
            rate_class=rate_class,
        )
    add_usage(make_job(), lab_a, MARCH, **core_hours(10))
    collect_hours(MARCH, MARCH.replace(month=4))
    (statement,) = refresh_statements(Period.objects.create(month=MARCH.date()), timezone.now())
    assert statement.total_chf == Decimal("0.50")
    assert change(admin_client, lab_a).status_code == 302
    statement.refresh_from_db()
    assert statement.total_chf == Decimal("0.20")
