"""The exports API: GET /api/v1/exports, the SIFAC export batches, for finance only.

Each batch lists its files with their checksum and the URL of the page that downloads
them (web/views/exports.py); anyone but finance (and staff) gets a 403.
"""

from django.db.models import Prefetch
from django.urls import reverse
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.decorators import api_view
from rest_framework.response import Response

from billing.models import ExportBatch, ExportFile
from billing.sifac.render import FORMATS
from web import access
from web.api import schema
from web.api.pagination import paginate
from web.api.params import month_param


def batch_json(request, batch: ExportBatch) -> dict:
    return {
        "id": batch.pk,
        "number": batch.number,
        "period": f"{batch.period.month:%Y-%m}",
        "format": batch.format,
        "created_at": batch.created_at.isoformat(),
        "files": [
            {
                "id": f.pk,
                "name": f.name,
                "sha256": f.sha256,
                "size": f.size,
                "url": request.build_absolute_uri(reverse("export-file", args=[f.pk])),
            }
            for f in batch.files.all()
        ],
    }


class File(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    sha256 = serializers.CharField()
    size = serializers.IntegerField(help_text="bytes")
    url = serializers.URLField(help_text="downloads the file (finance only)")


class Batch(serializers.Serializer):
    id = serializers.IntegerField()
    number = serializers.IntegerField(help_text="the batch number, unique over every period")
    period = serializers.CharField(help_text="YYYY-MM")
    format = serializers.ChoiceField(list(FORMATS))
    created_at = serializers.DateTimeField()
    files = File(many=True)


@extend_schema(
    operation_id="exports_list",
    parameters=[
        OpenApiParameter("period", str, description="only batches of this month, YYYY-MM"),
        *schema.page_parameters(),
    ],
    responses={
        200: schema.page_of("ExportPage", Batch),
        400: schema.BAD_PARAM,
        401: schema.UNAUTHENTICATED,
        403: schema.REFUSED,
    },
)
@api_view(["GET"])
def exports(request):
    """The export batches, newest first, with their files."""
    access.require_finance(request.user)
    files = Prefetch("files", queryset=ExportFile.objects.order_by("name", "pk"))
    batches = access.visible_exports(request.user).prefetch_related(files).order_by("-number")
    month = month_param(request.query_params, "period", required=False)
    if month is not None:
        batches = batches.filter(period__month=month)
    rows, page = paginate(request, batches)
    return Response({**page, "results": [batch_json(request, b) for b in rows]})
