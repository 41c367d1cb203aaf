"""The one HTTP client for Prometheus' query API (also Thanos Query, Mimir, VictoriaMetrics).

Every request has a total deadline, connection and all reads together (promadapter.transport,
over prometheus-api-client's session), and a cap on the answer's bytes and series; every answer's
shape is checked (promadapter.answers). Connection errors, timeouts, 5xx and partial answers are
retried with exponential backoff; long range queries are cut into pieces below Prometheus' limit
of 11,000 points per series and joined again. Failures surface as three exception types that the
API maps to HTTP statuses: PrometheusUnavailable (502), PrometheusTimeout (504),
PrometheusBadResponse (502). Credentials in the URL go out as basic auth, never into a message.
Results keep Prometheus' JSON shape (`{"metric": {...}, "values": [[ts, "value"], ...]}`), values
as the strings Prometheus sent, so callers choose float or Decimal.
"""

import logging
import math
import time
from datetime import datetime

import requests
from django.conf import settings

from promadapter import answers
from promadapter.errors import (
    PrometheusBadResponse,
    PrometheusError,
    PrometheusTimeout,
    PrometheusUnavailable,
)
from promadapter.instrumentation import observed
from promadapter.transport import connect, exchange

__all__ = [
    "PrometheusBadResponse",
    "PrometheusClient",
    "PrometheusError",
    "PrometheusTimeout",
    "PrometheusUnavailable",
]

log = logging.getLogger(__name__)

# Prometheus refuses range queries of more than 11,000 points per series; stay clearly below.
POINTS_PER_CHUNK = 10_000


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


class PrometheusClient:
    """A client over one prometheus-api-client connector, configured from settings by default."""

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
        max_bytes: int | None = None,
        max_series: int | None = None,
    ):
        self.timeout = settings.PROMETHEUS_TIMEOUT if timeout is None else timeout
        self.retries = settings.PROMETHEUS_RETRIES if retries is None else retries
        self.backoff = backoff
        self.max_bytes = settings.PROMETHEUS_MAX_BYTES if max_bytes is None else max_bytes
        self.max_series = settings.PROMETHEUS_MAX_SERIES if max_series is None else max_series
        headers = dict(settings.PROMETHEUS_HEADERS if headers is None else headers)
        token = settings.PROMETHEUS_BEARER_TOKEN if bearer_token is None else bearer_token
        if token:
            headers["Authorization"] = f"Bearer {token}"
        ca_file = settings.PROMETHEUS_CA_FILE if ca_file is None else ca_file
        url = (url or settings.PROMETHEUS_URL).rstrip("/")
        self.connector = connect(url, headers, ca_file or True)
        # The URL without credentials: the only one messages and logs show.
        self.url = self.connector.url

    def query(self, expr: str, at: datetime | float | None = None) -> list:
        """Return the result of an instant query (a vector, or a matrix for `expr[range]`)."""
        params = {"query": expr}
        if at is not None:
            params["time"] = f"{unix_seconds(at):.3f}"
        return answers.query_result(self.call("query", params), self.url, self.max_series)

    def query_range(
        self,
        expr: str,
        start: datetime | float,
        end: datetime | float,
        step: float,
        max_points: int | None = None,
    ) -> list[dict]:
        """Return the matrix of a range query, fetched in pieces if it is long.

        With max_points, an answer of more points than that (a server that returns more
        series than it counted a moment before) is a PrometheusBadResponse.
        """
        start_s, end_s = unix_seconds(start), unix_seconds(end)
        if step <= 0 or end_s < start_s:
            raise ValueError("a range query needs step > 0 and start <= end")
        pieces, points = [], 0
        for piece_start, piece_end in chunks(start_s, end_s, step):
            pieces.append(self.range_piece(expr, piece_start, piece_end, step))
            points += sum(len(series["values"]) for series in pieces[-1])
            if max_points is not None and points > max_points:
                raise answers.bad(self.url, f"{points} points, more than the {max_points} allowed")
        # Most queries fit in one piece: its series are already whole.
        return pieces[0] if len(pieces) == 1 else self.joined(pieces)

    def range_piece(self, expr: str, start: float, end: float, step: float) -> list[dict]:
        params = {"query": expr, "start": f"{start:.3f}", "end": f"{end:.3f}", "step": f"{step:g}"}
        data = self.call("query_range", params)
        result = answers.query_result(data, self.url, self.max_series)
        if data["resultType"] != "matrix":
            raise answers.bad(self.url, "a range query answer that is not a matrix")
        return result

    def joined(self, pieces: list[list[dict]]) -> list[dict]:
        """The series of consecutive pieces of one range query, each with all its points."""
        merged: dict[tuple, dict] = {}
        for result in pieces:
            for series in result:
                key = tuple(sorted(series["metric"].items()))
                merged.setdefault(key, {"metric": series["metric"], "values": []})
                merged[key]["values"] += series["values"]
        if len(merged) > self.max_series:
            raise answers.bad(self.url, f"more than PROMETHEUS_MAX_SERIES ({self.max_series})")
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
        return answers.series_result(self.call("series", params), self.url, self.max_series)

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
                answer = exchange(self.connector, method, url, params, self.timeout, self.max_bytes)
                return self.data(answer.status, answer.body)
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
            except (PrometheusTimeout, PrometheusUnavailable):
                if last:
                    raise
            delay = self.backoff * 2**attempt
            log.warning(
                "Prometheus %s failed (attempt %d), retrying in %.1f s",
                endpoint,
                attempt + 1,
                delay,
            )
            time.sleep(delay)
        raise AssertionError("unreachable")  # the last attempt always returns or raises

    def data(self, status: int, body: bytes):
        """Return the `data` of a Prometheus answer, or raise the matching typed error."""
        return answers.data(answers.decode(body, status, self.url), status, self.url)
