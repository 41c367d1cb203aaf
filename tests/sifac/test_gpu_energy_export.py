"""GPU energy in the SIFAC export: without a gpu_energy tariff the month's statements and
files are those of a month without energy, byte for byte; with one, each account's energy
is an item of its own activity type and unit, and the totals reconcile to the cent."""

import csv
import io
from collections import defaultdict
from contextlib import contextmanager
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal
from io import StringIO

from django.core.management import call_command
from django.db import transaction
from lxml import etree

from billing.models import HourlyUsage, Period, Statement, StatementLine, Tariff
from billing.sifac.batches import export
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
)
from tests.fixtures.idoc_flat import parse_flat

KWH = 3_600_000.0  # joules
FORMATS = ("csv", "idoc", "idoc-xml")
# One creation time for every batch, so that two exports can be compared byte for byte.
EXPORTED_AT = datetime(2026, 4, 5, 3, 0, tzinfo=UTC)


def closed_march(energy: bool, **tariff):
    """Three accounts (cost centre, order, WBS) with a month of varied usage, GPU energy in
    it if `energy` (part of it estimated), a gpu_energy tariff if given; March closed."""
    make_tariffs()
    if tariff:
        Tariff.objects.create(
            resource="gpu_energy",
            unit="kWh",
            policy="usage",
            valid_from=datetime(2026, 1, 1, tzinfo=UTC),
            **tariff,
        )
    accounts = [
        make_account("lab-a", cost_center="10421"),
        make_account("lab-b", internal_order="500000123"),
        make_account("lab-c", wbs_element="P-1234.01"),
    ]
    for n, account in enumerate(accounts, 1):
        job = make_job(f"job-{n}", namespace=account.name)
        for i in range(0, 744, 7):
            joules = (0.4321 * n + i / 997) * KWH if energy else 0.0
            add_usage(
                job,
                account,
                MARCH + i * HOUR,
                gpu_energy_estimated=energy and n == 2 and i % 3 == 0,
                **core_hours(0.731 * n + i / 1000),
                **gib_hours(3.3 * n),
                gpu_seconds=1234.5 * n,
                network_tx_bytes=1.3e8 * i,
                gpu_energy_joules=joules,
            )
    collect_hours(MARCH, APRIL)
    call_command("close_period", "2026-03", stdout=StringIO())


def statement_lines() -> list[tuple]:
    """Every line of the month, with its jobs, as the statements hold them (no ids)."""
    return [
        (
            line.statement.account.name,
            line.statement.total_chf,
            line.kind,
            line.resource,
            line.unit,
            line.quantity,
            line.estimated_quantity,
            line.unit_price,
            line.amount_chf,
            line.first_hour,
            line.end_hour,
            line.reason,
            [(j.job.name, j.quantity, j.hours) for j in line.jobs.order_by("job__name")],
        )
        for line in StatementLine.objects.select_related("statement__account").order_by(
            "statement__account__name", "kind", "resource", "first_hour"
        )
    ]


def export_files(out) -> dict[str, bytes]:
    period = Period.objects.get(month=MARCH.date())
    return {
        fmt: export(period, fmt, out, False, False, EXPORTED_AT).path.read_bytes()
        for fmt in FORMATS
    }


@contextmanager
def rolled_back():
    with transaction.atomic():
        yield
        transaction.set_rollback(True)


def test_without_a_gpu_energy_tariff_energy_changes_no_statement_line_and_no_export_byte(
    db, tmp_path
):
    month = {}
    for energy in (False, True):
        with rolled_back():
            closed_march(energy)
            stored = sum(HourlyUsage.objects.values_list("gpu_energy_joules", flat=True))
            assert (stored > 100 * KWH) == energy
            assert HourlyUsage.objects.filter(gpu_energy_estimated=True).exists() == energy
            month[energy] = (statement_lines(), export_files(tmp_path / str(energy)))
    assert month[True][0] == month[False][0]
    assert {line[3] for line in month[True][0]} == {"cpu", "memory", "gpu", "network_tx"}
    for fmt in FORMATS:
        assert month[True][1][fmt] == month[False][1][fmt], fmt


def energy_lines() -> dict[str, StatementLine]:
    lines = StatementLine.objects.filter(resource="gpu_energy").select_related("statement")
    return {line.statement.account.name: line for line in lines}


def test_with_a_tariff_each_account_s_energy_is_an_item_of_its_activity_type_and_unit(db, tmp_path):
    closed_march(True, price_chf=Decimal("0.25"))
    lines = energy_lines()
    assert set(lines) == {"lab-a", "lab-b", "lab-c"}
    assert lines["lab-b"].estimated_quantity > 0
    assert lines["lab-a"].estimated_quantity == 0
    files = export_files(tmp_path)
    rows = list(csv.DictReader(io.StringIO(files["csv"].decode("utf-8")), delimiter=";"))
    csv_items = {
        row["SEG_TEXT"].split()[1]: row for row in rows if row["SEG_TEXT"].endswith(" gpu_energy")
    }
    flat_items = {
        item["SEG_TEXT"].split()[1]: item
        for doc in parse_flat(files["idoc"])
        for item in doc["items"]
        if item["SEG_TEXT"].endswith(" gpu_energy")
    }
    for name, line in lines.items():
        for item in (csv_items[name], flat_items[name]):
            assert item["SEG_TEXT"] == f"2026-03 {name} gpu_energy"
            assert (item["ACTTYPE"], item["ACTIVITYUN"]) == ("K8SGEN", "KWH")
            assert item["ACTVTY_QTY"] == f"{line.quantity:.3f}"
            assert item["PRICE"] == f"{line.amount_chf:.2f}"
            cents = (line.quantity * Decimal("0.25")).quantize(Decimal("0.01"), ROUND_HALF_UP)
            assert line.amount_chf == cents


def test_with_a_tariff_the_statements_and_every_export_file_reconcile_to_the_cent(db, tmp_path):
    closed_march(True, price_chf=Decimal("0.2537"))
    totals = {s.account.name: s.total_chf for s in Statement.objects.all()}
    for s in Statement.objects.all():
        assert s.total_chf == sum(line.amount_chf for line in s.lines.all())
    assert all(line.amount_chf > 0 for line in energy_lines().values())
    files = export_files(tmp_path)
    csv_totals = defaultdict(Decimal)
    for row in csv.DictReader(io.StringIO(files["csv"].decode("utf-8")), delimiter=";"):
        csv_totals[row["SEG_TEXT"].split()[1]] += Decimal(row["PRICE"])
    assert csv_totals == totals
    flat_totals = {
        doc["items"][0]["SEG_TEXT"].split()[1]: sum(Decimal(i["PRICE"]) for i in doc["items"])
        for doc in parse_flat(files["idoc"])
    }
    assert flat_totals == totals
    xml = etree.fromstring(files["idoc-xml"])
    assert sum(Decimal(p) for p in xml.xpath("//E1BPAAITM/PRICE/text()")) == sum(totals.values())
    energy_acttypes = xml.xpath("//E1BPAAITM[contains(SEG_TEXT, 'gpu_energy')]/ACTTYPE/text()")
    assert energy_acttypes == ["K8SGEN"] * 3


def test_a_gpu_energy_tariff_naming_its_own_activity_type_posts_under_it(db, tmp_path):
    closed_march(True, price_chf=Decimal("0.25"), activity_type="K8SGPU")
    (doc, *_) = parse_flat(export_files(tmp_path)["idoc"])
    energy = [i for i in doc["items"] if i["SEG_TEXT"].endswith(" gpu_energy")]
    assert [(i["ACTTYPE"], i["ACTIVITYUN"]) for i in energy] == [("K8SGPU", "KWH")]
