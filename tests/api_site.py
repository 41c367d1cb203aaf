"""The billed site of tests/site_data.py for the API tests, built once per test module.

The site is written inside a transaction that the module's end rolls back; each test runs
in a savepoint inside it (pytest-django's `db`), so tests may add rows freely. Clients are
logged in as a fresh copy of the user, so that no role read is cached between tests.
Test modules import `site_fixture`; tests ask for `site`.
"""

import pytest
from django.contrib.auth.models import User
from django.db import transaction
from django.test import override_settings
from rest_framework.test import APIClient

from tests.site_data import build_site

# The users of the site, one per role; "anonymous" is no user at all.
ROLES = {"finance": "fiona", "ops": "oscar", "member": "alice", "anonymous": None}


@pytest.fixture(scope="module", name="site")
def site_fixture(django_db_setup, django_db_blocker, tmp_path_factory):
    """The site with October closed and exported as CSV into a temporary directory."""
    export_dir = tmp_path_factory.mktemp("exports")
    with (
        django_db_blocker.unblock(),
        override_settings(KUBEMON_EXPORT_DIR=str(export_dir)),
        transaction.atomic(),
    ):
        built = build_site(export_dir)
        built.export_dir = export_dir
        yield built
        transaction.set_rollback(True)


def client_for(username: str | None) -> APIClient:
    client = APIClient()
    if username is not None:
        client.force_authenticate(User.objects.get(username=username))
    return client


def get(username: str | None, url: str, **params):
    return client_for(username).get(url, params)
