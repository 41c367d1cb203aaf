"""The app's own health check for Kubernetes probes."""

from django.db import connection
from django.http import JsonResponse


def healthz(request):
    """Answer 200 when the database answers; a liveness probe for Kubernetes."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"status": "ok"})
