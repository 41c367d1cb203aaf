"""GPU energy in a real browser (Debian's chromium): the overview's chart and the idle GPUs
page, reached from the menu, as ops see them."""

from tests.fixtures.idle_gpus import UNHELD, UNHELD_DAYS, add_gpu_energy


def test_ops_see_the_energy_chart_and_follow_the_menu_to_one_days_idle_gpus(browse, site):
    add_gpu_energy(site)
    browser = browse()
    browser.login("oscar")
    assert browser.open("/?days=365") == 200
    assert browser.charts_drawn()["gpu-energy-per-day"] > 0
    browser.page.locator("#gpu-energy").scroll_into_view_if_needed()
    browser.screenshot("overview-gpu-energy")
    page = browser.page
    page.click("nav a[href='/gpus/idle/']")
    page.wait_for_load_state()
    page.fill("#id_day", UNHELD_DAYS[0].isoformat())
    page.click("#idle-gpu-filters button[type=submit]")
    page.wait_for_load_state()
    assert f"day={UNHELD_DAYS[0].isoformat()}" in page.url
    nodes = page.locator("#unheld-gpus tbody tr[data-node]")
    assert sorted(nodes.evaluate_all("rows => rows.map(r => r.dataset.node)")) == sorted(UNHELD)
    accounts = page.locator("#held-gpus tbody tr[data-account]")
    assert accounts.count() > 0
    browser.screenshot("idle-gpus")
