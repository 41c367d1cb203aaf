"""The API's answer to an unexpected exception: a JSON 500 without internals, logged.

DRF answers its own exceptions (400, 401, 403, 404...); anything else would become Django's
HTML error page. Here it becomes `{"detail": ..., "request_id": ...}`, and the traceback goes
to the log under the same request id (web/request_id.py), never to the client. A URL under
/api/ that no route matches is a JSON 404, as the schema documents, not the HTML page.
"""

import logging

from django.http import JsonResponse
from django.views.defaults import page_not_found
from rest_framework.response import Response
from rest_framework.views import exception_handler, set_rollback

log = logging.getLogger("kubemon.api")


def json_errors(exc, context):
    """DRF's EXCEPTION_HANDLER: DRF's answer when it has one, else a logged JSON 500."""
    response = exception_handler(exc, context)
    if response is not None:
        return response
    set_rollback()
    request = context["request"]
    request_id = getattr(request, "request_id", "-")
    log.error(
        "unexpected error in %s %s",
        request.method,
        request.path,
        exc_info=(type(exc), exc, exc.__traceback__),
    )
    detail = "internal error; quote the request id to the administrators"
    return Response({"detail": detail, "request_id": request_id}, status=500)


def not_found(request, exception):
    """Django's handler404: JSON under /api/ (a URL no route matches), the page elsewhere."""
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": "no such URL in the API"}, status=404)
    return page_not_found(request, exception)
