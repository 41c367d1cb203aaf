"""Hostile input to every parameter of every API endpoint: a 400 naming it, never a 500.

Each case is a value an attacker or an unlucky script sends: times outside 1970-2200 or
outside what a datetime holds, digits that are not ASCII, numbers too long for int(),
windows of centuries, steps of millennia, NUL and control characters (which PostgreSQL
refuses in a query, where SQLite compares quietly). An unexpected exception in a view is a
JSON 500 carrying the request id, its traceback only in the log.
"""

import logging

import pytest
from rest_framework.test import APIClient

from web.api import usage as usage_api

TOO_LONG = "9" * 5000
ARABIC_DIGITS = "\u0661\u0667\u0660\u0660\u0660\u0660\u0660\u0660\u0660\u0660"  # 1700000000
BAD_TIMES = [
    "0001-01-01T00:00",
    "0001-01-01T00:00+01:00",
    "9999-12-31T23:00-05:00",
    "1969-12-31T23:59:59Z",
    "2200-01-02",
    "99999999999",
    ARABIC_DIGITS,
    TOO_LONG,
    "2026-10-01T00:00:00Z" + " " * 30,
]
BAD_WHOLES = [TOO_LONG, "\u0661", "0", "-1", "1e3", " 1", "1" * 10]
CONTROL = ["a\x00b", "\x00", "lab\x1b[31m", "x\ry"]
METRIC = "/api/v1/metrics/cpu/usage_rate"
# Every endpoint, its parameters by kind, and what makes the rest of its query valid.
ENDPOINTS = {
    "/api/v1/usage": {
        "times": ["start", "end"],
        "wholes": ["page", "page_size"],
        "texts": ["cluster", "account", "namespace", "job", "group_by"],
    },
    "/api/v1/jobs": {
        "times": ["start", "end"],
        "wholes": ["page", "page_size"],
        "texts": ["cluster", "namespace", "kind", "account", "q", "ordering"],
    },
    "/api/v1/statements": {"wholes": ["page", "page_size"], "texts": ["period"]},
    "/api/v1/exports": {"wholes": ["page", "page_size"], "texts": ["period"]},
    "/api/v1/metrics": {"texts": ["cluster"]},
    METRIC: {
        "times": ["start", "end"],
        "wholes": ["limit"],
        "texts": ["namespace", "pod", "container", "node", "cluster", "format", "step"],
    },
}
VALID = {"/api/v1/statements": {"period": "2026-10"}}


def cases(kind: str):
    return [
        pytest.param(url, name, id=f"{url}-{name}")
        for url, kinds in ENDPOINTS.items()
        for name in kinds.get(kind, [])
    ]


@pytest.fixture
def finance(db, settings, django_user_model) -> APIClient:
    """A finance client; Prometheus a closed port, so a request that got through fails fast."""
    settings.PROMETHEUS_URL = "http://127.0.0.1:9"
    settings.PROMETHEUS_RETRIES = 0
    client = APIClient()
    client.force_authenticate(django_user_model.objects.create_user("fin", is_staff=True))
    return client


def wrong_answers(client: APIClient, url: str, name: str, values: list[str]) -> list:
    """The values not answered by a 400 naming `name`, with what was answered instead."""
    wrong = []
    for value in values:
        answer = client.get(url, {**VALID.get(url, {}), name: value})
        body = answer.json() if answer["Content-Type"] == "application/json" else {}
        if answer.status_code != 400 or body.get("param") != name:
            wrong.append((value[:30], answer.status_code, answer.content[:200]))
    return wrong


@pytest.mark.parametrize(("url", "name"), cases("times"))
def test_a_time_outside_1970_to_2200_or_not_a_time_is_a_400_naming_it(finance, url, name):
    assert wrong_answers(finance, url, name, BAD_TIMES) == []


@pytest.mark.parametrize(("url", "name"), cases("wholes"))
def test_a_number_that_is_not_a_short_run_of_ascii_digits_is_a_400_naming_it(finance, url, name):
    assert wrong_answers(finance, url, name, BAD_WHOLES) == []


@pytest.mark.parametrize(("url", "name"), cases("texts"))
def test_nul_or_a_control_character_in_any_text_is_a_400_naming_it(finance, url, name):
    assert wrong_answers(finance, url, name, CONTROL) == []


def test_a_control_character_in_a_parameter_name_is_a_400_too(finance):
    answer = finance.get("/api/v1/usage", {"a\x00b": "1"})
    assert answer.status_code == 400
    assert answer.json()["param"] == "query parameter name"


@pytest.mark.parametrize("url", ["/api/v1/usage", "/api/v1/jobs", METRIC])
def test_a_window_of_centuries_is_a_400_naming_start(finance, url):
    answer = finance.get(url, {"start": "1970-01-01", "end": "2199-12-31", "step": "1y"})
    assert answer.status_code == 400, answer.content
    assert answer.json()["param"] == "start"
    assert "3653 days" in answer.json()["reason"]


def test_a_step_outside_1ms_to_ten_years_or_not_ascii_is_a_400_naming_step(finance):
    steps = [TOO_LONG + "s", "100000000000w", "\u0661\u0660", "0", "0.0001", "11y"]
    assert wrong_answers(finance, METRIC, "step", steps) == []


def test_the_bounds_themselves_are_accepted(finance):
    answer = finance.get(
        "/api/v1/usage", {"start": "2195-01-01T00:00Z", "end": "2200-01-01T00:00:00+00:00"}
    )
    assert answer.status_code == 200, answer.content
    answer = finance.get("/api/v1/jobs", {"start": "0", "end": "1970-01-02", "page_size": "500"})
    assert answer.status_code == 200, answer.content


def test_an_unexpected_error_is_a_json_500_with_a_request_id_and_no_internals(
    finance, monkeypatch, caplog
):
    def broken(*args, **kwargs):
        raise RuntimeError("password=hunter2 in the internals")

    monkeypatch.setattr(usage_api, "usage_rows", broken)
    with caplog.at_level(logging.ERROR, logger="kubemon.api"):
        answer = finance.get("/api/v1/usage", HTTP_X_REQUEST_ID="trace-42")
    assert answer.status_code == 500
    assert answer["Content-Type"] == "application/json"
    assert answer.json() == {
        "detail": "internal error; quote the request id to the administrators",
        "request_id": "trace-42",
    }
    assert answer["X-Request-ID"] == "trace-42"
    [record] = [r for r in caplog.records if r.name == "kubemon.api"]
    assert record.request_id == "trace-42"
    assert "hunter2" in str(record.exc_info[1])


def test_a_request_id_that_could_forge_log_lines_is_replaced(finance):
    answer = finance.get("/api/v1/metrics?cluster=-", HTTP_X_REQUEST_ID="x\nFAKE LOG LINE")
    assert answer["X-Request-ID"] != "x\nFAKE LOG LINE"
    assert len(answer["X-Request-ID"]) == 32


INJECTIONS = [
    'bio"} or vector(1) #',
    'x",namespace=~".+',
    "1m] or up[1m",
    "bio\\",
    "a|b.*",
    "} / on() group_left",
]


@pytest.mark.parametrize("name", ENDPOINTS[METRIC]["texts"] + ["start", "end", "limit"])
def test_promql_injection_through_any_metric_parameter_is_a_400_before_prometheus(finance, name):
    assert wrong_answers(finance, METRIC, name, INJECTIONS) == []


def test_promql_injection_through_the_metric_name_is_an_unknown_metric(finance):
    answer = finance.get('/api/v1/metrics/cpu/usage_rate{namespace=~".+"}')
    assert answer.status_code == 404
    assert "metrics" in answer.json()
