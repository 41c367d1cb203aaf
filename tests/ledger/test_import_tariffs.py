"""import_tariffs: a whole CSV checked first, a bad row refused by line, re-import a no-op."""

from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from billing.models import Tariff
from tests import DATA

HEADER = "resource,unit,price_chf,policy,valid_from,activity_type\n"
GOOD = "cpu,core-hour,0.05,max,2026-01-01,K8SCPU\n"


def run(path) -> str:
    out = StringIO()
    call_command("import_tariffs", str(path), stdout=out)
    return out.getvalue()


def test_the_example_file_imports_every_resource(db):
    assert "8 created" in run(DATA / "tariffs.csv")
    assert Tariff.objects.count() == 8
    cpu = Tariff.objects.filter(resource="cpu").order_by("valid_from")
    assert [t.price_chf for t in cpu] == [Decimal("0.05"), Decimal("0.06")]
    assert cpu[1].valid_from.isoformat() == "2026-03-15T00:00:00+00:00"


def test_importing_the_same_file_again_changes_nothing(db):
    run(DATA / "tariffs.csv")
    before = list(Tariff.objects.values())
    assert "0 created, 0 changed, 8 unchanged" in run(DATA / "tariffs.csv")
    assert list(Tariff.objects.values()) == before


def test_a_new_price_from_the_same_date_updates_the_tariff(db, tmp_path):
    run(DATA / "tariffs.csv")
    f = tmp_path / "t.csv"
    f.write_text(HEADER + "cpu,core-hour,0.07,max,2026-01-01,K8SCPU\n")
    assert "1 changed" in run(f)
    assert Tariff.objects.get(resource="cpu", valid_from__month=1).price_chf == Decimal("0.07")


@pytest.mark.parametrize(
    ("row", "field"),
    [
        ("disk,GiB,1,usage,2026-01-01,", "resource"),
        ("cpu,GiB-hour,1,usage,2026-01-01,", "unit"),
        ("gpu,GPU-hour,1,max,2026-01-01,", "policy"),
        ("network_tx,GiB,1,request,2026-01-01,", "policy"),
        ("cpu,core-hour,abc,usage,2026-01-01,", "price_chf"),
        ("cpu,core-hour,-1,usage,2026-01-01,", "price_chf"),
        ("cpu,core-hour,0.1234567,usage,2026-01-01,", "price_chf"),
        ("cpu,core-hour,1,usage,2026-02-30,", "valid_from"),
        ("cpu,core-hour,1,usage,2026-01-01T10:30:00Z,", "valid_from"),
        ("cpu,core-hour,1,usage,2026-01-01T10:00:00,", "valid_from"),
        ("cpu,core-hour,1,usage,2026-01-01,k8s cpu", "activity_type"),
        ("cpu,core-hour,1,usage,2026-01-01,TOOLONG", "activity_type"),
        ("cpu,core-hour,1,usage", "expected 6 fields"),
    ],
)
def test_a_bad_row_is_refused_with_its_line_and_field_and_nothing_is_written(
    db, tmp_path, row, field
):
    f = tmp_path / "t.csv"
    f.write_text(HEADER + GOOD + row + "\n")
    with pytest.raises(CommandError, match=f"line 3: {field}.*nothing imported"):
        run(f)
    assert not Tariff.objects.exists()


def test_two_tariffs_of_a_resource_from_the_same_time_are_refused(db, tmp_path):
    f = tmp_path / "t.csv"
    f.write_text(HEADER + GOOD + GOOD)
    with pytest.raises(CommandError, match="line 3: valid_from"):
        run(f)


def test_a_wrong_header_is_refused(db, tmp_path):
    f = tmp_path / "t.csv"
    f.write_text("resource,unit,price,policy,valid_from,activity_type\n" + GOOD)
    with pytest.raises(CommandError, match="line 1: the header has an unknown column .price."):
        run(f)
