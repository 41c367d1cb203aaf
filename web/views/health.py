"""The app's health checks for Kubernetes probes: /healthz (liveness) and /readyz (readiness).

Liveness asks nothing outside the process: a database or Prometheus blip must not get every
pod restarted. Readiness asks both, with a short timeout and no retries, and names what
failed without echoing PROMETHEUS_URL, which may carry credentials.
"""

import logging

from django.conf import settings
from django.db import DatabaseError, connection
from django.http import JsonResponse
from django.views.decorators.cache import never_cache

from promadapter.client import PrometheusClient, PrometheusError
from promadapter.instrumentation import outcome_of

log = logging.getLogger(__name__)


@never_cache
def healthz(request):
    """Answer 200 while the process serves requests."""
    return JsonResponse({"status": "ok"})


@never_cache
def readyz(request):
    """Answer 200 when the database and Prometheus answer, else 503 naming what failed."""
    checks = {"database": database_check(), "prometheus": prometheus_check()}
    ready = all(result == "ok" for result in checks.values())
    return JsonResponse(
        {"status": "ok" if ready else "unavailable", "checks": checks},
        status=200 if ready else 503,
    )


def database_check() -> str:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except DatabaseError as e:
        log.warning("readyz: the database failed: %s", type(e).__name__)
        return "unavailable"
    return "ok"


def prometheus_check() -> str:
    """Ask Prometheus for one trivial query, through the project's client and its auth."""
    client = PrometheusClient(timeout=settings.KUBEMON_READY_TIMEOUT, retries=0)
    try:
        client.query("vector(1)")
    except PrometheusError as e:
        outcome = outcome_of(e)
        log.warning("readyz: Prometheus failed: %s", outcome)
        return outcome
    return "ok"
