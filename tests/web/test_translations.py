"""Every string of the pages, PDFs and mails has its French translation, and French pages
use them."""

import shutil
import subprocess
import sys
from html import unescape

import pytest

from tests import ROOT
from tests.fixtures.site_data import PASSWORD, build_site

MANAGE = ROOT / "manage.py"


@pytest.mark.parametrize("app", ["web", "billing"])  # the pages; billing's PDFs and mails
def test_every_marked_string_is_translated_into_french(tmp_path, app):
    """Extract the strings anew from a copy of the app and count what has no translation."""
    copy = tmp_path / app
    shutil.copytree(ROOT / app, copy, ignore=shutil.ignore_patterns("__pycache__", "*.mo"))
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


@pytest.mark.django_db
def test_a_french_browser_gets_french_pages_with_swiss_numbers(client, settings, tmp_path):
    settings.KUBEMON_EXPORT_DIR = str(tmp_path)
    site = build_site(tmp_path)
    assert client.login(username="fiona", password=PASSWORD)
    page = client.get("/?days=90", headers={"accept-language": "fr-CH,fr;q=0.9"})
    html = unescape(page.content.decode())
    assert '<html lang="fr">' in html
    assert "Vue d'ensemble" in html and "Principaux comptes" in html
    assert "2'664.0" in html
    account = client.get(
        f"/accounts/{site.accounts['lab-a'].pk}/?period=2026-13",
        headers={"accept-language": "fr"},
    )
    assert account.status_code == 400
    assert "2026-13 n'est pas un mois" in unescape(account.content.decode())


@pytest.mark.django_db
def test_the_language_cookie_beats_the_browsers_language(client, settings, tmp_path):
    settings.KUBEMON_EXPORT_DIR = str(tmp_path)
    build_site(tmp_path)
    assert client.login(username="fiona", password=PASSWORD)
    client.post("/i18n/setlang/", {"language": "en", "next": "/"})
    page = client.get("/", headers={"accept-language": "fr-CH"})
    assert '<html lang="en">' in page.content.decode()
