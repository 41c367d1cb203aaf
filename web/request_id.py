"""A request id on every request, its answer and its log lines, to find one request's trail.

The id is the client's (or the proxy's) `X-Request-ID` when it is a short token, else a new
one. It is answered in the `X-Request-ID` header, in the body of the API's 500 answers, and
is the `request_id` of every log line written while the request is served.
"""

import contextvars
import logging
import re
import uuid

HEADER = "X-Request-ID"
# A client's id is kept only if it cannot forge log lines or headers: a short plain token.
CLIENT_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")
current = contextvars.ContextVar("request_id", default="-")


class RequestId:
    """Middleware: read or make the id, keep it for the logs, answer it in a header."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        given = request.headers.get(HEADER, "")
        request.request_id = given if CLIENT_ID.fullmatch(given) else uuid.uuid4().hex
        token = current.set(request.request_id)
        try:
            response = self.get_response(request)
        finally:
            current.reset(token)
        response[HEADER] = request.request_id
        return response


class RequestIdFilter(logging.Filter):
    """Logging filter: give every record the id of its request ("-" if none)."""

    def filter(self, record):
        request_id = current.get()
        if request_id == "-":
            # django.request logs a 4xx or 5xx answer once the middleware has returned it,
            # outside the id's context; its record carries the request itself.
            request_id = getattr(getattr(record, "request", None), "request_id", "-")
        record.request_id = request_id
        return True
