"""Every page fits a 1280-px window: wide tables scroll inside their own box
(`div.table-scroll`, web/static/web/site.css), the page itself never scrolls sideways."""

import re
from datetime import timedelta
from urllib.parse import urlencode

import pytest

from billing.models import Job, Statement
from tests import ROOT

WINDOW = {"width": 1280, "height": 800}


def page_width(browser) -> int:
    return browser.page.evaluate("document.documentElement.scrollWidth")


def pages(site, history_window) -> dict[str, str]:
    statement = Statement.objects.filter(account=site.accounts["lab-a"]).first()
    end = (history_window[1] - timedelta(hours=1)).isoformat()
    return {
        "overview": "/?days=90",
        "accounts": "/accounts/",
        "account": f"/accounts/{site.accounts['lab-a'].pk}/?period=2026-10",
        "job": f"/jobs/{site.jobs['train-05'].pk}/?period=2026-10",
        "statements": "/statements/?period=2026-10",
        "statement": f"/statements/{statement.pk}/",
        "exports": "/exports/",
        "live": "/live/?" + urlencode({"metric": "cpu/usage_rate", "range": "1h", "end": end}),
        "idle gpus": "/gpus/idle/?period=2026-10",
    }


@pytest.mark.parametrize("locale", ["en-GB", "fr-CH"])
def test_every_page_fits_a_1280_px_window(
    browse, site, prometheus_settings, history_window, locale
):
    browser = browse(locale=locale, viewport=WINDOW)
    browser.login("fiona")
    too_wide = {}
    for name, path in pages(site, history_window).items():
        assert browser.open(path) == 200, name
        assert browser.page.locator("main table").count() > 0, name
        if (width := page_width(browser)) > WINDOW["width"]:
            too_wide[name] = width
    assert not too_wide, f"wider than the window: {too_wide}"


def test_a_wide_table_scrolls_inside_its_own_box(browse, site):
    narrow = {"width": 800, "height": 800}
    browser = browse(viewport=narrow)
    browser.login("fiona")
    assert browser.open(f"/jobs/{site.jobs['train-05'].pk}/?period=2026-10") == 200
    box = browser.page.locator("div.table-scroll:has(#job-summary)")
    assert box.evaluate("e => getComputedStyle(e).overflowX") == "auto"
    # The table, not the page, scrolls.
    assert page_width(browser) <= narrow["width"]
    assert box.evaluate("e => e.scrollWidth > e.clientWidth")


def test_every_table_of_the_templates_sits_in_a_scrolling_box():
    for template in (ROOT / "web" / "templates" / "web").glob("*.html"):
        text = template.read_text()
        tables = len(re.findall(r"<table\b", text))
        boxed = len(re.findall(r'<div class="table-scroll">\s*<table\b', text))
        assert tables == boxed, template.name


def test_a_long_job_name_scrolls_the_account_s_jobs_table_not_the_page(browse, site):
    # Kubernetes names run to 253 characters, without a space to break at.
    job = site.jobs["train-05"]
    Job.objects.filter(pk=job.pk).update(name="train-" + "0123456789abcdef" * 10)
    browser = browse(viewport=WINDOW)
    browser.login("fiona")
    assert browser.open(f"/accounts/{site.accounts['lab-a'].pk}/?period=2026-10") == 200
    assert page_width(browser) <= WINDOW["width"]
    box = browser.page.locator("div.table-scroll:has(#jobs)")
    assert box.evaluate("e => e.scrollWidth > e.clientWidth")
