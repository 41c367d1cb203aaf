"""Checks that a Prometheus answer has the shape of its API, before anyone reads it.

A proxy, a cache or another engine in front of Prometheus can answer valid JSON of another
shape; read as if it were Prometheus', it would bill wrong numbers or fail deep in a caller.
Every answer is decoded and checked here, and anything else is a PrometheusBadResponse (502).
Prometheus' own errors become the client's typed errors, and a success that carries warnings
of missing data (a partial answer of Thanos, Mimir, a VictoriaMetrics cluster or a remote
read) counts as unavailable:
billing from it would count too little, so it is retried and then fails.
"""

import json

from promadapter.errors import PrometheusBadResponse, PrometheusTimeout, PrometheusUnavailable

RESULT_TYPES = ("vector", "matrix", "scalar", "string")
# Prometheus' query annotations ("PromQL info: ...", "PromQL warning: ...") describe the query,
# not missing data; every other warning may mean a part of the data is missing.
ANNOTATION = "PromQL "
# How much of Prometheus' own error message a `detail` quotes.
EXCERPT = 300


def decode(body: bytes, status: int, where: str) -> dict:
    """Return the answer's JSON object, or raise the typed error for what came instead."""
    try:
        answer = json.loads(body)
    except (ValueError, RecursionError):
        # RecursionError: JSON nested deeper than Python's recursion limit.
        answer = None
    if isinstance(answer, dict) and answer.get("status") in ("success", "error"):
        return answer
    if status >= 500:
        raise PrometheusUnavailable(f"Prometheus at {where} answered HTTP {status}")
    raise PrometheusBadResponse(
        f"Prometheus at {where} answered HTTP {status} with a body that is not its JSON API"
    )


def data(answer: dict, status: int, where: str):
    """Return the `data` of a success, or raise the typed error of a failure or a warning."""
    if answer["status"] != "success":
        error_type, error = text(answer.get("errorType")), text(answer.get("error"))
        if error_type == "timeout":
            raise PrometheusTimeout(f"Prometheus gave up evaluating the query: {error}")
        if status >= 500:
            raise PrometheusUnavailable(f"Prometheus failed ({error_type}): {error}")
        raise PrometheusBadResponse(f"Prometheus rejected the query ({error_type}): {error}")
    warnings = answer.get("warnings") or []
    if not isinstance(warnings, list):
        raise PrometheusBadResponse(f"Prometheus at {where} answered warnings that are not a list")
    missing = [text(w) for w in warnings if not text(w).startswith(ANNOTATION)]
    if answer.get("isPartial") is True:  # VictoriaMetrics cluster: a storage node is missing
        missing.append("isPartial")
    if missing:
        raise PrometheusUnavailable(f"Prometheus answered partial data: {missing[0]}")
    if "data" not in answer:
        raise PrometheusBadResponse(f"Prometheus at {where} answered without data")
    return answer["data"]


def text(value) -> str:
    return str(value or "")[:EXCERPT]


def query_result(data, where: str, max_series: int) -> list:
    """Return the result of a query or query_range answer, checked whole."""
    if not isinstance(data, dict) or data.get("resultType") not in RESULT_TYPES:
        raise bad(where, "a query answer without a known resultType")
    result, kind = data.get("result"), data["resultType"]
    if kind in ("scalar", "string"):
        if not sample(result):
            raise bad(where, f"a {kind} that is not [time, value]")
        return result
    if not isinstance(result, list):
        raise bad(where, "a query answer without a result list")
    if len(result) > max_series:
        raise bad(where, f"{len(result)} series, more than PROMETHEUS_MAX_SERIES ({max_series})")
    check = vector_item if kind == "vector" else matrix_item
    if not all(map(check, result)):
        raise bad(where, f"a {kind} whose series are not {{metric, value(s)}} objects")
    return result


def series_result(data, where: str, max_series: int) -> list[dict]:
    """Return the label sets of a /series answer, checked."""
    if not isinstance(data, list) or not all(map(labels, data)):
        raise bad(where, "a series answer that is not a list of label sets")
    if len(data) > max_series:
        raise bad(where, f"{len(data)} series, more than PROMETHEUS_MAX_SERIES ({max_series})")
    return data


def labels(value) -> bool:
    return isinstance(value, dict) and all(isinstance(v, str) for v in value.values())


def sample(value) -> bool:
    return (
        isinstance(value, list)
        and len(value) == 2
        and isinstance(value[0], int | float)
        and not isinstance(value[0], bool)
        and isinstance(value[1], str)
    )


def vector_item(item) -> bool:
    return isinstance(item, dict) and labels(item.get("metric")) and sample(item.get("value"))


def matrix_item(item) -> bool:
    if not isinstance(item, dict) or not labels(item.get("metric")):
        return False
    values = item.get("values")
    return isinstance(values, list) and all(map(sample, values))


def bad(where: str, what: str) -> PrometheusBadResponse:
    return PrometheusBadResponse(f"Prometheus at {where} answered {what}")
