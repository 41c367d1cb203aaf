"""OpenAPI pieces shared by the API's endpoints: errors, page parameters, paginated answers.

The views build their JSON by hand; the serializers here and in each module only describe
it to drf-spectacular, and tests/web/test_api_schema.py checks real answers against them.
"""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, inline_serializer
from rest_framework import serializers

from billing.resources import QUANTITIES
from web.api.pagination import MAX_PAGE_SIZE
from web.api.params import MAX_WHOLE

ERROR = inline_serializer("Error", {"detail": serializers.CharField()})
PARAM_ERROR = inline_serializer(
    "ParamError",
    {
        "detail": serializers.CharField(),
        "param": serializers.CharField(help_text="the query parameter at fault"),
        "reason": serializers.CharField(),
    },
)
QUANTITY_HELP = {
    "gpu_energy_joules": "energy (J) of the GPUs held while held, from the device's energy "
    "counter; billed (in kWh) only where a gpu_energy tariff is in force",
    "gpu_busy_seconds": "GPU-seconds held x activity (GR_ENGINE_ACTIVE, else GPU_UTIL/100)",
    "gpu_idle_seconds": "GPU-seconds held with activity below KUBEMON_GPU_IDLE_PERCENT",
}
# Every stored quantity, summed (docs/collection.md); GPU busy and idle seconds are shown,
# never billed, GPU energy billed only where a gpu_energy tariff is in force.
Quantities = type(
    "Quantities",
    (serializers.Serializer,),
    {q: serializers.FloatField(help_text=QUANTITY_HELP.get(q)) for q in QUANTITIES},
)
UNAUTHENTICATED = OpenApiResponse(
    ERROR, "no credentials, or a bad token (`WWW-Authenticate: Token`)"
)
REFUSED = OpenApiResponse(
    ERROR, "a role that may not use this endpoint, or a session not logged in"
)
NOT_FOUND = OpenApiResponse(ERROR, "no such object among those the user may see")
BAD_PARAM = OpenApiResponse(PARAM_ERROR, "a bad query parameter, named in `param`")


def page_parameters(maximum: int = MAX_PAGE_SIZE) -> list[OpenApiParameter]:
    return [
        OpenApiParameter(
            "page",
            {"type": "integer", "minimum": 1, "maximum": MAX_WHOLE},
            description="page number, from 1",
        ),
        OpenApiParameter(
            "page_size",
            {"type": "integer", "minimum": 1, "maximum": MAX_WHOLE},
            description=f"rows per page (100; more than {maximum} is cut down to {maximum})",
        ),
    ]


def text_parameter(name: str, description: str) -> OpenApiParameter:
    return OpenApiParameter(name, OpenApiTypes.STR, description=description)


def time_parameter(name: str, description: str) -> OpenApiParameter:
    # A string, not a date-time: unix seconds are times too, and empty is "not given".
    return OpenApiParameter(
        name,
        OpenApiTypes.STR,
        description=f"{description}; ISO 8601 or unix seconds, from 1970 to 2200",
    )


def page_of(name: str, item, results: str = "results", **fields):
    """The schema of a page of `item`: count, next, previous and the rows under `results`."""
    return inline_serializer(
        name,
        {
            **fields,
            "count": serializers.IntegerField(help_text="rows over every page"),
            "next": serializers.URLField(allow_null=True),
            "previous": serializers.URLField(allow_null=True),
            results: item(many=True),
        },
    )


def document_rates(result, generator, **kwargs):
    """Postprocessing hook: every operation may answer 429 (web/api/throttles.py)."""
    throttled = {
        "description": "past the client's rate (anonymous per address, token per user)",
        "headers": {
            "Retry-After": {
                "schema": {"type": "integer"},
                "description": "seconds until the next request is accepted",
            }
        },
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    }
    for operations in result.get("paths", {}).values():
        for operation in operations.values():
            operation.setdefault("responses", {}).setdefault("429", throttled)
    return result
