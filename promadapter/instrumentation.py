"""The web process's own Prometheus requests as metrics: how many, how they ended, how long.

The client (promadapter/client.py) wraps each call to the query API in `observed`, so that a
page or API answer slowed or broken by Prometheus shows on /metrics. A call is measured
whole, retries and backoff included: that is what the user waited for. The counts are per
process: each gunicorn worker keeps its own.
"""

import functools
import time

from prometheus_client import Counter, Histogram

from promadapter.errors import PrometheusTimeout, PrometheusUnavailable

OUTCOMES = ("ok", "unavailable", "timeout", "bad_response")

REQUESTS = Counter(
    "kubemon_prometheus_requests",
    "Requests of this process to Prometheus' query API, by outcome "
    "(ok, unavailable, timeout, bad_response).",
    ["outcome"],
)
REQUEST_DURATION = Histogram(
    "kubemon_prometheus_request_duration_seconds",
    "Seconds this process waited for one Prometheus API call, retries included.",
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
)
# Every outcome from the start at 0, so that rate() and increase() see the first error.
for outcome in OUTCOMES:
    REQUESTS.labels(outcome)


def outcome_of(error: Exception) -> str:
    """The outcome label of a failed call: its PrometheusError subclass, or bad_response."""
    if isinstance(error, PrometheusTimeout):
        return "timeout"
    if isinstance(error, PrometheusUnavailable):
        return "unavailable"
    return "bad_response"


def observed(call):
    """Decorate a client call: count it by outcome and time it, whatever it raises."""

    @functools.wraps(call)
    def measured(*args, **kwargs):
        began = time.monotonic()
        outcome = "ok"
        try:
            return call(*args, **kwargs)
        except Exception as e:
            outcome = outcome_of(e)
            raise
        finally:
            REQUEST_DURATION.observe(time.monotonic() - began)
            REQUESTS.labels(outcome).inc()

    return measured
