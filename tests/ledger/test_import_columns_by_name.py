"""Both imports read their columns by header name: any order, optional ones absent or anywhere;
a column missing, unknown (a misspelt optional one, say) or twice refuses the file naming it."""

from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from billing.models import Account, NamespaceAccount, Tariff

TARIFFS = "resource,unit,price_chf,policy,valid_from,activity_type"
TARIFF_ROW = "cpu,core-hour,0.05,max,2026-01-01,"
ACCOUNTS = "account,receiver_type,receiver,cluster,namespace,valid_from,valid_until"
ACCOUNT_ROW = "lab-a,cctr,10421,epfl-1,lab-a,2026-01-01,"


def run(tmp_path, command: str, text: str) -> str:
    path = tmp_path / "file.csv"
    path.write_text(text)
    out = StringIO()
    call_command(command, str(path), stdout=out, stderr=out)
    return out.getvalue()


def reordered(header: str, row: str, order: list[int]) -> str:
    """The file with its columns in `order` (indices into the given header)."""
    names, cells = header.split(","), row.split(",")
    return ",".join(names[i] for i in order) + "\n" + ",".join(cells[i] for i in order) + "\n"


def test_tariff_columns_may_come_in_any_order(db, tmp_path):
    run(tmp_path, "import_tariffs", reordered(TARIFFS, TARIFF_ROW, [4, 2, 0, 5, 3, 1]))
    tariff = Tariff.objects.get()
    assert (tariff.resource, tariff.unit, str(tariff.price_chf), tariff.policy) == (
        "cpu",
        "core-hour",
        "0.050000",
        "max",
    )
    assert tariff.rate_class == ""


def test_the_rate_class_column_may_come_first_and_is_read_by_name(db, tmp_path):
    run(tmp_path, "import_tariffs", f"rate_class,{TARIFFS}\nU1,{TARIFF_ROW}\n")
    assert Tariff.objects.get().rate_class == "U1"


def test_account_columns_may_come_in_any_order_with_optional_ones_among_them(db, tmp_path):
    header = f"{ACCOUNTS},language,budget_chf"
    row = f"{ACCOUNT_ROW},fr,1500"
    run(tmp_path, "import_accounts", reordered(header, row, [8, 6, 0, 3, 1, 7, 4, 2, 5]))
    account = Account.objects.get(name="lab-a")
    assert (account.cost_center, account.language, str(account.budget_chf)) == (
        "10421",
        "fr",
        "1500.00",
    )
    assert NamespaceAccount.objects.get().namespace == "lab-a"


def test_without_optional_columns_the_files_import_as_before(db, tmp_path):
    assert "1 created" in run(tmp_path, "import_tariffs", f"{TARIFFS}\n{TARIFF_ROW}\n")
    assert "2 created" in run(tmp_path, "import_accounts", f"{ACCOUNTS}\n{ACCOUNT_ROW}\n")
    account = Account.objects.get(name="lab-a")
    assert (account.contacts, account.language, account.rate_class, account.budget_chf) == (
        "",
        "en",
        "",
        None,
    )


@pytest.mark.parametrize(
    "command, text, said",
    [
        (
            "import_tariffs",
            f"{TARIFFS},rate_clas\n{TARIFF_ROW},U1\n",
            "line 1: the header has an unknown column 'rate_clas'",
        ),
        (
            "import_tariffs",
            f"{TARIFFS},rate_class,rate_class\n{TARIFF_ROW},U1,U2\n",
            "line 1: the header has the column rate_class twice",
        ),
        (
            "import_tariffs",
            "resource,unit,price_chf,policy,valid_from\ncpu,core-hour,0.05,max,2026-01-01\n",
            "line 1: the header lacks the required column activity_type",
        ),
        (
            "import_accounts",
            f"{ACCOUNTS},contact\n{ACCOUNT_ROW},a@epfl.ch\n",
            "line 1: the header has an unknown column 'contact'",
        ),
        (
            "import_accounts",
            f"{ACCOUNTS},language,language\n{ACCOUNT_ROW},fr,en\n",
            "line 1: the header has the column language twice",
        ),
        (
            "import_accounts",
            f"account,{ACCOUNTS}\nlab-a,{ACCOUNT_ROW}\n",
            "line 1: the header has the column account twice",
        ),
        (
            "import_accounts",
            "account,receiver_type,receiver,cluster,namespace,valid_from,budget_chf\n"
            "lab-a,cctr,10421,epfl-1,lab-a,2026-01-01,100\n",
            "line 1: the header lacks the required column valid_until",
        ),
    ],
    ids=[
        "misspelt tariff column",
        "tariff column twice",
        "tariff column missing",
        "misspelt account column",
        "optional account column twice",
        "required account column twice",
        "account column missing",
    ],
)
def test_a_bad_header_is_refused_naming_the_column_and_nothing_is_written(
    db, tmp_path, command, text, said
):
    with pytest.raises(CommandError, match=f"{said}.*nothing imported"):
        run(tmp_path, command, text)
    assert not Tariff.objects.exists()
    assert not Account.objects.exists()
