"""Pages for finance, ops and labs, and the health check."""

from django.db import connection
from django.http import JsonResponse
from django.shortcuts import render


def healthz(request):
    """Answer 200 when the database answers; a liveness probe for Kubernetes."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"status": "ok"})


def index(request):
    return render(request, "web/index.html")
