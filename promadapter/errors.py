"""The typed errors of the Prometheus client, mapped by the API to HTTP statuses.

PrometheusUnavailable and PrometheusBadResponse are 502s, PrometheusTimeout a 504. Each one's
`detail` is shown to API users and stored on failed collection runs: it never carries the
credentials of PROMETHEUS_URL, nor more than a short excerpt of what Prometheus answered.
"""


class PrometheusError(Exception):
    """Base of the client's errors; `detail` is safe to show to an API user."""

    def __init__(self, detail: str):
        super().__init__(detail)
        self.detail = detail


class PrometheusUnavailable(PrometheusError):
    """Prometheus could not be reached, answered 5xx, or only partial data, on every attempt."""


class PrometheusTimeout(PrometheusError):
    """Prometheus did not answer in time, or gave up evaluating the query."""


class PrometheusBadResponse(PrometheusError):
    """Prometheus answered, but not with a usable result (bad JSON, wrong shape, too large)."""
