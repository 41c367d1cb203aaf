"""Money and quantities on the pages: rounded half-up, grouped per language."""

from decimal import Decimal

from django.utils import translation

from web.charts import chart
from web.templatetags.formatting import amount, chf, duration, percent


def test_amounts_are_rounded_half_up_not_cut():
    with translation.override("en"):
        assert chf(Decimal("0.125")) == "0.13"
        assert chf(Decimal("1234.5")) == "1,234.50"
        assert amount(2.675, 2) == "2.68"
        assert amount(1.2395, 3) == "1.240"
        assert percent(0.5999) == "60 %"


def test_swiss_french_groups_thousands_with_an_apostrophe():
    with translation.override("fr"):
        assert chf(Decimal("1234567.891")) == "1'234'567.89"
        assert amount(2664.0, 1) == "2'664.0"


def test_missing_values_show_as_nothing_or_a_dash():
    assert chf(None) == "" and amount("", 2) == "" and percent(None) == "–"


def test_durations_read_in_days_hours_and_minutes():
    from datetime import timedelta

    assert duration(timedelta(days=2, hours=3, minutes=5)) == "2 d 3 h"
    assert duration(timedelta(hours=1, minutes=20)) == "1 h 20 min"
    assert duration(timedelta(minutes=5, seconds=59)) == "5 min"
    assert duration(-timedelta(minutes=90)) == "-1 h 30 min"
    assert duration(None) == "–"


def test_a_chart_keeps_gaps_and_drops_empty_series():
    spec = chart("c", "t", ["a", "b", "c"], {"x": [1, None, 3], "empty": [0, None, 0]})
    assert [d["label"] for d in spec["datasets"]] == ["x"]
    assert spec["datasets"][0]["data"] == [1.0, None, 3.0]
    assert spec["data_id"] == "c-data"
