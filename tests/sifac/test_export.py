"""export_sifac: CSV, IDoc flat file and IDoc-XML of a closed period, batches, refusals.

The flat file is read back at the offsets of reference/sifac-idoc.md, written out in
tests/fixtures/idoc_flat.py independently of billing/sifac/layouts.py, so a layout error
cannot hide itself.
"""

import csv
import hashlib
import io
from collections import defaultdict
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError
from lxml import etree

from billing.collection.store import AccountResolver, CollectedUsage, write_hours
from billing.models import (
    Account,
    Adjustment,
    CollectionRun,
    ExportBatch,
    HourlyUsage,
    NamespaceAccount,
    Period,
    Statement,
    Tariff,
)
from billing.resources import QUANTITIES
from billing.sifac.batches import inside
from billing.sifac.documents import ExportRefused
from billing.sifac.xsd import schema
from tests.fixtures.billing_rows import (
    APRIL,
    HOUR,
    MARCH,
    CollectedJob,
    add_usage,
    collect_hours,
    core_hours,
    gib_hours,
    make_account,
    make_job,
    make_tariffs,
)
from tests.fixtures.idoc_flat import parse_flat

ACTIVITY = {
    "cpu": "K8SCPU",
    "memory": "K8SMEM",
    "gpu": "K8SGPU",
    "gpu_memory": "K8SGMM",
    "storage": "K8SSTO",
    "network_rx": "K8SNRX",
    "network_tx": "K8SNTX",
}


def export(fmt: str, out, *args) -> bytes:
    call_command("export_sifac", "2026-03", "--format", fmt, "--out", str(out), *args)
    batch = ExportBatch.objects.filter(format=fmt).order_by("-number").first()
    return (out / batch.files.get().name).read_bytes()


@pytest.fixture
def closed_march(db):
    """Three accounts (cost centre, order, WBS) with a month of varied usage, closed."""
    make_tariffs()
    Tariff.objects.create(
        resource="cpu",
        unit="core-hour",
        price_chf=Decimal("0.0537"),
        policy="max",
        valid_from=datetime(2026, 3, 15, tzinfo=UTC),
    )
    accounts = [
        make_account("lab-a", cost_center="10421"),
        make_account("lab-b", internal_order="500000123"),
        make_account("lab-c", wbs_element="P-1234.01"),
    ]
    for n, account in enumerate(accounts, 1):
        job = make_job(f"job-{n}", namespace=account.name)
        for i in range(0, 744, 7):
            add_usage(
                job,
                account,
                MARCH + i * HOUR,
                **core_hours(0.731 * n + i / 1000),
                **gib_hours(3.3 * n),
                gpu_seconds=1234.5 * n,
                storage_byte_seconds=7.7e9 * 3600 * n,
                network_tx_bytes=1.3e8 * i,
            )
    collect_hours(MARCH, APRIL)
    call_command("close_period", "2026-03")
    return accounts


def statement_items(statement) -> list[tuple]:
    kind, receiver = statement.receiver_type, statement.receiver
    expected_receiver = {
        "cctr": receiver.zfill(10),
        "order": receiver.zfill(12),
        "wbs": receiver,
    }[kind]
    return [
        (
            ACTIVITY[line.resource],
            f"{line.quantity:.3f}",
            f"{line.amount_chf:.2f}",
            expected_receiver,
        )
        for line in statement.lines.order_by("kind", "resource", "pk")
    ]


def test_the_flat_file_read_back_at_the_reference_offsets_gives_the_statements(
    closed_march, tmp_path
):
    docs = parse_flat(export("idoc", tmp_path))
    statements = list(Statement.objects.order_by("account__name"))
    assert len(docs) == len(statements) == 3
    batch = ExportBatch.objects.get()
    for place, (doc, statement) in enumerate(zip(docs, statements, strict=True), 1):
        control = doc["control"]
        assert control["TABNAM"] == "EDI_DC40"
        assert (control["IDOCTYP"], control["MESTYP"]) == ("ACC_ACT_ALLOC02", "ACC_ACT_ALLOC")
        assert control["DIRECT"] == "2"
        assert control["MANDT"] == settings.KUBEMON_SIFAC_CLIENT
        assert (control["SNDPRT"], control["RCVPRT"]) == ("LS", "LS")
        assert control["SNDPRN"] == settings.KUBEMON_SIFAC_SENDER_SYSTEM
        assert control["RCVPRN"] == settings.KUBEMON_SIFAC_RECEIVER_SYSTEM
        assert control["CREDAT"] == f"{batch.created_at:%Y%m%d}"
        segments = doc["segments"]
        assert [(s["SEGNUM"], s["PSGNUM"], s["HLEVEL"]) for s in segments] == [
            ("000001", "000000", "02"),
            *[(f"{i:06d}", "000001", "03") for i in range(2, len(segments) + 1)],
        ]
        assert segments[0]["SEGNAM"] == "E2ACC_ACT_ALLOC000"
        header = doc["header"]
        assert header["CO_AREA"] == settings.KUBEMON_SIFAC_CO_AREA
        assert header["DOCDATE"] == header["POSTGDATE"] == "20260331"
        assert str(batch.number) in header["OBJ_KEY"] and header["OBJ_KEY"].endswith(f"{place}")
        items = [
            (
                i["ACTTYPE"],
                i["ACTVTY_QTY"],
                i["PRICE"],
                i["REC_CCTR"] or i["REC_ORDER"] or i["REC_WBS_EL"],
            )
            for i in doc["items"]
        ]
        assert items == statement_items(statement)
        for i in doc["items"]:
            assert i["CURRENCY"] == "CHF"
            assert i["SEND_CCTR"] == settings.KUBEMON_SIFAC_SENDER_COST_CENTER.zfill(10)
            assert i["SEG_TEXT"].startswith(f"2026-03 {statement.account.name} ")
        # Exactly one receiver per item.
        assert all(
            sum(bool(i[f]) for f in ("REC_CCTR", "REC_ORDER", "REC_WBS_EL")) == 1
            for i in doc["items"]
        )


def test_statement_totals_equal_the_csv_and_idoc_totals_to_the_cent(closed_march, tmp_path):
    totals = {s.account.name: s.total_chf for s in Statement.objects.all()}
    for s in Statement.objects.all():
        assert s.total_chf == sum(line.amount_chf for line in s.lines.all())
    rows = list(csv.DictReader(io.StringIO(export("csv", tmp_path).decode("utf-8")), delimiter=";"))
    csv_totals = defaultdict(Decimal)
    for row in rows:
        account = row["SEG_TEXT"].split()[1]
        csv_totals[account] += Decimal(row["PRICE"])
    assert csv_totals == totals
    idoc_totals = {
        doc["items"][0]["SEG_TEXT"].split()[1]: sum(Decimal(i["PRICE"]) for i in doc["items"])
        for doc in parse_flat(export("idoc", tmp_path))
    }
    assert idoc_totals == totals
    xml = etree.fromstring(export("idoc-xml", tmp_path))
    xml_total = sum(Decimal(p) for p in xml.xpath("//E1BPAAITM/PRICE/text()"))
    assert xml_total == sum(totals.values())


def test_the_csv_has_a_header_semicolons_dot_decimals_and_one_row_per_item(closed_march, tmp_path):
    text = export("csv", tmp_path).decode("utf-8")
    header, *rows = text.splitlines()
    assert header.split(";")[:3] == ["OBJ_KEY", "CO_AREA", "DOCDATE"]
    assert len(rows) == sum(s.lines.count() for s in Statement.objects.all())
    parsed = list(csv.DictReader(io.StringIO(text), delimiter=";"))
    assert all("," not in r["ACTVTY_QTY"] and "." in r["PRICE"] for r in parsed)


def test_the_idoc_xml_validates_against_the_generated_schema(closed_march, tmp_path):
    xsd = etree.XMLSchema(etree.fromstring(schema()))
    document = etree.fromstring(export("idoc-xml", tmp_path))
    xsd.assertValid(document)
    assert len(document.findall("IDOC")) == 3
    # The schema is not a formality: a text longer than SAP's field fails it.
    document.find(".//E1BPAAITM/SEG_TEXT").text = "x" * 51
    assert not xsd.validate(document)


def test_exporting_a_period_again_gives_the_same_bytes(closed_march, tmp_path):
    for fmt in ("csv", "idoc", "idoc-xml"):
        first = export(fmt, tmp_path / "1")
        again = export(fmt, tmp_path / "2")
        assert first == again
        batch = ExportBatch.objects.get(format=fmt)
        assert batch.files.get().sha256 == hashlib.sha256(first).hexdigest()
    assert ExportBatch.objects.count() == 3


def test_a_new_batch_gets_the_next_number_and_carries_it_in_obj_key(closed_march, tmp_path):
    first = export("idoc", tmp_path)
    second = export("idoc", tmp_path, "--new-batch")
    numbers = list(ExportBatch.objects.values_list("number", flat=True))
    assert numbers == [1, 2]
    assert [d["header"]["OBJ_KEY"] for d in parse_flat(second)][0] == "B000000002D00001"
    assert first != second
    assert len(list(tmp_path.iterdir())) == 2


def test_changed_settings_refuse_to_regenerate_a_recorded_batch(closed_march, tmp_path, settings):
    export("idoc", tmp_path)
    settings.KUBEMON_SIFAC_CO_AREA = "XX01"
    with pytest.raises(CommandError, match="--new-batch"):
        export("idoc", tmp_path)


def test_an_open_period_is_not_exported(db, tmp_path):
    Period.objects.create(month=APRIL.date())
    with pytest.raises(CommandError, match="not closed"):
        call_command("export_sifac", "2026-04", "--format", "csv", "--out", str(tmp_path))
    assert not ExportBatch.objects.exists()


def test_unassigned_usage_refuses_the_export_naming_namespaces_and_amounts(db, tmp_path):
    make_tariffs(cpu="1")
    account = make_account()
    unassigned = Account.objects.create(name=Account.UNASSIGNED)
    add_usage(make_job(), account, MARCH, **core_hours(1))
    add_usage(make_job("x", namespace="stray"), unassigned, MARCH, **core_hours(2.5))
    collect_hours(MARCH, APRIL)
    call_command("close_period", "2026-03")
    with pytest.raises(CommandError, match="epfl-1/stray 2.50 CHF.*--allow-unassigned"):
        export("csv", tmp_path)
    assert not ExportBatch.objects.exists() and not any(tmp_path.iterdir())
    rows = export("csv", tmp_path, "--allow-unassigned").decode().splitlines()[1:]
    assert len(rows) == 1 and "lab-a" in rows[0]


def refused(tmp_path, match: str):
    for fmt in ("csv", "idoc", "idoc-xml"):
        with pytest.raises(CommandError, match=match):
            export(fmt, tmp_path)
    assert not ExportBatch.objects.exists()
    assert not any(tmp_path.iterdir())


def test_an_account_without_a_receiver_is_refused_naming_it(closed_march, tmp_path):
    Statement.objects.filter(account__name="lab-b").update(receiver_type="", receiver="")
    refused(tmp_path, "account lab-b: receiver: none set")


def test_an_unknown_activity_type_is_refused_naming_account_and_field(closed_march, tmp_path):
    Tariff.objects.filter(resource="gpu").update(activity_type="NOPE")
    refused(tmp_path, "account lab-a: ACTTYPE: unknown activity type 'NOPE' for gpu")


def test_a_negative_quantity_is_refused_naming_account_and_field(closed_march, tmp_path):
    account = closed_march[2]
    job = HourlyUsage.objects.filter(account=account).first().job
    Adjustment.objects.create(
        period=Period.objects.create(month=APRIL.date()),
        source_hour=MARCH,
        job=job,
        account=account,
        resource="cpu",
        tariff=Tariff.objects.filter(resource="cpu").first(),
        quantity=Decimal("-2"),
        reason="late collection",
        created_at=APRIL,
    )
    collect_hours(APRIL, datetime(2026, 5, 1, tzinfo=UTC))
    call_command("close_period", "2026-04")
    with pytest.raises(CommandError, match="account lab-c: ACTVTY_QTY: negative quantity -2.000"):
        call_command("export_sifac", "2026-04", "--format", "idoc", "--out", str(tmp_path))
    assert not ExportBatch.objects.exists() and not any(tmp_path.iterdir())


@pytest.mark.parametrize(
    ("name", "why"), [("łab-ŵ", "characters SAP cannot take"), ("l" * 40, "longer than")]
)
def test_a_text_sap_cannot_take_is_refused_naming_account_and_field(
    closed_march, tmp_path, name, why
):
    Account.objects.filter(name="lab-c").update(name=name)
    refused(tmp_path, f"account {name}: SEG_TEXT: .*{why}")


def test_a_receiver_sap_cannot_take_is_refused_naming_account_and_field(closed_march, tmp_path):
    # Stored before the import and the admin refused it (billing/sap_fields.py).
    Statement.objects.filter(account__name="lab-a").update(receiver="=1+1 x")
    refused(tmp_path, r"account lab-a: REC_CCTR: '=1\+1 x' is not a SAP cost centre")


def test_a_bad_setting_is_refused_naming_it(closed_march, tmp_path, settings):
    settings.KUBEMON_SIFAC_SENDER_COST_CENTER = "cc 1"
    refused(tmp_path, "setting KUBEMON_SIFAC_SENDER_COST_CENTER")


@pytest.mark.parametrize("name", ["../escape.csv", "/etc/passwd", "sub/x.csv", ".."])
def test_a_file_name_can_never_leave_the_export_directory(tmp_path, name):
    with pytest.raises(ExportRefused, match="would leave the export directory"):
        inside(tmp_path, name)


def test_cron_closes_the_previous_month_and_exports_it_on_the_configured_day():
    month_end = [job for job in settings.CRONJOBS if job[2][0] in ("close_period", "export_sifac")]
    (close, *exports) = month_end
    day = str(settings.KUBEMON_CLOSE_DAY)
    assert close[0].split()[2] == day and close[2] == ["close_period", "previous"]
    assert {e[3]["format"] for e in exports} == set(settings.KUBEMON_EXPORT_FORMATS)
    assert all(e[0].split()[2] == day and e[2] == ["export_sifac", "previous"] for e in exports)
    assert all(minute_of_day(e[0]) > minute_of_day(close[0]) for e in exports)


def minute_of_day(schedule: str) -> int:
    minute, hour = schedule.split()[:2]
    return int(hour) * 60 + int(minute)


def collected_again(row) -> CollectedJob:
    quantities = {q: getattr(row, q) for q in QUANTITIES}
    if row.account.name == "lab-a":
        quantities["cpu_core_seconds"] += 10 * 3600
    return CollectedJob(quantities)


def test_a_late_recollection_is_exported_as_an_adjustment_item_of_the_next_month(
    closed_march, tmp_path
):
    hour = MARCH + 7 * HOUR
    rows = HourlyUsage.objects.filter(hour=hour).select_related("job__cluster", "account")
    cluster = rows[0].job.cluster
    for row in rows:
        NamespaceAccount.objects.create(
            cluster=cluster, namespace=row.job.namespace, account=row.account, valid_from=MARCH
        )
    # The whole hour collected again: the same, but 10 more core-hours for lab-a's job.
    again = {(r.job.namespace, r.job.kind, r.job.name): collected_again(r) for r in rows}
    run = CollectionRun.objects.create(
        cluster=cluster.name, window_start=hour, window_end=hour + HOUR, started_at=APRIL
    )
    write_hours(cluster, [CollectedUsage(hour, again, {})], AccountResolver(cluster), run)
    collect_hours(APRIL, datetime(2026, 5, 1, tzinfo=UTC))
    call_command("close_period", "2026-04")
    call_command("export_sifac", "2026-04", "--format", "idoc", "--out", str(tmp_path))
    (doc,) = parse_flat(next(tmp_path.iterdir()).read_bytes())
    (item,) = doc["items"]
    assert item["SEG_TEXT"] == "2026-04 lab-a cpu adjustment"
    assert (item["ACTVTY_QTY"], item["PRICE"], item["REC_CCTR"]) == ("10.000", "0.50", "0000010421")
    assert Statement.objects.get(period__month=APRIL.date()).total_chf == Decimal("0.50")
