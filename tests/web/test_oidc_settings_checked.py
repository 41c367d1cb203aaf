"""Bad or missing sign-in settings: `manage.py check` names the setting (web/checks.py).

Each case runs Django in a fresh process, since settings are read once at start. Without any
OIDC setting the check is clean, as in the demo.
"""

import os
import subprocess
import sys

import pytest

from tests import ROOT

HTTPS = "https://login.example.org"
COMPLETE = {
    "OIDC_RP_CLIENT_ID": "kubemon",
    "OIDC_RP_CLIENT_SECRET": "secret",
    "OIDC_OP_AUTHORIZATION_ENDPOINT": HTTPS + "/authorize",
    "OIDC_OP_TOKEN_ENDPOINT": HTTPS + "/token",
    "OIDC_OP_USER_ENDPOINT": HTTPS + "/userinfo",
    "OIDC_OP_JWKS_ENDPOINT": HTTPS + "/keys",
    "OIDC_OP_LOGOUT_ENDPOINT": HTTPS + "/logout",
}


def check(env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=ROOT,
        env={"PATH": os.environ["PATH"], **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize("env", [{}, COMPLETE], ids=["no provider", "a complete provider"])
def test_the_check_is_clean_without_a_provider_and_with_a_complete_one(env):
    done = check(env)
    assert done.returncode == 0, done.stderr
    assert "no issues" in done.stdout


@pytest.mark.parametrize(
    "env, named",
    [
        ({"OIDC_RP_CLIENT_ID": "kubemon"}, "OIDC_OP_AUTHORIZATION_ENDPOINT"),
        ({**COMPLETE, "OIDC_OP_JWKS_ENDPOINT": ""}, "OIDC_OP_JWKS_ENDPOINT"),
        ({**COMPLETE, "OIDC_RP_CLIENT_SECRET": ""}, "OIDC_RP_CLIENT_SECRET"),
        ({**COMPLETE, "OIDC_RP_CLIENT_ID": ""}, "OIDC_RP_CLIENT_ID"),
        ({**COMPLETE, "OIDC_OP_TOKEN_ENDPOINT": "http://idp/token"}, "OIDC_OP_TOKEN_ENDPOINT"),
        ({**COMPLETE, "OIDC_RP_SIGN_ALGO": "RS1024"}, "OIDC_RP_SIGN_ALGO"),
        ({"KUBEMON_LOCAL_LOGIN": "False"}, "KUBEMON_LOCAL_LOGIN"),
    ],
    ids=[
        "client id without endpoints",
        "no JWKS endpoint",
        "no client secret",
        "endpoints without a client id",
        "plain HTTP endpoint",
        "unknown algorithm",
        "no way to sign in",
    ],
)
def test_a_bad_or_missing_setting_fails_the_check_naming_it(env, named):
    done = check(env)
    assert done.returncode != 0
    assert named in done.stderr


def test_a_plain_http_endpoint_is_accepted_in_debug_mode():
    done = check({**COMPLETE, "DJANGO_DEBUG": "True", "OIDC_OP_TOKEN_ENDPOINT": "http://idp/t"})
    assert done.returncode == 0, done.stderr
