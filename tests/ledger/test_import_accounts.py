"""import_accounts: accounts, receivers and namespace mappings from a CSV, all or nothing."""

from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from billing.models import Account, Cluster, NamespaceAccount
from tests import DATA

HEADER = "account,receiver_type,receiver,cluster,namespace,valid_from,valid_until\n"
GOOD = "lab-a,cctr,10421,epfl-1,lab-a,2026-01-01,\n"


def run(path) -> str:
    out = StringIO()
    call_command("import_accounts", str(path), stdout=out)
    return out.getvalue()


def snapshot():
    return (
        list(Account.objects.order_by("pk").values()),
        list(NamespaceAccount.objects.order_by("pk").values()),
        list(Cluster.objects.order_by("pk").values()),
    )


def test_the_example_file_creates_accounts_receivers_and_mappings(db):
    run(DATA / "accounts.csv")
    assert Account.objects.get(name="lab-a").receiver == ("cctr", "10421")
    assert Account.objects.get(name="lab-b").receiver == ("order", "500000123")
    assert Account.objects.get(name="lab-c").receiver == ("wbs", "P-1234.01")
    assert NamespaceAccount.objects.count() == 5
    dev = NamespaceAccount.objects.get(namespace="lab-a-dev")
    assert dev.valid_until.isoformat() == "2026-06-01T00:00:00+00:00"
    assert NamespaceAccount.objects.get(namespace="lab-a").valid_until is None
    assert set(Cluster.objects.values_list("name", flat=True)) == {"epfl-1", "docker-lab"}


def test_importing_the_same_file_again_changes_nothing(db):
    run(DATA / "accounts.csv")
    before = snapshot()
    assert "0 created, 0 changed" in run(DATA / "accounts.csv")
    assert snapshot() == before


def test_a_new_receiver_replaces_the_old_one(db, tmp_path):
    run(DATA / "accounts.csv")
    f = tmp_path / "a.csv"
    f.write_text(HEADER + "lab-a,wbs,P-9.1,epfl-1,lab-a,2026-01-01,\n")
    run(f)
    assert Account.objects.get(name="lab-a").receiver == ("wbs", "P-9.1")


@pytest.mark.parametrize(
    ("row", "field"),
    [
        (",cctr,10421,epfl-1,lab-x,2026-01-01,", "account"),
        ("unassigned,cctr,10421,epfl-1,lab-x,2026-01-01,", "account"),
        ("lab-x,fund,10421,epfl-1,lab-x,2026-01-01,", "receiver_type"),
        ("lab-x,cctr,12345678901,epfl-1,lab-x,2026-01-01,", "receiver"),
        ("lab-x,order,1234567890123,epfl-1,lab-x,2026-01-01,", "receiver"),
        ("lab-x,cctr,,epfl-1,lab-x,2026-01-01,", "receiver"),
        ("lab-x,cctr,10422,,lab-x,2026-01-01,", "cluster"),
        ("lab-x,cctr,10422,epfl-1,Lab_X,2026-01-01,", "namespace"),
        ("lab-x,cctr,10422,epfl-1,lab-x,01.01.2026,", "valid_from"),
        ("lab-x,cctr,10422,epfl-1,lab-x,2026-01-01,2025-01-01", "valid_until"),
        ("lab-a,cctr,99999,epfl-1,lab-x,2026-01-01,", "receiver"),
        ("lab-y,cctr,10423,epfl-1,lab-a,2026-03-01,", "valid_from"),
    ],
)
def test_a_bad_row_is_refused_with_its_line_and_field_and_nothing_is_written(
    db, tmp_path, row, field
):
    f = tmp_path / "a.csv"
    f.write_text(HEADER + GOOD + row + "\n")
    with pytest.raises(CommandError, match=f"line 3: {field}.*nothing imported"):
        run(f)
    assert snapshot() == ([], [], [])


def test_a_mapping_that_overlaps_one_in_the_database_is_refused(db, tmp_path):
    run(DATA / "accounts.csv")
    before = snapshot()
    f = tmp_path / "a.csv"
    f.write_text(
        HEADER
        + "lab-z,cctr,777,epfl-1,new-ns,2026-01-01,\n"
        + "lab-z,cctr,777,epfl-1,lab-b,2026-05-01,\n"
    )
    with pytest.raises(CommandError, match="line 3: valid_from: epfl-1/lab-b is already mapped"):
        run(f)
    assert snapshot() == before
