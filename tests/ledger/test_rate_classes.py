"""Rate classes: a tariff with a rate_class prices the accounts of that class, the one without
all others (billing/ledger/pricing.py).

For an account of class C and a resource R at hour h, the tariff in force is C's latest tariff
of R from before h, else the latest class-less one. Statements, adjustments, the closed-month
checks and the SIFAC export all go by that rule; the pages' and the API's are in
tests/web/test_rate_class_costs.py.
"""

import csv
import io
from collections import defaultdict
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from billing.ledger.costs import tariff_segments
from billing.ledger.pricing import Tariffs, tariffs_for
from billing.ledger.statements import refresh_statements
from billing.models import Adjustment, ExportBatch, Period, Statement, StatementLine, Tariff
from tests.fixtures.billing_rows import (
    APRIL,
    HOUR,
    MARCH,
    add_usage,
    collect_hours,
    core_hours,
    gib_hours,
    make_account,
    make_job,
    make_tariffs,
    recollect,
)

MID_MARCH = datetime(2026, 3, 15, tzinfo=UTC)


def cpu_tariff(price: str, start=datetime(2026, 1, 1, tzinfo=UTC), rate_class=""):
    return Tariff.objects.create(
        resource="cpu",
        unit="core-hour",
        price_chf=Decimal(price),
        policy="max",
        valid_from=start,
        rate_class=rate_class,
    )


def account_with_usage(name: str, rate_class: str = "", hours=(MARCH,), cost_center="10421"):
    """An account of `rate_class` whose job used 10 core-hours and 100 GiB-hours each hour."""
    account = make_account(name, cost_center=cost_center)
    account.rate_class = rate_class
    account.save()
    job = make_job(f"job-{name}", namespace=name)
    for hour in hours:
        add_usage(job, account, hour, **core_hours(10), **gib_hours(100))
    return account


def draft() -> dict[str, Statement]:
    period, _ = Period.objects.get_or_create(month=MARCH.date())
    return {s.account.name: s for s in refresh_statements(period, timezone.now())}


def lines(statement, resource: str) -> list[tuple]:
    return [
        (line.first_hour, line.end_hour, line.quantity, line.unit_price, line.amount_chf)
        for line in statement.lines.filter(resource=resource).order_by("first_hour")
    ]


@pytest.fixture
def march(db):
    make_tariffs()  # class-less: cpu 0.05 per core-hour, memory 0.005 per GiB-hour, ...
    collect_hours(MARCH, APRIL)


def test_a_rate_class_tariff_prices_only_its_class(march):
    cpu_tariff("0.02", rate_class="U1")
    account_with_usage("lab-a")
    account_with_usage("lab-u", "U1")
    statements = draft()
    # The same 10 core-hours: 0.50 CHF at the class-less price, 0.20 at U1's.
    assert lines(statements["lab-a"], "cpu") == [
        (MARCH, APRIL, Decimal("10.000"), Decimal("0.05"), Decimal("0.50"))
    ]
    assert lines(statements["lab-u"], "cpu") == [
        (MARCH, APRIL, Decimal("10.000"), Decimal("0.02"), Decimal("0.20"))
    ]
    # U1 has no memory tariff: both pay the class-less one, 100 GiB-hours at 0.005.
    assert lines(statements["lab-u"], "memory") == lines(statements["lab-a"], "memory")
    assert statements["lab-a"].total_chf == Decimal("1.00")
    assert statements["lab-u"].total_chf == Decimal("0.70")


def test_an_account_of_a_class_without_tariffs_pays_the_class_less_ones(march):
    cpu_tariff("0.02", rate_class="U1")
    account_with_usage("lab-a")
    account_with_usage("lab-z", "U9")
    statements = draft()
    assert lines(statements["lab-z"], "cpu") == lines(statements["lab-a"], "cpu")
    assert statements["lab-z"].total_chf == statements["lab-a"].total_chf == Decimal("1.00")
    assert not StatementLine.objects.filter(tariff__rate_class="U1").exists()


def test_a_class_tariff_starting_mid_month_splits_its_class_lines_only(march):
    cpu_tariff("0.02", start=MID_MARCH, rate_class="U1")
    # A class-less change after U1's own tariff began does not reach U1's accounts.
    cpu_tariff("0.08", start=datetime(2026, 3, 20, tzinfo=UTC))
    both = (MARCH + 24 * HOUR, datetime(2026, 3, 25, tzinfo=UTC))
    account_with_usage("lab-a", hours=both)
    account_with_usage("lab-u", "U1", hours=both)
    statements = draft()
    assert lines(statements["lab-u"], "cpu") == [
        (MARCH, MID_MARCH, Decimal("10.000"), Decimal("0.05"), Decimal("0.50")),
        (MID_MARCH, APRIL, Decimal("10.000"), Decimal("0.02"), Decimal("0.20")),
    ]
    march_20 = datetime(2026, 3, 20, tzinfo=UTC)
    assert lines(statements["lab-a"], "cpu") == [
        (MARCH, march_20, Decimal("10.000"), Decimal("0.05"), Decimal("0.50")),
        (march_20, APRIL, Decimal("10.000"), Decimal("0.08"), Decimal("0.80")),
    ]


def test_the_schedule_of_a_class_is_the_class_less_one_until_its_first_own_tariff():
    def tariff(pk, start, rate_class=""):
        return Tariff(pk=pk, resource="cpu", valid_from=start, rate_class=rate_class)

    feb, march_20 = datetime(2026, 2, 1, tzinfo=UTC), datetime(2026, 3, 20, tzinfo=UTC)
    every = Tariffs(
        [tariff(1, datetime(2026, 1, 1, tzinfo=UTC)), tariff(2, feb), tariff(3, march_20)]
        + [tariff(4, MID_MARCH, "U1"), tariff(5, APRIL, "U2")]
    )
    u1 = every.for_class("U1")
    assert [(h.day, u1.at("cpu", h).pk) for h in (MARCH, MID_MARCH, march_20)] == [
        (1, 2),
        (15, 4),
        (20, 4),
    ]
    assert u1.end_of(u1.at("cpu", MARCH)) == MID_MARCH
    assert every.for_class("U9").starts == every.starts == every.for_class("").starts
    assert every.for_class("U2").at("cpu", march_20).pk == 3
    # Pages cut their stretches where any class's price can change.
    assert tariff_segments(MARCH, APRIL, u1) == [(MARCH, MID_MARCH), (MID_MARCH, APRIL)]
    assert tariff_segments(MARCH, APRIL, *every.every_class()) == [
        (MARCH, MID_MARCH),
        (MID_MARCH, march_20),
        (march_20, APRIL),
    ]


def test_tariffs_for_an_account_are_those_of_its_class(march):
    cpu_tariff("0.02", rate_class="U1")
    plain, u1 = make_account("lab-a"), make_account("lab-u")
    u1.rate_class = "U1"
    assert tariffs_for(u1).at("cpu", MARCH).price_chf == Decimal("0.02")
    assert tariffs_for(plain).at("cpu", MARCH).price_chf == Decimal("0.05")


def test_a_late_hour_of_a_closed_month_is_adjusted_at_its_accounts_class_tariff(march):
    cpu_tariff("0.02", rate_class="U1")
    account = account_with_usage("lab-u", "U1", cost_center="10421")
    call_command("close_period", "2026-03")
    job = account.hourlyusage_set.get().job
    recollect(job, MARCH, cpu_core_seconds=12 * 3600.0, label="10421")
    (adjustment,) = Adjustment.objects.filter(resource="cpu")
    assert adjustment.tariff.rate_class == "U1"
    assert adjustment.quantity == Decimal("2")


def import_cpu_tariff(tmp_path, start: str, rate_class: str):
    path = tmp_path / f"cpu-{start}-{rate_class}.csv"
    path.write_text(
        "resource,unit,price_chf,policy,valid_from,activity_type,rate_class\n"
        f"cpu,core-hour,0.02,max,{start},,{rate_class}\n"
    )
    call_command("import_tariffs", str(path), stdout=io.StringIO(), stderr=io.StringIO())


@pytest.mark.parametrize(
    "start, rate_class, refused",
    [
        # The class-less tariff of 15 February does not end a U1 tariff of 1 February,
        # which would then price closed March for U1's accounts.
        ("2026-02-01", "U1", True),
        ("2026-03-15", "U1", True),
        ("2026-04-01", "U1", False),
        ("2026-03-15", "", True),
        ("2026-04-01", "", False),
    ],
)
def test_a_tariff_may_not_price_a_closed_month_until_the_next_of_its_own_class(
    march, tmp_path, start, rate_class, refused
):
    cpu_tariff("0.06", start=datetime(2026, 2, 15, tzinfo=UTC))
    account_with_usage("lab-a")
    call_command("close_period", "2026-03")
    before = list(Tariff.objects.values())
    if refused:
        with pytest.raises(CommandError, match="line 2: valid_from:.*closed period 2026-03"):
            import_cpu_tariff(tmp_path, start, rate_class)
        assert list(Tariff.objects.values()) == before
    else:
        import_cpu_tariff(tmp_path, start, rate_class)
        assert Tariff.objects.filter(rate_class=rate_class, valid_from=APRIL).exists()


def test_the_sifac_export_equals_the_statements_of_every_class_to_the_cent(march, tmp_path):
    cpu_tariff("0.0213", start=MID_MARCH, rate_class="U1")
    Tariff.objects.create(
        resource="memory",
        unit="GiB-hour",
        price_chf=Decimal("0.0041"),
        policy="max",
        valid_from=MARCH,
        rate_class="U2",
    )
    hours = [MARCH + i * 7 * HOUR for i in range(100)]
    account_with_usage("lab-a", hours=hours)
    account_with_usage("lab-u", "U1", hours=hours, cost_center="10422")
    account_with_usage("lab-v", "U2", hours=hours, cost_center="10423")
    call_command("close_period", "2026-03")
    totals = {s.account.name: s.total_chf for s in Statement.objects.all()}
    assert len(set(totals.values())) == 3  # three classes, three prices
    call_command("export_sifac", "2026-03", "--format", "csv", "--out", str(tmp_path))
    batch = ExportBatch.objects.get(format="csv")
    text = (tmp_path / batch.files.get().name).read_text(encoding="utf-8")
    exported = defaultdict(Decimal)
    for row in csv.DictReader(io.StringIO(text), delimiter=";"):
        exported[row["SEG_TEXT"].split()[1]] += Decimal(row["PRICE"])
    assert exported == totals
