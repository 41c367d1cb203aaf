"""The OpenAPI schema at /api/v1/schema: valid, without warnings, and true to the answers.

Each endpoint is listed with its parameters, and one real answer of each endpoint (and of
its errors) is validated against the schema's response, read strictly: a field the answer
has but the schema does not declare fails too. The Swagger UI at /api/v1/docs is served
from local static files only.
"""

import re

import jsonschema
import pytest
from django.contrib.staticfiles import finders
from django.core.management import call_command
from drf_spectacular.generators import SchemaGenerator
from rest_framework.test import APIClient

from billing.models import Statement
from promadapter.client import PrometheusUnavailable
from tests.fixtures.api_site import get, site_fixture  # noqa: F401
from web.api import metrics as metric_views
from web.api.jobs import ORDERINGS
from web.api.usage import GROUPS

PAGES = {"page", "page_size"}
PARAMETERS = {
    "/api/v1/usage": {"start", "end", "group_by", "cluster", "account", "namespace", "job"} | PAGES,
    "/api/v1/jobs": {"cluster", "namespace", "kind", "account", "q", "start", "end", "ordering"}
    | PAGES,
    "/api/v1/jobs/{id}": {"id"},
    "/api/v1/statements": {"period"} | PAGES,
    "/api/v1/statements/{id}": {"id"},
    "/api/v1/statements/workbook": {"period"},
    "/api/v1/statements/{id}/pdf": {"id"},
    "/api/v1/exports": {"period"} | PAGES,
    "/api/v1/accounts": PAGES,
    "/api/v1/metrics": {"cluster"},
    "/api/v1/metrics/{name}": {"name", "namespace", "pod", "container", "node", "cluster"}
    | {"start", "end", "step", "limit", "format"},
}


@pytest.fixture(scope="module")
def spec() -> dict:
    return SchemaGenerator().get_schema(request=None, public=True)


def test_the_schema_generates_and_validates_without_warnings(tmp_path):
    out = tmp_path / "schema.yml"
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(out))
    assert "/api/v1/jobs/{id}" in out.read_text()


def test_the_schema_is_served_to_anyone(db):
    answer = APIClient().get("/api/v1/schema", {"format": "json"})
    assert answer.status_code == 200
    assert set(answer.json()["paths"]) == set(PARAMETERS)


@pytest.mark.parametrize("path", sorted(PARAMETERS))
def test_each_endpoint_is_described_with_its_parameters(spec, path):
    operation = spec["paths"][path]["get"]
    assert {p["name"] for p in operation["parameters"]} == PARAMETERS[path]
    assert operation["description"]
    assert "200" in operation["responses"]


def parameter(spec, path: str, name: str) -> dict:
    (found,) = [p for p in spec["paths"][path]["get"]["parameters"] if p["name"] == name]
    return found


def test_parameters_have_their_types_and_choices(spec):
    assert parameter(spec, "/api/v1/jobs", "ordering")["schema"]["enum"] == sorted(ORDERINGS)
    group_by = parameter(spec, "/api/v1/usage", "group_by")
    assert sorted(group_by["schema"]["items"]["enum"]) == sorted(GROUPS)
    assert group_by["explode"] is False
    # ISO 8601 or unix seconds: a string, its range in the description (no OpenAPI format).
    start = parameter(spec, "/api/v1/usage", "start")
    assert start["schema"]["type"] == "string" and "from 1970 to 2200" in start["description"]
    assert parameter(spec, "/api/v1/jobs", "page_size")["schema"]["type"] == "integer"
    assert parameter(spec, "/api/v1/jobs/{id}", "id")["schema"]["type"] == "integer"
    assert parameter(spec, "/api/v1/statements", "period")["required"] is True


def strict(node):
    """OpenAPI 3.0 as JSON Schema: `nullable` allows null, objects have no undeclared field."""
    if isinstance(node, list):
        return [strict(item) for item in node]
    if not isinstance(node, dict):
        return node
    node = {key: strict(value) for key, value in node.items()}
    if "properties" in node:
        node.setdefault("additionalProperties", False)
    if node.pop("nullable", False):
        return {"anyOf": [node, {"type": "null"}]}
    return node


def check(spec: dict, path: str, answer):
    """Validate a real answer against the schema's response for its status."""
    response = spec["paths"][path]["get"]["responses"][str(answer.status_code)]
    schema = response["content"]["application/json"]["schema"]
    document = strict({**schema, "components": spec["components"]})
    jsonschema.validate(answer.json(), document, cls=jsonschema.Draft202012Validator)


def october_statement() -> int:
    return Statement.objects.get(account__name="lab-a", period__month="2026-10-01").pk


def answers(site) -> list[tuple[str, object]]:
    every_group = ",".join(GROUPS)
    window = {"start": "2026-11-20", "end": "2026-11-22"}
    job = site.jobs["notebook"].pk
    return [
        ("/api/v1/usage", get("fiona", "/api/v1/usage", group_by=every_group, **window)),
        ("/api/v1/usage", get("fiona", "/api/v1/usage", group_by="planet")),
        ("/api/v1/jobs", get("alice", "/api/v1/jobs", page_size=2)),
        ("/api/v1/jobs", get("alice", "/api/v1/jobs", ordering="id")),
        ("/api/v1/jobs/{id}", get("alice", f"/api/v1/jobs/{job}")),
        ("/api/v1/jobs/{id}", get("bob", f"/api/v1/jobs/{job}")),
        ("/api/v1/statements", get("fiona", "/api/v1/statements", period="2026-10")),
        ("/api/v1/statements", get("fiona", "/api/v1/statements", period="2026-13")),
        ("/api/v1/statements/{id}", get("alice", f"/api/v1/statements/{october_statement()}")),
        ("/api/v1/statements/{id}", get("oscar", f"/api/v1/statements/{october_statement()}")),
        ("/api/v1/exports", get("fiona", "/api/v1/exports")),
        ("/api/v1/exports", get("alice", "/api/v1/exports")),
        ("/api/v1/accounts", get("fiona", "/api/v1/accounts")),
        ("/api/v1/accounts", get("fiona", "/api/v1/accounts", page=0)),
        # its 200 is the .xlsx file (tests/documents/test_statements_workbook.py): the errors
        (
            "/api/v1/statements/workbook",
            get("alice", "/api/v1/statements/workbook", period="2026-10"),
        ),
        (
            "/api/v1/statements/workbook",
            get("fiona", "/api/v1/statements/workbook", period="2025-01"),
        ),
    ]


def test_every_api_answer_matches_the_schema(db, site, spec):
    statuses = set()
    cases = answers(site)
    for path, answer in cases:
        check(spec, path, answer)
        statuses.add((path, answer.status_code))
    # Each case answered as meant: a 200 and an error per endpoint, no two alike.
    assert len(statuses) == len(cases)


class Answer:
    def __init__(self, status_code: int, body: dict):
        self.status_code, self.body = status_code, body

    def json(self):
        return self.body


@pytest.mark.parametrize(
    "body",
    [
        {"detail": "no such job", "secret": 1},
        {"detail": None},
        {},
    ],
)
def test_an_answer_unlike_the_schema_fails_the_check(spec, body):
    with pytest.raises(jsonschema.ValidationError):
        check(spec, "/api/v1/jobs/{id}", Answer(404, body))


class FakePrometheus:
    """Two series of one metric, without a Prometheus."""

    def query(self, expr, at=None):
        return [{"metric": {}, "value": [0, "2"]}]

    def query_range(self, expr, start, end, step, max_points=None):
        values = [[start.timestamp(), "0.25"], [start.timestamp() + step, "NaN"]]
        return [
            {
                "metric": {"namespace": "bio-lab", "pod": f"p-{i}", "container": "c"},
                "values": values,
            }
            for i in range(2)
        ]


def metric_answers(client) -> list[tuple[str, object]]:
    values = "/api/v1/metrics/cpu/usage_rate"
    return [
        ("/api/v1/metrics", client.get("/api/v1/metrics")),
        ("/api/v1/metrics", client.get("/api/v1/metrics", {"cluster": 'a"b'})),
        ("/api/v1/metrics/{name}", client.get(values, {"namespace": "bio-lab"})),
        ("/api/v1/metrics/{name}", client.get(values, {"step": "soon"})),
        ("/api/v1/metrics/{name}", client.get("/api/v1/metrics/cpu/nothing")),
        ("/api/v1/metrics/{name}", APIClient().get(values)),
    ]


def test_every_metric_api_answer_matches_the_schema(db, spec, monkeypatch, django_user_model):
    def unavailable(client, cluster):
        raise PrometheusUnavailable("Prometheus is down")

    monkeypatch.setattr(metric_views, "availability", unavailable)
    monkeypatch.setattr(metric_views, "PrometheusClient", FakePrometheus)
    client = APIClient()
    client.force_authenticate(django_user_model.objects.create_user("sam", is_staff=True))
    statuses = []
    for path, answer in metric_answers(client):
        check(spec, path, answer)
        statuses.append(answer.status_code)
    assert statuses == [200, 400, 200, 400, 404, 401]


def test_the_swagger_ui_is_served_from_local_static_files(db):
    answer = APIClient().get("/api/v1/docs")
    assert answer.status_code == 200
    page = answer.content.decode()
    urls = re.findall(r'(?:src|href)="([^"]+)"', page)
    # Swagger UI's set-up is a script of its own (the Content-Security-Policy allows no
    # inline one), served by the same view; every other file is a static one.
    (setup,) = [url for url in urls if url.startswith("/api/v1/docs?")]
    files = [url for url in urls if url != setup]
    sidecar = [url for url in files if url.startswith("/static/drf_spectacular_sidecar/")]
    assert sidecar and set(files) - set(sidecar) == {"/static/web/swagger.css"}
    assert all(finders.find(url.removeprefix("/static/")) for url in files)
    assert "//" not in "".join(urls) and not names_a_cdn(page)
    script = APIClient().get(setup).content.decode()
    assert '"/api/v1/schema"' in script and not names_a_cdn(script)


def names_a_cdn(text: str) -> bool:
    """An address elsewhere, or the word cdn (not the letters inside a random token)."""
    return "://" in text or re.search(r"\bcdn", text, re.IGNORECASE) is not None


def test_a_cdn_is_found_but_not_in_a_random_token():
    assert names_a_cdn('<script src="https://cdn.jsdelivr.net/x.js">')
    assert names_a_cdn("load it from the CDN")
    assert not names_a_cdn('const token = "ijwh6myucdn6tpv0mdbtxy5occ";')
