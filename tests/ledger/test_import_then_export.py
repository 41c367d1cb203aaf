"""Property: whatever imports can be closed and exported; what cannot is refused at import.

Hypothesis writes a tariff row and an account row from values near and beyond every rule
(prices up to and past the column and KUBEMON_MAX_PRICE_CHF, activity types in and out of
the settings, account names up to and past what SAP's item text leaves, characters outside
ISO-8859-1, receivers in and out of SAP's syntax, tariffs starting mid-month so that the
item text is the longest). Each row either imports, and then a small fixture month billed
to it closes and exports in every format with the real close_period and export_sifac
commands, or is refused naming line 2 and one of the file's columns, writing nothing.
Each example runs in a savepoint rolled back after it. Derandomized: the same rows each
run.
"""

import csv
import io
import re
import tempfile
from contextlib import contextmanager
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import transaction
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st

from billing.models import Account, Cluster, NamespaceAccount, Tariff
from billing.resources import GIB, RESOURCES
from tests.fixtures.billing_rows import APRIL, HOUR, MARCH, add_usage, collect_hours, make_job
from tests.fixtures.billing_rows import make_tariffs as fixture_tariffs

TARIFF_COLUMNS = ("resource", "unit", "price_chf", "policy", "valid_from", "activity_type")
ACCOUNT_COLUMNS = (
    "account", "receiver_type", "receiver", "cluster", "namespace", "valid_from", "valid_until",
)  # fmt: skip
FALLBACK_ACCOUNT = ("lab-ok", "cctr", "10421", "epfl-1", "lab-p", "2026-01-01", "")
# Every resource used in each of the month's first and last hour.
USAGE = {
    "cpu_core_seconds": 3600.0,
    "cpu_request_core_seconds": 7200.0,
    "memory_byte_seconds": 2.0 * GIB * 3600,
    "memory_request_byte_seconds": GIB * 3600.0,
    "gpu_seconds": 3600.0,
    "gpu_memory_mib_seconds": 1024 * 3600.0,
    "storage_byte_seconds": 10.0 * GIB * 3600,
    "network_rx_bytes": 3.0 * GIB,
    "network_tx_bytes": 2.0 * GIB,
    "gpu_energy_joules": 5.4e6,
}
NAME_CHARACTERS = "ab-_. ,;=\"'0Z" + "\xe9\xff\xa0" + "\x7f\u0142\u20ac"
RECEIVER_CHARACTERS = "0123456789ABZaz.-/ =+"


def text(characters: str, most: int):
    return st.text(alphabet=st.sampled_from(list(characters)), max_size=most)


sane_prices = st.decimals(min_value=0, max_value=1000, places=6)
prices = st.one_of(
    sane_prices,
    sane_prices,
    sane_prices,
    st.decimals(min_value=0, max_value=1500, places=6),
    st.sampled_from(
        ["1000", "1000.000001", "99999999.999999", "100000000", "-0.01", "0.0000001", "1e3"]
    ).map(Decimal),
)


@st.composite
def tariff_rows(draw):
    """Mostly the resource's own unit and policies, so that the other fields decide."""
    resource = draw(st.sampled_from(list(RESOURCES)))
    spec = RESOURCES[resource]
    units = ["core-hour", "GiB-hour", "GPU-hour", "GiB-month", "GiB"]
    return (
        resource,
        draw(st.one_of(st.just(spec.unit), st.sampled_from(units))),
        str(draw(prices)),
        draw(st.one_of(st.sampled_from(spec.policies), st.sampled_from(["usage", "max"]))),
        draw(
            st.sampled_from(
                ["2026-01-01", "2026-03-15", "2026-03-01T01:00:00Z", "2026-03-31T23:00:00Z"]
            )
        ),
        draw(
            st.one_of(
                st.sampled_from(["", "K8SCPU", "K8SGPU", "K8SNTX"]),
                st.sampled_from(["", "K8SXXX", "k8scpu", "TOOLONG1"]),
            )
        ),
    )


account_rows = st.tuples(
    st.one_of(
        text(NAME_CHARACTERS, 24),
        st.integers(min_value=16, max_value=22).map(lambda n: "x" * n),
    ),
    st.sampled_from(["cctr", "order", "wbs"]),
    st.one_of(
        text(RECEIVER_CHARACTERS, 26),
        st.from_regex(r"[0-9A-Z]{1,13}", fullmatch=True),
        st.from_regex(r"[0-9A-Z]{1,10}", fullmatch=True),
    ),
    st.just("epfl-1"),
    st.just("lab-p"),
    st.just("2026-01-01"),
    st.just(""),
)


def csv_file(columns, row) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(columns)
    writer.writerow(row)
    return out.getvalue()


def snapshot():
    return [
        list(model.objects.order_by("pk").values())
        for model in (Account, Cluster, NamespaceAccount, Tariff)
    ]


def imports(command: str, columns, row, folder) -> bool:
    """Import one row: True if it imported; if refused, check the refusal names line 2
    and a column of the file, and that nothing was written."""
    path = f"{folder}/{command}.csv"
    with open(path, "w", encoding="utf-8") as f:
        f.write(csv_file(columns, row))
    before = snapshot()
    try:
        call_command(command, path, stdout=StringIO())
    except CommandError as e:
        assert re.search(rf"line 2: ({'|'.join(columns)}): ", str(e)), str(e)
        assert snapshot() == before
        return False
    return True


@contextmanager
def rolled_back():
    with transaction.atomic():
        yield
        transaction.set_rollback(True)


@pytest.fixture
def fixture_month(db):
    """Tariffs for every resource from January, March collected: kept for every example."""
    fixture_tariffs()
    collect_hours(MARCH, APRIL)


@settings(
    max_examples=60,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(tariff=tariff_rows(), account=account_rows)
@example(  # the longest item text: a 19-character name, network_rx, from 31 23h
    tariff=("network_rx", "GiB", "0.01", "usage", "2026-03-31T23:00:00Z", "K8SNRX"),
    account=("n" * 19, "wbs", "P-1234.01", "epfl-1", "lab-p", "2026-01-01", ""),
)
@example(  # as long: gpu_energy (optional), its own activity type, from 31 23h
    tariff=("gpu_energy", "kWh", "0.25", "usage", "2026-03-31T23:00:00Z", "K8SGEN"),
    account=("n" * 19, "cctr", "10421", "epfl-1", "lab-p", "2026-01-01", ""),
)
@example(
    tariff=("network_tx", "GiB", "1000", "usage", "2026-03-31T23:00:00Z", ""),
    account=("n" * 20, "cctr", "=1+1 x", "epfl-1", "lab-p", "2026-01-01", ""),
)
def test_a_row_that_imports_closes_and_exports_and_one_that_would_not_is_refused(
    fixture_month, tariff, account
):
    with rolled_back(), tempfile.TemporaryDirectory() as folder:
        event(f"tariff imported: {imports('import_tariffs', TARIFF_COLUMNS, tariff, folder)}")
        account_imported = imports("import_accounts", ACCOUNT_COLUMNS, account, folder)
        event(f"account imported: {account_imported}")
        if not account_imported:
            assert imports("import_accounts", ACCOUNT_COLUMNS, FALLBACK_ACCOUNT, folder)
        billed = NamespaceAccount.objects.get(namespace="lab-p").account
        job = make_job(namespace="lab-p")
        for hour in (MARCH, APRIL - HOUR):
            add_usage(job, billed, hour, **USAGE)
        call_command("close_period", "2026-03", stdout=StringIO())
        for fmt in ("csv", "idoc", "idoc-xml"):
            call_command(
                "export_sifac", "2026-03", "--format", fmt, "--out", folder, stdout=StringIO()
            )
