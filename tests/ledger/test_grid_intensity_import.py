"""import_grid_intensity: hour,gco2_per_kwh read by header name; every fault refused naming
its line and column with nothing written; a row replaces the stored figure of its hour."""

from datetime import UTC, datetime
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from billing.models import GridIntensity

H10 = datetime(2026, 3, 2, 10, tzinfo=UTC)
H11 = datetime(2026, 3, 2, 11, tzinfo=UTC)
H12 = datetime(2026, 3, 2, 12, tzinfo=UTC)


def run(tmp_path, text: str) -> str:
    path = tmp_path / "grid.csv"
    path.write_text(text)
    out = StringIO()
    call_command("import_grid_intensity", str(path), stdout=out, stderr=out)
    return out.getvalue()


def stored() -> dict:
    return dict(GridIntensity.objects.values_list("hour", "gco2_per_kwh"))


def test_a_good_file_stores_each_utc_hour_and_says_how_many(db, tmp_path):
    out = run(
        tmp_path,
        "hour,gco2_per_kwh\n"
        "2026-03-02T10:00:00Z,98.5\n"
        "2026-03-02T12:00:00+01:00,120\n"  # 11:00 UTC
        "2026-03-02T12:00:00+00:00,0\n",
    )
    assert stored() == {H10: 98.5, H11: 120.0, H12: 0.0}
    assert "3 hours added, 0 replaced, 0 unchanged" in out


def test_the_columns_may_come_in_either_order(db, tmp_path):
    run(tmp_path, "gco2_per_kwh,hour\n310,2026-03-02T10:00:00Z\n")
    assert stored() == {H10: 310.0}


def test_a_row_replaces_the_stored_figure_of_its_hour_and_leaves_other_hours(db, tmp_path):
    GridIntensity.objects.create(hour=H10, gco2_per_kwh=50)
    GridIntensity.objects.create(hour=H11, gco2_per_kwh=60)
    GridIntensity.objects.create(hour=H12, gco2_per_kwh=70)
    out = run(
        tmp_path,
        "hour,gco2_per_kwh\n2026-03-02T10:00:00Z,55\n2026-03-02T11:00:00Z,60\n"
        "2026-03-02T13:00:00Z,80\n",
    )
    assert stored() == {H10: 55.0, H11: 60.0, H12: 70.0, datetime(2026, 3, 2, 13, tzinfo=UTC): 80}
    assert "1 hours added, 1 replaced, 1 unchanged" in out


def test_importing_the_same_file_again_changes_nothing(db, tmp_path):
    text = "hour,gco2_per_kwh\n2026-03-02T10:00:00Z,98\n"
    run(tmp_path, text)
    assert "0 hours added, 0 replaced, 1 unchanged" in run(tmp_path, text)
    assert stored() == {H10: 98.0}


@pytest.mark.parametrize(
    ("row", "said"),
    [
        ("2026-03-02T10:00:00,98", "line 3: hour: '2026-03-02T10:00:00' needs a time zone"),
        ("2026-03-02,98", "line 3: hour: '2026-03-02' needs a time zone"),
        ("2026-03-02T10:30:00Z,98", "line 3: hour: '2026-03-02T10:30:00Z' is not the start"),
        ("2026-03-02T10:00:00+00:30,98", "line 3: hour: '2026-03-02T10:00:00+00:30' is not"),
        ("yesterday,98", "line 3: hour: 'yesterday' is not an ISO 8601 time"),
        ("2026-03-02T10:00:00Z,-1", "line 3: gco2_per_kwh: '-1' is not between 0 and 2000"),
        ("2026-03-02T10:00:00Z,2000.5", "line 3: gco2_per_kwh: '2000.5' is not between"),
        ("2026-03-02T10:00:00Z,nan", "line 3: gco2_per_kwh: 'nan' is not between"),
        ("2026-03-02T10:00:00Z,", "line 3: gco2_per_kwh: '' is not a number"),
        ("2026-03-02T10:00:00Z,98 g", "line 3: gco2_per_kwh: '98 g' is not a number"),
        ("2026-03-02T11:00:00+01:00,98", "line 3: hour: '2026-03-02T11:00:00+01:00' is already"),
        ("2026-03-02T12:00:00Z,98,1", "line 3: expected 2 fields"),
    ],
)
def test_a_bad_row_is_refused_naming_its_line_and_column_and_nothing_is_written(
    db, tmp_path, row, said
):
    GridIntensity.objects.create(hour=H12, gco2_per_kwh=70)
    with pytest.raises(CommandError, match="nothing imported") as refused:
        run(tmp_path, f"hour,gco2_per_kwh\n2026-03-02T10:00:00Z,98\n{row}\n")
    assert said in str(refused.value)
    assert stored() == {H12: 70.0}


@pytest.mark.parametrize(
    ("header", "said"),
    [
        ("hour", "line 1: the header lacks the required column gco2_per_kwh"),
        ("hour,gco2_per_kwh,zone", "line 1: the header has an unknown column 'zone'"),
        ("hour,hour,gco2_per_kwh", "line 1: the header has the column hour twice"),
    ],
)
def test_a_bad_header_is_refused_naming_the_column(db, tmp_path, header, said):
    with pytest.raises(CommandError, match=said):
        run(tmp_path, f"{header}\n")
    assert stored() == {}
