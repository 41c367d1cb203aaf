"""Every string of billing/ (its mails) has its French translation."""

import shutil
import subprocess
import sys

from tests import ROOT

BILLING = ROOT / "billing"
MANAGE = ROOT / "manage.py"


def test_every_marked_string_of_billing_is_translated_into_french(tmp_path):
    """Extract the strings anew from a copy of billing/ and count what has no translation."""
    copy = tmp_path / "billing"
    shutil.copytree(BILLING, copy, ignore=shutil.ignore_patterns("__pycache__", "*.mo"))
    subprocess.run(
        [sys.executable, str(MANAGE), "makemessages", "-l", "fr", "--no-location", "-v", "0"],
        cwd=copy,
        check=True,
    )
    po = copy / "locale" / "fr" / "LC_MESSAGES" / "django.po"
    stats = subprocess.run(
        ["msgfmt", "--check", "--statistics", "-o", "/dev/null", str(po)],
        capture_output=True,
        text=True,
        check=True,
    ).stderr
    assert "untranslated" not in stats and "fuzzy" not in stats, stats
    assert "translated message" in stats
