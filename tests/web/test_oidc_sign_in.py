"""Sign-in through a real OpenID Connect provider (tests/fixtures/oidc_provider.py), in a real
browser: roles and account membership follow the provider's groups at every sign-in, both
ways, and logout ends the app's session and the provider's."""

import pytest

from billing.models import Account

pytestmark = pytest.mark.django_db(transaction=True)


def sign_in(browser, login: str):
    """Sign in with the provider's button and its login form (any password)."""
    page = browser.page
    page.goto("/login/")
    page.click("#oidc-sign-in")
    page.fill("input[name=login]", login)
    page.fill("input[name=password]", "any")
    page.click("button[type=submit]")
    page.wait_for_selector("h1")
    page.wait_for_load_state()


def log_out(browser):
    """The app's Log out button, then the provider's confirmation."""
    page = browser.page
    page.click("form[action='/logout/'] button[type=submit]")
    page.click("button[name=logout]")
    page.wait_for_url("**/login/")


@pytest.fixture
def school(oidc_settings, site):
    """The site with lab-a and lab-b naming their groups at the provider."""
    Account.objects.filter(name="lab-a").update(idp_groups="lab-a-members|bio-staff")
    Account.objects.filter(name="lab-b").update(idp_groups="lab-b-members")
    return oidc_settings


@pytest.fixture
def browser(browse):
    opened = browse()
    # The provider's development pages import a web font; nothing leaves 127.0.0.1.
    opened.page.route("https://fonts.googleapis.com/**", lambda route: route.abort())
    return opened


def account_names(browser) -> set[str]:
    browser.open("/accounts/")
    return set(browser.page.locator("table a[href^='/accounts/']").all_inner_texts())


def test_the_login_page_offers_the_provider_first_and_keeps_the_password_form(school, browser):
    browser.open("/login/")
    first = browser.page.locator("#oidc-sign-in, form.login").first
    assert first.get_attribute("id") == "oidc-sign-in"
    assert browser.page.inner_text("#oidc-sign-in") == "Sign in with Test School"
    assert browser.page.locator("form.login #id_password").count() == 1


def test_a_finance_group_member_sees_every_account(school, browser, site):
    school.set_user("fanny", ["finance-office"])
    sign_in(browser, "fanny")
    assert browser.page.inner_text("header .user") == "fanny"
    assert {"lab-a", "lab-b"} <= account_names(browser)
    assert browser.open("/statements/") == 200


def test_a_lab_member_sees_only_their_groups_account_and_not_another(school, browser, site):
    school.set_user("lara", ["bio-staff"])
    sign_in(browser, "lara")
    assert account_names(browser) == {"lab-a"}
    assert browser.open(f"/accounts/{site.accounts['lab-a'].pk}/") == 200
    assert browser.open(f"/accounts/{site.accounts['lab-b'].pk}/") == 404


def test_leaving_the_group_and_signing_in_again_removes_the_access(school, browser, site):
    school.set_user("leo", ["lab-a-members", "cluster-admins"])
    sign_in(browser, "leo")
    assert {"lab-a", "lab-b"} <= account_names(browser)  # ops see every account
    log_out(browser)
    school.set_user("leo", [])
    sign_in(browser, "leo")
    assert account_names(browser) == set()
    assert browser.open(f"/accounts/{site.accounts['lab-a'].pk}/") == 404


def test_a_user_without_a_known_group_sees_an_empty_overview_saying_whom_to_ask(school, browser):
    school.set_user("newcomer", ["some-other-group"])
    sign_in(browser, "newcomer")
    assert "Ask your lab's account manager" in browser.page.inner_text("#no-account")
    assert account_names(browser) == set()


def test_logout_ends_the_apps_session_and_the_providers(school, browser):
    school.set_user("lara", ["lab-a-members"])
    sign_in(browser, "lara")
    log_out(browser)
    assert browser.open("/") == 200 and "/login/" in browser.page.url
    browser.page.click("#oidc-sign-in")
    # The provider asks who signs in again: its session ended with the app's.
    browser.page.wait_for_selector("input[name=login]")
