"""The login page: as before without a provider; the password form only while
KUBEMON_LOCAL_LOGIN is on (a password is then refused, 403, and nobody is signed in)."""

from django.contrib.auth.models import User
from django.test import Client

PROVIDER = {
    "OIDC_RP_CLIENT_ID": "kubemon",
    "OIDC_OP_AUTHORIZATION_ENDPOINT": "https://idp.example.org/authorize",
    "KUBEMON_OIDC_PROVIDER_NAME": "EPFL",
}


def test_without_a_provider_the_login_page_is_the_password_form_alone(db):
    page = Client().get("/login/").content.decode()
    assert 'id="id_password"' in page
    assert "oidc-sign-in" not in page and "Sign in with" not in page


def test_with_a_provider_its_button_comes_before_the_password_form(db, settings):
    for name, value in PROVIDER.items():
        setattr(settings, name, value)
    page = Client().get("/login/?next=/accounts/").content.decode()
    assert "Sign in with EPFL" in page
    assert page.index("oidc-sign-in") < page.index('id="id_password"')
    assert 'href="/oidc/authenticate/?next=/accounts/"' in page


def test_the_button_speaks_french(db, settings):
    for name, value in PROVIDER.items():
        setattr(settings, name, value)
    page = Client(HTTP_ACCEPT_LANGUAGE="fr-CH").get("/login/").content.decode()
    assert "Se connecter avec EPFL" in page


def test_without_local_login_there_is_no_password_form_and_a_password_is_refused(db, settings):
    for name, value in PROVIDER.items():
        setattr(settings, name, value)
    settings.KUBEMON_LOCAL_LOGIN = False
    settings.AUTHENTICATION_BACKENDS = ["web.oidc.Backend"]
    settings.OIDC_OP_JWKS_ENDPOINT = "https://idp.example.org/keys"
    User.objects.create_user("breakglass", password="a-long-password-1")
    client = Client()
    assert 'id="id_password"' not in client.get("/login/").content.decode()
    answer = client.post("/login/", {"username": "breakglass", "password": "a-long-password-1"})
    assert answer.status_code == 403
    assert "_auth_user_id" not in client.session
