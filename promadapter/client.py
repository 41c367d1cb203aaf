"""The one HTTP client for Prometheus' query API (also Thanos Query, Mimir, VictoriaMetrics).

Every request has a timeout; connection errors, timeouts and 5xx answers are retried with
exponential backoff; long range queries are cut into pieces below Prometheus' limit of 11,000
points per series and joined again. Failures surface as three exception types that the API maps to
HTTP statuses: PrometheusUnavailable (502), PrometheusTimeout (504), PrometheusBadResponse (502).
Results keep Prometheus' JSON shape (`{"metric": {...}, "values": [[ts, "value"], ...]}`), values
as the strings Prometheus sent, so callers choose float or Decimal.
"""

import logging
import math
import time
from datetime import datetime

import requests
from django.conf import settings

from promadapter.instrumentation import observed

log = logging.getLogger(__name__)

# Prometheus refuses range queries of more than 11,000 points per series; stay clearly below.
POINTS_PER_CHUNK = 10_000


class PrometheusError(Exception):
    """Base of the client's errors; `detail` is safe to show to an API user."""

    def __init__(self, detail: str):
        super().__init__(detail)
        self.detail = detail


class PrometheusUnavailable(PrometheusError):
    """Prometheus could not be reached or answered 5xx on every attempt."""


class PrometheusTimeout(PrometheusError):
    """Prometheus did not answer in time, or gave up evaluating the query."""


class PrometheusBadResponse(PrometheusError):
    """Prometheus answered, but not with a usable result (bad JSON, an error, a rejected query)."""


def unix_seconds(at: datetime | float | int) -> float:
    """Return a datetime (aware) or a number of seconds as unix seconds."""
    if isinstance(at, datetime):
        if at.tzinfo is None:
            raise ValueError("naive datetime: Prometheus times must be timezone-aware")
        return at.timestamp()
    return float(at)


def chunks(start: float, end: float, step: float) -> list[tuple[float, float]]:
    """Return (start, end) pieces of a range query, each at most POINTS_PER_CHUNK points.

    Pieces lie on the same step grid as the whole range and do not overlap, so joining their
    answers gives exactly the points of one big query.
    """
    pieces = []
    span = (POINTS_PER_CHUNK - 1) * step
    while start <= end:
        piece_end = min(start + span, end)
        pieces.append((start, piece_end))
        start = piece_end + step
    return pieces


def result(data: dict | list) -> list:
    """Return the `result` list of a query answer's data, checking its shape."""
    if not isinstance(data, dict) or not isinstance(data.get("result"), list):
        raise PrometheusBadResponse("Prometheus answered a query without a result list")
    for item in data["result"]:
        # Scalars and strings are [ts, value] pairs, vectors and matrices {"metric": ...} objects.
        if isinstance(item, dict) and not isinstance(item.get("metric"), dict):
            raise PrometheusBadResponse("Prometheus answered a series without labels")
    return data["result"]


class PrometheusClient:
    """A thin client over one `requests.Session`, configured from settings by default."""

    def __init__(
        self,
        url: str | None = None,
        *,
        timeout: float | None = None,
        retries: int | None = None,
        backoff: float = 0.5,
        headers: dict[str, str] | None = None,
        bearer_token: str | None = None,
        ca_file: str | None = None,
    ):
        self.url = (url or settings.PROMETHEUS_URL).rstrip("/")
        self.timeout = settings.PROMETHEUS_TIMEOUT if timeout is None else timeout
        self.retries = settings.PROMETHEUS_RETRIES if retries is None else retries
        self.backoff = backoff
        self.session = requests.Session()
        self.session.headers.update(settings.PROMETHEUS_HEADERS if headers is None else headers)
        token = settings.PROMETHEUS_BEARER_TOKEN if bearer_token is None else bearer_token
        if token:
            self.session.headers["Authorization"] = f"Bearer {token}"
        ca_file = settings.PROMETHEUS_CA_FILE if ca_file is None else ca_file
        if ca_file:
            self.session.verify = ca_file

    def query(self, expr: str, at: datetime | float | None = None) -> list:
        """Return the result of an instant query (a vector, or a matrix for `expr[range]`)."""
        params = {"query": expr}
        if at is not None:
            params["time"] = f"{unix_seconds(at):.3f}"
        return result(self.call("query", params))

    def query_range(
        self, expr: str, start: datetime | float, end: datetime | float, step: float
    ) -> list[dict]:
        """Return the matrix of a range query, fetched in pieces if it is long."""
        start_s, end_s = unix_seconds(start), unix_seconds(end)
        if step <= 0 or end_s < start_s:
            raise ValueError("a range query needs step > 0 and start <= end")
        merged: dict[tuple, dict] = {}
        for piece_start, piece_end in chunks(start_s, end_s, step):
            params = {
                "query": expr,
                "start": f"{piece_start:.3f}",
                "end": f"{piece_end:.3f}",
                "step": f"{step:g}",
            }
            for series in result(self.call("query_range", params)):
                key = tuple(sorted(series["metric"].items()))
                merged.setdefault(key, {"metric": series["metric"], "values": []})
                merged[key]["values"] += series["values"]
        return list(merged.values())

    def raw_samples(self, selector: str, start: datetime | float, end: datetime | float) -> list:
        """Return the stored samples of selector in [start, end] (a matrix, not resampled)."""
        start_s, end_s = unix_seconds(start), unix_seconds(end)
        # A range selector looks back from the evaluation time; whole milliseconds only.
        window_ms = max(1, math.ceil((end_s - start_s) * 1000))
        return self.query(f"{selector}[{window_ms}ms]", at=end_s)

    def series(
        self, match: str | list[str], start: datetime | float, end: datetime | float
    ) -> list[dict]:
        """Return the label sets of the series that match, between start and end."""
        matches = [match] if isinstance(match, str) else list(match)
        params = {
            "match[]": matches,
            "start": f"{unix_seconds(start):.3f}",
            "end": f"{unix_seconds(end):.3f}",
        }
        return self.call("series", params)

    def buildinfo(self) -> dict:
        """Return Prometheus' build information ({} from servers that have none)."""
        try:
            data = self.call("status/buildinfo", {}, method="GET")
        except PrometheusBadResponse:
            return {}
        return data if isinstance(data, dict) else {}

    @observed
    def call(self, endpoint: str, params: dict, method: str = "POST") -> dict | list:
        """Ask /api/v1/<endpoint> with retries; return the `data` of a success answer."""
        url = f"{self.url}/api/v1/{endpoint}"
        for attempt in range(self.retries + 1):
            last = attempt == self.retries
            try:
                if method == "GET":
                    response = self.session.get(url, params=params, timeout=self.timeout)
                else:
                    response = self.session.post(url, data=params, timeout=self.timeout)
            except requests.Timeout:
                if last:
                    raise PrometheusTimeout(
                        f"Prometheus at {self.url} did not answer within {self.timeout:g} s"
                    ) from None
            except requests.RequestException as e:
                if last:
                    raise PrometheusUnavailable(
                        f"Prometheus at {self.url} is unreachable: {type(e).__name__}"
                    ) from None
            else:
                if response.status_code < 500 or last:
                    return self.data(response)
            delay = self.backoff * 2**attempt
            log.warning(
                "Prometheus %s failed (attempt %d), retrying in %.1f s",
                endpoint,
                attempt + 1,
                delay,
            )
            time.sleep(delay)
        raise AssertionError("unreachable")  # the last attempt always returns or raises

    def data(self, response: requests.Response) -> dict | list:
        """Return the `data` of a Prometheus answer, or raise the matching typed error."""
        try:
            body = response.json()
        except ValueError:
            body = None
        if not isinstance(body, dict) or "status" not in body:
            if response.status_code >= 500:
                raise PrometheusUnavailable(
                    f"Prometheus at {self.url} answered HTTP {response.status_code}"
                )
            raise PrometheusBadResponse(
                f"Prometheus at {self.url} answered HTTP {response.status_code} "
                "with a body that is not its JSON API"
            )
        if body["status"] != "success":
            error_type, error = body.get("errorType", ""), body.get("error", "")
            if error_type == "timeout":
                raise PrometheusTimeout(f"Prometheus gave up evaluating the query: {error}")
            if response.status_code >= 500:
                raise PrometheusUnavailable(f"Prometheus failed ({error_type}): {error}")
            raise PrometheusBadResponse(f"Prometheus rejected the query ({error_type}): {error}")
        if "data" not in body:
            raise PrometheusBadResponse(f"Prometheus at {self.url} answered without data")
        return body["data"]
