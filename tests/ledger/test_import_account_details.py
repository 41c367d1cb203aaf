"""import_accounts' optional account columns: contacts, language, rate_class and budget_chf.

As `groups`: an absent column leaves existing accounts' field as it is; present, its cell sets
it, an empty cell to its empty value. Every row of an account (one per namespace mapping) must
give the same values. A bad value is refused naming its line and column, and nothing is
written. import_tariffs warns of a rate class no account has, import_accounts of an account's
class without tariffs: neither is an error.
"""

from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from billing.ledger.imports import import_accounts, import_tariffs
from billing.ledger.statements import refresh_statements
from billing.models import Account, NamespaceAccount, Period, Tariff
from tests.fixtures.billing_rows import MARCH, add_usage, collect_hours, core_hours, make_job
from tests.fixtures.billing_rows import make_tariffs as fixture_tariffs

COLUMNS = "account,receiver_type,receiver,cluster,namespace,valid_from,valid_until"
DETAILS = "contacts,language,rate_class,budget_chf"


def write(tmp_path, text: str, name="accounts.csv"):
    path = tmp_path / name
    path.write_text(text)
    return path


def run(tmp_path, text: str) -> str:
    out = StringIO()
    call_command("import_accounts", str(write(tmp_path, text)), stdout=out, stderr=out)
    return out.getvalue()


def details(name="lab-a") -> tuple:
    a = Account.objects.get(name=name)
    return a.contact_list(), a.language, a.rate_class, a.budget_chf


def test_the_columns_set_contacts_language_rate_class_and_budget(db, tmp_path):
    run(
        tmp_path,
        f"{COLUMNS},{DETAILS}\n"
        "lab-a,cctr,10421,epfl-1,lab-a,2026-01-01,, head@epfl.ch | admin@epfl.ch |,fr,U1,1500.5\n",
    )
    assert details() == (["head@epfl.ch", "admin@epfl.ch"], "fr", "U1", Decimal("1500.50"))


def test_absent_columns_leave_the_fields_and_empty_cells_clear_them(db, tmp_path):
    row = "lab-a,cctr,10421,epfl-1,lab-a,2026-01-01,"
    run(tmp_path, f"{COLUMNS},{DETAILS}\n{row},head@epfl.ch,fr,U1,900\n")
    assert "0 created, 0 changed" in run(tmp_path, f"{COLUMNS}\n{row}\n")
    assert details() == (["head@epfl.ch"], "fr", "U1", Decimal("900"))
    assert "1 changed" in run(tmp_path, f"{COLUMNS},{DETAILS}\n{row},,,,\n")
    # An empty language is the default, English; an empty budget, none.
    assert details() == ([], "en", "", None)


def test_importing_the_same_details_again_changes_nothing(db, tmp_path):
    text = f"{COLUMNS},{DETAILS}\nlab-a,cctr,10421,epfl-1,lab-a,2026-01-01,,a@epfl.ch,fr,U1,900\n"
    run(tmp_path, text)
    assert "0 created, 0 changed, 1 unchanged" in run(tmp_path, text)


@pytest.mark.parametrize(
    "cells, column",
    [
        ("not-an-address,en,,", "contacts"),
        ("a@epfl.ch|b@,en,,", "contacts"),
        (",de,,", "language"),
        (",en,U 1,", "rate_class"),
        (",en,ABCDEFGHIJKLMNOPQRSTU,", "rate_class"),
        (",en,,ten", "budget_chf"),
        (",en,,0", "budget_chf"),
        (",en,,-5", "budget_chf"),
        (",en,,10.005", "budget_chf"),
        (",en,,NaN", "budget_chf"),
        (",en,,12345678901", "budget_chf"),
    ],
)
def test_a_bad_value_is_refused_naming_line_and_column_and_nothing_is_written(
    db, tmp_path, cells, column
):
    text = (
        f"{COLUMNS},{DETAILS}\n"
        "lab-a,cctr,10421,epfl-1,lab-a,2026-01-01,,,en,,\n"
        f"lab-b,cctr,10422,epfl-1,lab-b,2026-01-01,,{cells}\n"
    )
    with pytest.raises(CommandError, match=f"line 3: {column}: .*nothing imported"):
        run(tmp_path, text)
    assert not Account.objects.exists()
    assert not NamespaceAccount.objects.exists()


@pytest.mark.parametrize(
    "first, second, column",
    [
        ("a@epfl.ch,en,U1,100", "b@epfl.ch,en,U1,100", "contacts"),
        ("a@epfl.ch,en,U1,100", "a@epfl.ch,fr,U1,100", "language"),
        ("a@epfl.ch,en,U1,100", "a@epfl.ch,en,U2,100", "rate_class"),
        ("a@epfl.ch,en,U1,100", "a@epfl.ch,en,U1,", "budget_chf"),
    ],
)
def test_the_rows_of_an_account_must_agree_on_its_columns(db, tmp_path, first, second, column):
    text = (
        f"{COLUMNS},{DETAILS}\n"
        f"lab-a,cctr,10421,epfl-1,lab-a,2026-01-01,,{first}\n"
        f"lab-a,cctr,10421,epfl-1,lab-a-dev,2026-01-01,,{second}\n"
    )
    with pytest.raises(CommandError, match=f"line 3: {column}: account lab-a has another"):
        run(tmp_path, text)
    assert not Account.objects.exists()


def test_rows_of_an_account_that_agree_import_once(db, tmp_path):
    text = (
        f"{COLUMNS},{DETAILS}\n"
        "lab-a,cctr,10421,epfl-1,lab-a,2026-01-01,,a@epfl.ch|b@epfl.ch,fr,U1,100\n"
        "lab-a,cctr,10421,epfl-1,lab-a-dev,2026-01-01,, a@epfl.ch |b@epfl.ch,fr,U1,100.00\n"
    )
    assert "3 created" in run(tmp_path, text)
    assert details() == (["a@epfl.ch", "b@epfl.ch"], "fr", "U1", Decimal("100"))


def test_a_tariff_of_a_class_no_account_has_is_a_warning(db, tmp_path):
    path = write(
        tmp_path,
        "resource,unit,price_chf,policy,valid_from,activity_type,rate_class\n"
        "cpu,core-hour,0.05,max,2026-01-01,,\n"
        "cpu,core-hour,0.02,max,2026-01-01,,U1\n",
        "tariffs.csv",
    )
    summary = import_tariffs(path)
    assert summary.created == 2
    assert summary.warnings == (
        "line 3: rate_class: no account has rate class U1; its tariffs price nobody yet",
    )
    Account.objects.create(name="lab-u", cost_center="10421", rate_class="U1")
    assert import_tariffs(path).warnings == ()


def test_an_account_of_a_class_without_tariffs_is_a_warning(db, tmp_path):
    path = write(tmp_path, f"{COLUMNS},rate_class\nlab-a,cctr,10421,epfl-1,lab-a,2026-01-01,,U1\n")
    assert import_accounts(path).warnings == (
        "line 2: rate_class: rate class U1 has no tariffs; account lab-a pays the tariffs "
        "without a class",
    )
    Tariff.objects.create(
        resource="cpu",
        unit="core-hour",
        price_chf=Decimal("0.02"),
        policy="max",
        valid_from=MARCH,
        rate_class="U1",
    )
    assert import_accounts(path).warnings == ()


def test_a_rate_class_changed_by_the_import_reprices_the_open_months_drafts(db, tmp_path):
    fixture_tariffs()
    Tariff.objects.create(
        resource="cpu",
        unit="core-hour",
        price_chf=Decimal("0.02"),
        policy="max",
        valid_from=MARCH,
        rate_class="U1",
    )
    run(tmp_path, f"{COLUMNS}\nlab-a,cctr,10421,epfl-1,lab-a,2026-01-01,\n")
    add_usage(make_job(), Account.objects.get(name="lab-a"), MARCH, **core_hours(10))
    collect_hours(MARCH, MARCH.replace(month=4))
    period = Period.objects.create(month=MARCH.date())
    (statement,) = refresh_statements(period, timezone.now())
    assert statement.total_chf == Decimal("0.50")
    run(tmp_path, f"{COLUMNS},rate_class\nlab-a,cctr,10421,epfl-1,lab-a,2026-01-01,,U1\n")
    statement.refresh_from_db()
    assert statement.total_chf == Decimal("0.20")
