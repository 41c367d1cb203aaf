"""import_accounts' optional `groups` column: the IdP groups (`|`) whose members see an account.

Present (anywhere in the header) it sets Account.idp_groups; absent, the groups stay as they
are; every other column is still required in its place.
"""

from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from billing.models import Account

COLUMNS = "account,receiver_type,receiver,cluster,namespace,valid_from,valid_until"


def run(tmp_path, text: str) -> str:
    path = tmp_path / "accounts.csv"
    path.write_text(text)
    out = StringIO()
    call_command("import_accounts", str(path), stdout=out)
    return out.getvalue()


def test_the_groups_column_sets_the_accounts_groups(db, tmp_path):
    run(
        tmp_path,
        f"{COLUMNS},groups\nlab-a,cctr,10421,epfl-1,lab-a,2026-01-01,, a-members | bio |\n",
    )
    assert Account.objects.get(name="lab-a").group_list() == ["a-members", "bio"]


def test_the_groups_column_may_come_first(db, tmp_path):
    run(tmp_path, f"groups,{COLUMNS}\nlab-a-members,lab-a,cctr,10421,epfl-1,lab-a,2026-01-01,\n")
    assert Account.objects.get(name="lab-a").idp_groups == "lab-a-members"


def test_without_the_column_the_groups_stay_and_the_file_imports_as_before(db, tmp_path):
    run(tmp_path, f"{COLUMNS},groups\nlab-a,cctr,10421,epfl-1,lab-a,2026-01-01,,a-members\n")
    out = run(tmp_path, f"{COLUMNS}\nlab-a,cctr,10421,epfl-1,lab-a,2026-01-01,\n")
    assert "0 created, 0 changed" in out
    assert Account.objects.get(name="lab-a").idp_groups == "a-members"


def test_changed_groups_replace_the_old_ones(db, tmp_path):
    run(tmp_path, f"{COLUMNS},groups\nlab-a,cctr,10421,epfl-1,lab-a,2026-01-01,,a|b\n")
    assert "1 changed" in run(
        tmp_path, f"{COLUMNS},groups\nlab-a,cctr,10421,epfl-1,lab-a,2026-01-01,,c\n"
    )
    assert Account.objects.get(name="lab-a").idp_groups == "c"


@pytest.mark.parametrize(
    "text, said",
    [
        (f"{COLUMNS},groups,groups\nlab-a,cctr,1,e,n,2026-01-01,,a,b\n", "line 1: the header"),
        (f"{COLUMNS},colour\nlab-a,cctr,1,e,n,2026-01-01,,a\n", "line 1: the header"),
        ("account,receiver_type,receiver,cluster,namespace,valid_from,groups\n", "line 1"),
        (
            f"{COLUMNS},groups\nlab-a,cctr,10421,e,n,2026-01-01,,a\n"
            "lab-a,cctr,10421,e,m,2026-01-01,,b\n",
            "line 3: groups",
        ),
        (f"{COLUMNS},groups\nlab-a,cctr,10421,e,n,2026-01-01,,{'g' * 257}\n", "line 2: groups"),
    ],
    ids=["twice", "unknown column", "a required column missing", "two lists", "too long"],
)
def test_a_bad_groups_column_is_refused_naming_it_and_nothing_is_written(db, tmp_path, text, said):
    with pytest.raises(CommandError, match=said):
        run(tmp_path, text)
    assert not Account.objects.exists()
