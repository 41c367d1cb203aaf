"""Production settings: the app refuses to serve on the demo key, and the example is clean.

With DJANGO_DEBUG=False, no DJANGO_SECRET_KEY (or an empty one) means the public demo key:
the WSGI application refuses to load and `check --deploy` fails. Under the example production
environment (docs/production.env.example) `check --deploy` reports no issue at all. Each case
runs Django in a fresh process, since settings are read once at start.
"""

import os
import subprocess
import sys

import pytest

from tests import ROOT

EXAMPLE = ROOT / "docs" / "production.env.example"


def example_environment() -> dict[str, str]:
    lines = EXAMPLE.read_text().splitlines()
    pairs = [line.split("=", 1) for line in lines if line.strip() and not line.startswith("#")]
    return {name: value for name, value in pairs}


def django(code: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    """Run Python in the project, with only `env` (and PATH) for environment."""
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={"PATH": os.environ["PATH"], "DJANGO_SETTINGS_MODULE": "kubemon.settings", **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


CHECK_DEPLOY = "from django.core.management import execute_from_command_line as run; "
CHECK_DEPLOY += "run(['manage.py', 'check', '--deploy', '--fail-level', 'WARNING'])"
LOAD_WSGI = "import kubemon.wsgi"


@pytest.fixture
def production(tmp_path) -> dict[str, str]:
    """The example environment, its secret files written to a temporary directory."""
    key = tmp_path / "secret-key"
    key.write_text("k8s-billing-" + "x7Qm2-pZ9v" * 6 + "\n")
    database = tmp_path / "database-url"
    database.write_text(f"sqlite:///{tmp_path / 'db.sqlite3'}\n")
    env = example_environment()
    return {**env, "DJANGO_SECRET_KEY_FILE": str(key), "DATABASE_URL_FILE": str(database)}


def test_check_deploy_is_clean_under_the_example_production_environment(production):
    done = django(CHECK_DEPLOY, production)
    assert done.returncode == 0, done.stderr
    assert "System check identified no issues" in done.stdout


def without_key(production: dict[str, str], key: str | None) -> dict[str, str]:
    env = {k: v for k, v in production.items() if k != "DJANGO_SECRET_KEY_FILE"}
    return env if key is None else {**env, "DJANGO_SECRET_KEY": key}


@pytest.mark.parametrize("key", [None, ""], ids=["no key", "an empty key"])
def test_the_app_refuses_to_start_without_a_secret_key_when_debug_is_off(production, key):
    loaded = django(LOAD_WSGI, without_key(production, key))
    assert loaded.returncode != 0
    assert "DJANGO_SECRET_KEY is not set" in loaded.stderr


def test_check_deploy_fails_without_a_secret_key_when_debug_is_off(production):
    checked = django(CHECK_DEPLOY, without_key(production, None))
    assert checked.returncode != 0
    assert "kubemon.E001" in checked.stderr
