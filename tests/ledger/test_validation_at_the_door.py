"""Validation at the door: what month end would refuse is refused at import and in the admin.

Each rule is checked where finance enters data: import_tariffs and import_accounts (a
refused row names its line and column, and nothing is written) and the admin's forms; a
mapping change that would move an hour of a closed month is refused like a tariff change;
and `manage.py check` warns about stored rows that break the rules.
"""

import json
import os
import subprocess
import sys
from datetime import UTC, datetime
from decimal import Decimal
from io import StringIO

import pytest
from django.apps import apps
from django.core import checks
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.test.utils import CaptureQueriesContext

from billing import sap_fields
from billing.models import Account, Adjustment, Cluster, Job, NamespaceAccount, Period, Tariff
from billing.resources import RESOURCES
from tests import ROOT
from tests.fixtures.billing_rows import (
    APRIL,
    MARCH,
    add_usage,
    core_hours,
    make_account,
    make_job,
    make_tariffs,
    recollect,
)

TARIFFS = "resource,unit,price_chf,policy,valid_from,activity_type\n"
ACCOUNTS = "account,receiver_type,receiver,cluster,namespace,valid_from,valid_until\n"
# An hour of closed March that the `mapped` fixture bills.
BILLED_HOUR = datetime(2026, 3, 20, 9, tzinfo=UTC)


def run(command: str, path) -> str:
    out = StringIO()
    call_command(command, str(path), stdout=out)
    return out.getvalue()


def refused(command: str, tmp_path, text: str, match: str):
    """Import `text`; expect the refusal to match, and nothing written."""
    before = snapshot()
    f = tmp_path / "rows.csv"
    f.write_text(text)
    with pytest.raises(CommandError, match=match + ".*nothing imported"):
        run(command, f)
    assert snapshot() == before


def snapshot():
    return [
        list(model.objects.order_by("pk").values())
        for model in (Account, Cluster, NamespaceAccount, Tariff)
    ]


def close_march():
    Period.objects.create(month=MARCH.date(), status=Period.Status.CLOSED, closed_at=APRIL)


# Prices: within the column, and at most KUBEMON_MAX_PRICE_CHF.


@pytest.mark.parametrize("price", ["100000000", "1000.000001", "99999999.999999"])
def test_a_price_above_the_maximum_is_refused_at_import_naming_line_and_column(db, tmp_path, price):
    row = f"cpu,core-hour,{price},max,2026-01-01,K8SCPU\n"
    refused("import_tariffs", tmp_path, TARIFFS + row, "line 2: price_chf: .*KUBEMON_MAX_PRICE")


def test_the_maximum_price_is_a_setting_and_is_itself_accepted(db, tmp_path, settings):
    f = tmp_path / "t.csv"
    f.write_text(TARIFFS + "gpu,GPU-hour,1000,request,2026-01-01,\n")
    assert "1 created" in run("import_tariffs", f)
    settings.KUBEMON_MAX_PRICE_CHF = Decimal("50")
    refused(
        "import_tariffs",
        tmp_path,
        TARIFFS + "gpu,GPU-hour,50.01,request,2026-02-01,\n",
        r"line 2: price_chf: 50.01 is above KUBEMON_MAX_PRICE_CHF \(50 CHF",
    )


@pytest.mark.parametrize(
    ("price", "said"),
    [
        ("100000000", b"no more than 8 digits before the decimal point"),  # the column
        ("5000", b"5000 is above KUBEMON_MAX_PRICE_CHF (1000 CHF per unit)"),
    ],
)
def test_the_admin_refuses_a_price_above_the_maximum(admin_client, price, said):
    answer = admin_client.post("/admin/billing/tariff/add/", tariff_form(price_chf=price))
    assert answer.status_code == 200  # the form again, with the error
    assert said in answer.content
    assert not Tariff.objects.exists()


@pytest.mark.skipif(
    os.environ.get("DATABASE_URL", "").startswith("postgres"),
    reason="PostgreSQL refuses to store such a price at all; SQLite stored it",
)
def test_a_corrected_file_replaces_a_price_stored_beyond_its_column(db, tmp_path):
    make_tariffs()
    make_tariffs(valid_from=datetime(2026, 3, 15, tzinfo=UTC))
    Tariff.objects.filter(resource="cpu").update(price_chf=Decimal("100000000"))
    warned = [w for w in billing_warnings() if w.id == "billing.W002" and "price_chf" in w.msg]
    assert len(warned) == 2
    f = tmp_path / "t.csv"
    f.write_text(
        TARIFFS + "cpu,core-hour,0.05,max,2026-01-01,\n" + "cpu,core-hour,0.06,max,2026-03-15,\n"
    )
    assert "2 changed" in run("import_tariffs", f)
    prices = Tariff.objects.filter(resource="cpu").order_by("valid_from")
    assert [t.price_chf for t in prices] == [Decimal("0.05"), Decimal("0.06")]


def tariff_form(**fields) -> dict:
    return {
        "resource": "cpu",
        "unit": "core-hour",
        "price_chf": "0.05",
        "policy": "usage",
        "valid_from_0": "2026-01-15",
        "valid_from_1": "00:00:00",
        "activity_type": "",
        **fields,
    }


# Activity types and units: the settings' own.


def test_an_activity_type_the_settings_do_not_list_is_refused_at_import(db, tmp_path):
    refused(
        "import_tariffs",
        tmp_path,
        TARIFFS + "cpu,core-hour,0.05,max,2026-01-01,K8SXXX\n",
        "line 2: activity_type: 'K8SXXX' is not one of KUBEMON_SIFAC_ACTIVITY_TYPES",
    )


def test_the_admin_refuses_an_activity_type_the_settings_do_not_list(admin_client):
    answer = admin_client.post("/admin/billing/tariff/add/", tariff_form(activity_type="K8SXXX"))
    assert answer.status_code == 200
    assert b"is not one of KUBEMON_SIFAC_ACTIVITY_TYPES" in answer.content
    assert not Tariff.objects.exists()


def test_a_resource_without_an_activity_type_or_a_unit_in_the_settings_is_refused(
    db, tmp_path, settings
):
    types = json.loads(settings.KUBEMON_SIFAC_ACTIVITY_TYPES)
    del types["gpu"]
    settings.KUBEMON_SIFAC_ACTIVITY_TYPES = json.dumps(types)
    refused(
        "import_tariffs",
        tmp_path,
        TARIFFS + "gpu,GPU-hour,1.2,request,2026-01-01,\n",
        "line 2: activity_type: empty, and KUBEMON_SIFAC_ACTIVITY_TYPES has no gpu entry",
    )
    units = json.loads(settings.KUBEMON_SIFAC_UNITS)
    del units["storage"]
    settings.KUBEMON_SIFAC_UNITS = json.dumps(units)
    refused(
        "import_tariffs",
        tmp_path,
        TARIFFS + "storage,GiB-month,0.03,usage,2026-01-01,K8SSTO\n",
        "line 2: resource: KUBEMON_SIFAC_UNITS has no SAP unit for storage",
    )


# Account names and receivers: what SAP's item text and receiver fields carry.


def test_the_longest_account_name_is_what_the_longest_item_text_leaves():
    room = sap_fields.account_name_length(RESOURCES)
    late = datetime(2026, 3, 31, 23, tzinfo=UTC)
    texts = [
        sap_fields.item_text(MARCH.date(), "n" * room, resource, adjustment, late)
        for resource in RESOURCES
        for adjustment in (False, True)
    ]
    assert max(len(t) for t in texts) == sap_fields.LENGTH["SEG_TEXT"]
    # Derived, not fixed: a longer resource name leaves less room.
    assert sap_fields.account_name_length([*RESOURCES, "a_much_longer_resource"]) < room


def test_an_account_name_the_item_text_cannot_carry_is_refused_at_import(db, tmp_path):
    room = sap_fields.account_name_length(RESOURCES)
    row = "{},cctr,10421,epfl-1,lab-a,2026-01-01,\n"
    refused(
        "import_accounts",
        tmp_path,
        ACCOUNTS + row.format("n" * (room + 1)),
        f"line 2: account: .* longer than {room} characters.*SEG_TEXT",
    )
    refused(
        "import_accounts",
        tmp_path,
        ACCOUNTS + row.format("łab-ŵ"),
        "line 2: account: .*characters SAP cannot take",
    )
    f = tmp_path / "a.csv"
    f.write_text(ACCOUNTS + row.format("n" * room))
    run("import_accounts", f)
    assert Account.objects.get().name == "n" * room


def account_form(**fields) -> dict:
    return {
        "name": "lab-x",
        "description": "",
        "cost_center": "",
        "internal_order": "",
        "wbs_element": "",
        **fields,
    }


@pytest.mark.parametrize(
    ("fields", "said"),
    [
        ({"name": "n" * 40, "cost_center": "10421"}, b"longer than"),
        ({"name": "\u0142ab-\u0175", "cost_center": "10421"}, b"characters SAP cannot take"),
        ({"cost_center": "=1+1 x"}, b"is not a SAP cost centre (REC_CCTR)"),
        ({"internal_order": "order 1"}, b"is not a SAP internal order (REC_ORDER)"),
        ({"wbs_element": "-P.1"}, b"is not a SAP WBS element (REC_WBS_EL)"),
    ],
)
def test_the_admin_refuses_an_account_the_export_would_refuse(admin_client, fields, said):
    answer = admin_client.post("/admin/billing/account/add/", account_form(**fields))
    assert answer.status_code == 200
    assert said in answer.content
    assert not Account.objects.exists()


def test_a_receiver_sap_cannot_take_is_refused_at_import(db, tmp_path):
    refused(
        "import_accounts",
        tmp_path,
        ACCOUNTS + "lab-x,cctr,=1+1 x,epfl-1,lab-x,2026-01-01,\n",
        r"line 2: receiver: '=1\+1 x' is not a SAP cost centre",
    )


# Mappings: no hour of a closed month moves to another account.


@pytest.fixture
def mapped(db, tmp_path):
    """lab-a maps epfl-1/lab-a from January on, lab-b exists; March is closed, and billed
    lab-a's usage to lab-a, new-ns's to the account its namespace label named (CC 10999),
    and epfl-2/idle-ns's to nobody (unassigned)."""
    f = tmp_path / "a.csv"
    f.write_text(
        ACCOUNTS
        + "lab-a,cctr,10421,epfl-1,lab-a,2026-01-01,\n"
        + "lab-b,cctr,10422,epfl-1,lab-b,2026-01-01,\n"
    )
    run("import_accounts", f)
    mapping = NamespaceAccount.objects.get(namespace="lab-a")
    labelled = make_account("CC 10999", cost_center="10999")
    unassigned = Account.objects.create(name=Account.UNASSIGNED)
    for cluster, namespace, account in (
        ("epfl-1", "lab-a", mapping.account),
        ("epfl-1", "new-ns", labelled),
        ("epfl-2", "idle-ns", unassigned),
    ):
        job = make_job(namespace=namespace, cluster=cluster)
        add_usage(job, account, BILLED_HOUR, **core_hours(1))
    close_march()
    return mapping


def test_moving_a_mapping_to_another_account_over_a_closed_month_is_refused_at_import(
    mapped, tmp_path
):
    refused(
        "import_accounts",
        tmp_path,
        ACCOUNTS + "lab-b,cctr,10422,epfl-1,lab-a,2026-01-01,\n",
        "line 2: account: the change would move billed hours of closed period 2026-03 of "
        "epfl-1/lab-a",
    )


@pytest.mark.parametrize(
    ("row", "field"),
    [
        ("lab-b,cctr,10422,epfl-1,new-ns,2026-02-01,", "valid_from"),
        ("lab-a,cctr,10421,epfl-1,lab-a,2026-01-01,2026-03-15", "valid_until"),
    ],
)
def test_a_mapping_that_would_remap_closed_hours_is_refused_at_import(mapped, tmp_path, row, field):
    refused("import_accounts", tmp_path, ACCOUNTS + row + "\n", f"line 2: {field}: .*2026-03")


def test_a_closed_months_unassigned_usage_may_be_mapped_and_becomes_adjustments(mapped, tmp_path):
    f = tmp_path / "a.csv"
    f.write_text(ACCOUNTS + "lab-b,cctr,10422,epfl-2,idle-ns,2026-03-01,\n")
    assert "1 created" in run("import_accounts", f)
    # Collecting the hour again bills it to lab-b in April, taken from unassigned.
    make_tariffs()
    recollect(Job.objects.get(namespace="idle-ns"), BILLED_HOUR, 3600.0)
    moved = {a.account.name: a.quantity for a in Adjustment.objects.select_related("account")}
    assert moved == {Account.UNASSIGNED: Decimal(-1), "lab-b": Decimal(1)}
    assert {a.period.month for a in Adjustment.objects.all()} == {APRIL.date()}


def test_a_mapping_may_end_or_start_after_the_closed_months(mapped, tmp_path):
    f = tmp_path / "a.csv"
    f.write_text(
        ACCOUNTS
        + "lab-a,cctr,10421,epfl-1,lab-a,2026-01-01,2026-05-01\n"
        + "lab-b,cctr,10422,epfl-1,lab-a,2026-05-01,\n"
    )
    assert "1 created, 1 changed" in run("import_accounts", f)
    assert NamespaceAccount.objects.get(namespace="lab-a", valid_from__month=5).account.name == (
        "lab-b"
    )


def mapping_form(mapping, **fields) -> dict:
    return {
        "cluster": mapping.cluster_id,
        "namespace": mapping.namespace,
        "account": mapping.account_id,
        "valid_from_0": f"{mapping.valid_from:%Y-%m-%d}",
        "valid_from_1": "12:00:00",
        "valid_until_0": "",
        "valid_until_1": "",
        **fields,
    }


def test_the_admin_refuses_a_mapping_change_that_moves_closed_hours(mapped, admin_client):
    lab_b = Account.objects.get(name="lab-b")
    url = f"/admin/billing/namespaceaccount/{mapped.pk}/change/"
    answer = admin_client.post(url, mapping_form(mapped, account=lab_b.pk))
    assert answer.status_code == 200
    assert b"closed period 2026-03" in answer.content
    new = mapping_form(mapped, namespace="new-ns", valid_from_0="2026-03-10")
    answer = admin_client.post("/admin/billing/namespaceaccount/add/", new)
    assert answer.status_code == 200
    assert b"closed period 2026-03" in answer.content
    delete = admin_client.post(f"/admin/billing/namespaceaccount/{mapped.pk}/delete/", {"post": 1})
    assert delete.status_code == 403
    admin_client.post(
        "/admin/billing/namespaceaccount/",
        {"action": "delete_selected", "_selected_action": [mapped.pk], "post": "yes"},
    )
    assert NamespaceAccount.objects.get(pk=mapped.pk).account.name == "lab-a"
    assert not NamespaceAccount.objects.filter(namespace="new-ns").exists()
    later = mapping_form(mapped, namespace="new-ns", valid_from_0="2026-04-10")
    assert admin_client.post("/admin/billing/namespaceaccount/add/", later).status_code == 302


def test_the_admin_refuses_to_map_a_namespace_to_unassigned(db, admin_client):
    cluster = Cluster.objects.create(name="epfl-1")
    unassigned = Account.objects.create(name=Account.UNASSIGNED)
    form = mapping_form(
        NamespaceAccount(cluster=cluster, namespace="lab-z", account=unassigned, valid_from=APRIL)
    )
    answer = admin_client.post("/admin/billing/namespaceaccount/add/", form)
    assert answer.status_code == 200
    assert b"is not an account a namespace can be mapped to" in answer.content


# manage.py check: stored rows that break the rules.


def billing_warnings() -> list:
    return [w for w in checks.run_checks() if w.id.startswith("billing.")]


def test_check_warns_about_each_stored_row_the_rules_refuse_naming_row_and_field(db):
    Account.objects.create(name="lab-\u0142", cost_center="=1+1 x")
    make_tariffs()
    Tariff.objects.filter(resource="gpu").update(activity_type="NOPE")
    unassigned = Account.objects.create(name=Account.UNASSIGNED)
    NamespaceAccount.objects.create(
        cluster=Cluster.objects.create(name="epfl-1"),
        namespace="stray",
        account=unassigned,
        valid_from=MARCH,
    )
    said = {(w.id, w.msg.split(": ")[0], w.msg.split(": ")[1]) for w in billing_warnings()}
    account = Account.objects.get(name="lab-\u0142")
    gpu = Tariff.objects.get(resource="gpu")
    mapping = NamespaceAccount.objects.get()
    assert said == {
        ("billing.W001", f"account 'lab-\u0142' (id {account.pk})", "name"),
        ("billing.W001", f"account 'lab-\u0142' (id {account.pk})", "cost_center"),
        ("billing.W002", f"tariff gpu from 2026-01-01 00:00Z (id {gpu.pk})", "activity_type"),
        ("billing.W003", f"mapping epfl-1/stray from 2026-03-01 (id {mapping.pk})", "account"),
    }
    err = StringIO()
    call_command("check", stderr=err, stdout=StringIO())
    assert "billing.W001" in err.getvalue() and "lab-\u0142" in err.getvalue()


def test_check_is_quiet_about_good_rows_and_does_not_query_when_billing_is_not_checked(db):
    make_tariffs()
    make_account()
    assert billing_warnings() == []
    with CaptureQueriesContext(connection) as queries:
        checks.run_checks(app_configs=[apps.get_app_config("web")])
    assert len(queries) == 0


@pytest.mark.parametrize("exists", [False, True], ids=["no database file", "no tables"])
def test_check_before_migrate_neither_crashes_nor_creates_the_database(tmp_path, exists):
    database = tmp_path / "fresh.sqlite3"
    if exists:
        database.touch()
    done = subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=ROOT,
        env={**os.environ, "DATABASE_URL": f"sqlite:///{database}"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "billing." not in done.stdout + done.stderr
    assert database.exists() == exists
    if exists:
        assert database.stat().st_size == 0
