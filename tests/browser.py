"""Fixtures of the browser tests: Debian's chromium driven by Playwright against a live server.

The live server runs in a thread of the test process on the test database (PostgreSQL in
CI) and serves the static files, Chart.js included. Playwright's sync API runs an event
loop in the test's thread, which Django would take for an async context: the ORM calls of
the test itself are synchronous, so DJANGO_ALLOW_ASYNC_UNSAFE is set while the browser runs,
and the browser is closed at the end of each browser test module, before other tests run.
"""

from pathlib import Path

import pytest

from tests.site_data import PASSWORD, build_site

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOTS = Path(__file__).resolve().parent.parent / "test-output" / "screenshots"
TIMEOUT_MS = 15_000


@pytest.fixture(scope="module")
def chromium():
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: `make test` installs Debian's chromium package")
    with pytest.MonkeyPatch.context() as patch, sync_playwright() as playwright:
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True
        )
        yield browser
        browser.close()


@pytest.fixture
def site(chromium, transactional_db, settings, tmp_path):
    """The billed site of tests/site_data.py, October closed and exported under tmp_path."""
    settings.KUBEMON_EXPORT_DIR = str(tmp_path / "exports")
    return build_site(Path(settings.KUBEMON_EXPORT_DIR))


class Browser:
    """One browser context (a language, a download folder) on the live server."""

    def __init__(self, chromium, base_url: str, locale: str):
        self.context = chromium.new_context(base_url=base_url, locale=locale, accept_downloads=True)
        self.context.set_default_timeout(TIMEOUT_MS)
        self.page = self.context.new_page()
        self.errors: list[str] = []
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))

    def login(self, username: str, password: str = PASSWORD):
        self.page.goto("/login/")
        self.page.fill("#id_username", username)
        self.page.fill("#id_password", password)
        self.page.click("form.login button[type=submit]")
        self.page.wait_for_load_state()

    def open(self, path: str):
        """Open a page and answer its HTTP status."""
        response = self.page.goto(path)
        self.page.wait_for_load_state("load")
        return response.status

    def charts_drawn(self) -> dict[str, int]:
        """Each chart of the page and how many points Chart.js drew for it."""
        canvases = self.page.locator("canvas[data-chart]")
        return {
            canvases.nth(i).get_attribute("id"): int(
                canvases.nth(i).get_attribute("data-rendered") or 0
            )
            for i in range(canvases.count())
        }

    def screenshot(self, name: str):
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)

    def close(self):
        self.context.close()


@pytest.fixture
def browse(chromium, live_server, site):
    """Open browsers as needed: `browse(locale="fr-CH")`; all closed after the test."""
    opened = []

    def open_browser(locale: str = "en-GB") -> Browser:
        browser = Browser(chromium, live_server.url, locale)
        opened.append(browser)
        return browser

    yield open_browser
    for browser in opened:
        assert not browser.errors, f"JavaScript errors: {browser.errors}"
        browser.close()
