"""Schemathesis against the OpenAPI schema at /api/v1/schema: no 500, every answer as documented.

Hypothesis generates requests for every operation from the schema (valid and invalid values
of every parameter) and each answer is checked: not a server error, a status code and a
content type the schema lists, a body that matches the schema. Bounded for the suite: a few
examples per operation, derandomized (the same requests each run), no deadline. Prometheus
is a closed port without retries: the metric endpoints' valid requests get their documented
502 at once (tests/web/test_api_schema.py checks their answers against a real Prometheus).
"""

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from rest_framework.authtoken.models import Token
from schemathesis import checks

schema = schemathesis.openapi.from_wsgi("/api/v1/schema?format=json", get_wsgi_application())
EXAMPLES = 5


@pytest.fixture
def test_connection():
    """Keep the test's database connection across requests, as Django's test client does.

    The WSGI handler closes it when a request ends, which on PostgreSQL ends the test's
    transaction (SQLite's in-memory test database survives it).
    """
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def token(db, settings, django_user_model, test_connection) -> str:
    """A finance user's token: every endpoint answers it, none refuses it."""
    settings.PROMETHEUS_URL = "http://127.0.0.1:9"
    settings.PROMETHEUS_RETRIES = 0
    user = django_user_model.objects.create_user("fuzz", is_staff=True)
    return Token.objects.create(user=user).key


@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)
def test_no_request_built_from_the_schema_gets_a_500_or_an_undocumented_answer(case, token):
    # A date-time the schema allows may be outside 1970-2200, which OpenAPI cannot express:
    # its 400 is right, so "valid data accepted" is not checked. Nor is "invalid auth refused":
    # the valid token is sent beside the generated session cookie, and a bad token's 401 is
    # tested in tests/web/test_auth_matrix.py. Every other check is.
    case.call_and_validate(
        headers={"Authorization": f"Token {token}"},
        excluded_checks=[checks.positive_data_acceptance, checks.ignored_auth],
    )
