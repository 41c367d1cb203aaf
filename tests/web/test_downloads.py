"""Every download names its file through Django's content_disposition_header: a non-ASCII
name keeps its file name (RFC 6266 `filename*`), a CR or LF cannot break the header."""

import ast
from pathlib import Path

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse

from billing.models import Account
from tests import ROOT


@pytest.fixture
def finance_client(client, db, django_user_model):
    user = django_user_model.objects.create_user("fiona")
    user.groups.add(Group.objects.get_or_create(name="finance")[0])
    client.force_login(user)
    return client


def jobs_csv(client, name: str):
    account = Account.objects.create(name=name, cost_center="10421")
    return client.get(reverse("account-jobs-csv", args=[account.pk]), {"period": "2026-10"})


def test_a_non_ascii_account_name_keeps_its_file_name(finance_client):
    answer = jobs_csv(finance_client, "Zürich-lab")
    assert answer.status_code == 200
    assert answer["Content-Disposition"] == (
        "attachment; filename*=utf-8''Z%C3%BCrich-lab-2026-10-jobs.csv"
    )


def test_an_ascii_name_is_quoted_as_before(finance_client):
    answer = jobs_csv(finance_client, 'lab "a"')
    assert answer["Content-Disposition"] == r'attachment; filename="lab \"a\"-2026-10-jobs.csv"'


def test_a_name_with_cr_lf_from_the_admin_cannot_break_the_header(finance_client):
    answer = jobs_csv(finance_client, "lab\r\nSet-Cookie: stolen=1")
    assert answer.status_code == 200
    header = answer["Content-Disposition"]
    assert "\r" not in header and "\n" not in header
    assert header == (
        "attachment; filename*=utf-8''lab%0D%0ASet-Cookie%3A%20stolen%3D1-2026-10-jobs.csv"
    )
    assert "stolen" not in answer.cookies


def hand_written_dispositions(path: Path) -> list[int]:
    """Lines of path that set Content-Disposition other than by content_disposition_header."""
    lines = []
    for node in ast.walk(ast.parse(path.read_text())):
        if not isinstance(node, ast.Assign):
            continue
        for target in node.targets:
            header = getattr(getattr(target, "slice", None), "value", None)
            if isinstance(header, str) and header.lower() == "content-disposition":
                call = node.value
                name = getattr(getattr(call, "func", None), "id", None)
                if name != "content_disposition_header":
                    lines.append(node.lineno)
    return lines


def test_no_view_writes_content_disposition_by_hand():
    found = {
        str(path.relative_to(ROOT)): lines
        for path in (ROOT / "web").rglob("*.py")
        if (lines := hand_written_dispositions(path))
    }
    assert not found, f"use django.utils.http.content_disposition_header: {found}"
