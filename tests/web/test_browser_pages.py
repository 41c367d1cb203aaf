"""Every page in a real browser (Debian's chromium), as each role sees it."""

import csv
import hashlib
import io
from datetime import timedelta
from urllib.parse import urlencode

from billing.models import ExportFile, HourlyUsage, Statement

OCTOBER = "2026-10"


def test_finance_opens_every_page_and_each_chart_is_drawn_with_data(browse, site):
    browser = browse()
    browser.login("fiona")
    lab_a = site.accounts["lab-a"].pk
    pages = {
        "overview": "/?days=90",
        "accounts": "/accounts/",
        "account": f"/accounts/{lab_a}/?period={OCTOBER}",
        "job": f"/jobs/{site.jobs['train-05'].pk}/?period={OCTOBER}",
    }
    for name, path in pages.items():
        assert browser.open(path) == 200, name
        drawn = browser.charts_drawn()
        assert all(points > 0 for points in drawn.values()), (name, drawn)
        browser.screenshot(name)
    assert browser.open("/?days=90") == 200
    assert set(browser.charts_drawn()) == {"cost-per-day", "cost-per-account"}


def test_lab_member_filters_sorts_pages_and_downloads_the_jobs_csv(browse, site, monkeypatch):
    monkeypatch.setattr("web.views.accounts.JOBS_PER_PAGE", 4)
    browser = browse()
    browser.login("alice")
    page = browser.page
    assert browser.open(f"/accounts/{site.accounts['lab-a'].pk}/?period={OCTOBER}") == 200
    page.select_option("#id_namespace", "bio-lab")
    page.select_option("#id_sort", "-cpu_hours")
    page.click("#job-filters button[type=submit]")
    page.wait_for_load_state()
    names = page.locator("#jobs tbody tr td:first-child").all_inner_texts()
    assert len(names) == 4
    expected = october_jobs(site, "bio-lab")
    by_cpu = sorted(expected, key=lambda n: -expected[n])
    assert names == by_cpu[:4]
    page.click("a[rel=next]")
    page.wait_for_load_state()
    assert page.locator("#jobs tbody tr td:first-child").all_inner_texts() == by_cpu[4:8]
    with page.expect_download() as download:
        page.click("#jobs-csv")
    rows = list(csv.DictReader(io.StringIO(download.value.path().read_text())))
    assert [r["name"] for r in rows] == by_cpu
    for row in rows:
        assert float(row["cpu_core_hours"]) == expected[row["name"]]


def october_jobs(site, namespace) -> dict[str, float]:
    """Core-hours used in October per job of a namespace, from the database."""
    totals: dict[str, float] = {}
    for u in HourlyUsage.objects.filter(
        job__namespace=namespace, hour__month=10, hour__year=2026
    ).select_related("job"):
        totals[u.job.name] = totals.get(u.job.name, 0.0) + u.cpu_core_seconds
    return {name: seconds / 3600 for name, seconds in totals.items()}


def test_the_browser_language_chooses_french_and_the_switch_goes_back_to_english(browse, site):
    browser = browse(locale="fr-CH")
    browser.login("fiona")
    page = browser.page
    assert browser.open("/?days=90") == 200
    assert page.locator("html").get_attribute("lang") == "fr"
    assert page.locator("h1").inner_text() == "Vue d'ensemble"
    memory = page.locator("#top-accounts tbody tr").first.locator("td").nth(3).inner_text()
    assert memory == "2'664.0"
    browser.screenshot("overview-fr")
    page.click("form.language button[value=en]")
    page.wait_for_load_state()
    assert page.locator("html").get_attribute("lang") == "en"
    assert page.locator("h1").inner_text() == "Overview"
    memory = page.locator("#top-accounts tbody tr").first.locator("td").nth(3).inner_text()
    assert memory == "2,664.0"


def test_lab_member_cannot_reach_another_accounts_pages(browse, site):
    browser = browse()
    browser.login("alice")
    lab_b = site.accounts["lab-b"]
    assert browser.open(f"/accounts/{lab_b.pk}/") == 404
    assert browser.open(f"/accounts/{lab_b.pk}/jobs.csv") == 404
    assert browser.open(f"/jobs/{site.jobs['db'].pk}/") == 404
    statement = Statement.objects.get(account=lab_b, period__month__month=10)
    assert browser.open(f"/statements/{statement.pk}/") == 404
    assert browser.open("/exports/") == 403
    assert browser.open("/live/") == 403
    assert browser.open("/accounts/") == 200
    assert browser.page.locator("#accounts tbody tr").all_inner_texts()[0].startswith("lab-a")
    assert browser.page.locator("#accounts tbody tr").count() == 1


def test_a_wrong_password_is_refused_on_the_login_page(browse, site):
    browser = browse()
    browser.login("alice", "not the password")
    assert browser.page.url.endswith("/login/")
    assert browser.page.locator("[role=alert]").count() == 1
    assert browser.open("/") == 200
    assert browser.page.url.endswith("/login/?next=/")


def test_finance_opens_a_statement_prints_it_and_downloads_the_export(browse, site):
    browser = browse()
    browser.login("fiona")
    page = browser.page
    assert browser.open(f"/statements/?period={OCTOBER}") == 200
    browser.screenshot("statements")
    statement = Statement.objects.get(account__name="lab-a", period__month__month=10)
    page.click(f"a[href='/statements/{statement.pk}/']")
    page.wait_for_load_state()
    assert f"{statement.total_chf}" in page.locator("main").inner_text()
    browser.screenshot("statement")
    page.emulate_media(media="print")
    assert not page.locator("header.top").is_visible()
    assert page.locator("main table").first.is_visible()
    browser.screenshot("statement-print")
    page.emulate_media(media="screen")
    assert browser.open("/exports/") == 200
    browser.screenshot("exports")
    (batch_file,) = ExportFile.objects.all()
    with page.expect_download() as download:
        page.click(f"a[href='/exports/files/{batch_file.pk}']")
    content = download.value.path().read_bytes()
    assert hashlib.sha256(content).hexdigest() == batch_file.sha256
    assert download.value.suggested_filename == batch_file.name


def test_ops_watch_live_metrics_with_a_filter_and_see_no_statements(
    browse, site, prometheus_settings, history_window
):
    browser = browse()
    browser.login("oscar")
    page = browser.page
    end = (history_window[1] - timedelta(hours=1)).isoformat()
    query = urlencode({"metric": "cpu/usage_rate", "range": "1h", "end": end})
    assert browser.open(f"/live/?{query}") == 200
    assert browser.charts_drawn()["live-chart"] > 0
    every = page.locator("table.live-values tbody tr").count()
    browser.screenshot("live")
    headers = page.locator("table.live-values thead th").all_inner_texts()
    first_row = page.locator("table.live-values tbody tr").first.locator("td")
    namespace = first_row.nth(headers.index("Namespace")).inner_text()
    page.fill("#id_namespace", namespace)
    page.click("main form button[type=submit]")
    page.wait_for_load_state()
    assert browser.charts_drawn()["live-chart"] > 0
    assert 0 < page.locator("table.live-values tbody tr").count() < every
    assert browser.open("/statements/") == 403
    assert browser.open("/exports/") == 403
