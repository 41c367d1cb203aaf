"""The Content-Security-Policy: every page sends it, scripts and styles come from the app's
static files only (no inline script, event handler or style in any template or page), and
the pages, charts and Swagger UI included, run in a real browser without a violation."""

import re
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlencode

import pytest
from django.urls import reverse

from billing.models import ExportFile, Statement
from tests import ROOT
from tests.fixtures import site_data

POLICY = {
    "default-src": "'self'",
    "script-src": "'self'",
    "style-src": "'self'",
    "object-src": "'none'",
    "base-uri": "'none'",
    "frame-ancestors": "'none'",
}
TEMPLATES = sorted((ROOT / "web" / "templates").rglob("*.html"))
SCRIPT = re.compile(r"<script\b([^>]*)>(.*?)</script\s*>", re.I | re.S)
# An attribute that runs script: onclick=, onload=, ... (attribute position, not text).
HANDLER = re.compile(r"<[a-z][^>]*\son[a-z]+\s*=", re.I | re.S)
STYLE = re.compile(r"<style\b|<[a-z][^>]*\sstyle\s*=", re.I | re.S)


def directives(header: str) -> dict[str, str]:
    parts = (d.strip().split(None, 1) for d in header.split(";") if d.strip())
    return {p[0]: p[1] if len(p) > 1 else "" for p in parts}


def inline_code(html: str) -> list[str]:
    """Every way html runs code or styles that are not a static file."""
    found = []
    for attributes, body in SCRIPT.findall(html):
        data_block = re.search(r'type="application/(ld\+)?json"', attributes)
        if not data_block and (body.strip() or "src=" not in attributes):
            found.append(f"<script{attributes}>{body[:60]}")
    found += [m[0][:80] for m in HANDLER.finditer(html)]
    found += [m[0][:80] for m in STYLE.finditer(html)]
    return found


@pytest.mark.parametrize("template", TEMPLATES, ids=lambda p: p.name)
def test_no_template_holds_an_inline_script_handler_or_style(template: Path):
    assert not inline_code(template.read_text())


def test_the_scan_finds_each_kind_of_inline_code():
    assert len(inline_code('<script>alert(1)</script><script src="/a.js"></script>')) == 1
    assert inline_code('<button type="button"\n  onclick="go()">x</button>')
    assert inline_code('<p style="color: red">') and inline_code("<style>p {}</style>")
    assert not inline_code('<script id="c" type="application/json">{"a": 1}</script>')


@pytest.fixture
def billed(db, settings, tmp_path):
    settings.KUBEMON_EXPORT_DIR = str(tmp_path)
    return site_data.build_site(tmp_path)


def pages(site) -> dict[str, str]:
    lab_a = site.accounts["lab-a"].pk
    statement = Statement.objects.filter(account=site.accounts["lab-a"]).first()
    return {
        "overview": "/?days=90",
        "accounts": reverse("accounts"),
        "account": reverse("account", args=[lab_a]) + "?period=2026-10",
        "job": reverse("job", args=[site.jobs["train-05"].pk]) + "?period=2026-10",
        "statements": reverse("statements") + "?period=2026-10",
        "statement": reverse("statement", args=[statement.pk]),
        "exports": reverse("exports"),
        "live": reverse("live"),
        "idle gpus": reverse("idle-gpus"),
        "api docs": reverse("api-docs"),
        "admin": "/admin/",
        "not found": "/no-such-page/",
    }


def test_every_page_sends_the_policy_and_holds_no_inline_code(client, billed, settings):
    site = billed
    settings.PROMETHEUS_URL = "http://127.0.0.1:9"  # the live page's 503 is a page too
    settings.PROMETHEUS_RETRIES = 0
    site.users["fiona"].is_staff = True
    site.users["fiona"].save()
    assert client.login(username="fiona", password=site_data.PASSWORD)
    for name, path in pages(site).items():
        answer = client.get(path)
        assert answer.status_code in (200, 404, 503), (name, answer.status_code)
        policy = directives(answer["Content-Security-Policy"])
        assert POLICY.items() <= policy.items(), name
        assert "'unsafe-inline'" not in answer["Content-Security-Policy"]
        assert not inline_code(answer.content.decode()), name
    client.logout()
    login = client.get(reverse("login"))
    assert POLICY.items() <= directives(login["Content-Security-Policy"]).items()


def test_swagger_ui_s_set_up_is_a_script_of_its_own(client, db):
    page = client.get(reverse("api-docs"))
    (source,) = [
        src for src in re.findall(r'<script src="([^"]+)"', page.content.decode()) if "docs" in src
    ]
    script = client.get(source)
    assert script.status_code == 200
    assert script["Content-Type"].startswith("application/javascript")
    assert reverse("api-schema") in script.content.decode()


def test_a_download_sends_the_policy_too(client, billed):
    assert client.login(username="fiona", password=site_data.PASSWORD)
    record = ExportFile.objects.get()
    answer = client.get(reverse("export-file", args=[record.pk]))
    assert answer.status_code == 200
    assert "default-src 'self'" in answer["Content-Security-Policy"]


def test_a_violation_is_caught_by_the_browser_tests(browse, site):
    browser = browse()
    browser.login("fiona")
    assert browser.open("/accounts/") == 200
    browser.page.evaluate(
        "document.body.insertAdjacentHTML('beforeend', '<img src=x onerror=\"void 0\">')"
    )
    browser.page.wait_for_timeout(200)
    assert any("Content Security Policy" in e for e in browser.errors)
    browser.errors.clear()  # seen: the fixture fails a test on any error left


def test_the_pages_and_charts_run_without_a_violation(
    browse, site, prometheus_settings, history_window
):
    browser = browse()
    browser.login("fiona")
    end = (history_window[1] - timedelta(hours=1)).isoformat()
    chart_pages = {
        "overview": "/?days=90",
        "account": f"/accounts/{site.accounts['lab-a'].pk}/?period=2026-10",
        "job": f"/jobs/{site.jobs['train-05'].pk}/?period=2026-10",
        "live": "/live/?" + urlencode({"metric": "cpu/usage_rate", "range": "1h", "end": end}),
    }
    for name, path in chart_pages.items():
        assert browser.open(path) == 200, name
        drawn = browser.charts_drawn()
        assert drawn and all(points > 0 for points in drawn.values()), (name, drawn)
    statement = Statement.objects.filter(account=site.accounts["lab-a"]).first()
    assert browser.open(f"/statements/{statement.pk}/") == 200
    with browser.page.expect_event("console") as printed:
        browser.page.evaluate("window.print = () => console.log('printed')")
        browser.page.click("button[data-print]")
    assert printed.value.text == "printed"
    assert browser.open("/api/v1/docs") == 200
    browser.page.wait_for_selector(".swagger-ui .opblock", timeout=15_000)
    assert browser.errors == []
