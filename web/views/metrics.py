"""/metrics: the app's own metrics in Prometheus' text format, for Prometheus to scrape.

The collection's health and the accounts' budget use come from the database at each scrape
(billing/collection/health.py, billing/ledger/budget_metrics.py);
the web process's own Prometheus requests (promadapter/instrumentation.py) and the process
metrics of prometheus_client come from memory. No login: Prometheus scrapes it. When
KUBEMON_METRICS_TOKEN is set, the scrape must send it as `Authorization: Bearer <token>`.
"""

import hmac

from django.conf import settings
from django.http import HttpResponse
from django.views.decorators.cache import never_cache
from prometheus_client import CONTENT_TYPE_PLAIN_0_0_4, REGISTRY, generate_latest

from billing.collection.health import CollectionMetrics
from billing.ledger.budget_metrics import BudgetMetrics

REGISTRY.register(CollectionMetrics())
REGISTRY.register(BudgetMetrics())


@never_cache
def metrics(request):
    if not authorized(request):
        response = HttpResponse("a bearer token is required\n", status=401)
        response["WWW-Authenticate"] = "Bearer"
        return response
    # The classic text format (0.0.4), which every Prometheus 2 and 3 reads; the names need
    # no UTF-8 escaping.
    return HttpResponse(generate_latest(REGISTRY), content_type=CONTENT_TYPE_PLAIN_0_0_4)


def authorized(request) -> bool:
    token = settings.KUBEMON_METRICS_TOKEN
    if not token:
        return True
    sent = request.headers.get("Authorization", "")
    return hmac.compare_digest(sent.encode(), f"Bearer {token}".encode())
