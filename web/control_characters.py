"""Refuse query parameters holding NUL or other control characters, on every URL.

No page or API parameter has a use for them, and PostgreSQL refuses NUL in a text
comparison with an error (a 500) where SQLite quietly compares. The answer is a 400 naming
the parameter: the API's JSON shape under /api/, plain text elsewhere.
"""

from django.http import HttpResponse, JsonResponse

from kubemon.params import ParamError, check_text


class RefuseControlCharacters:
    """Middleware: a 400 for the first query parameter (name or value) with a control character."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        try:
            for name, values in request.GET.lists():
                check_text("query parameter name", name)
                for value in values:
                    check_text(name, value)
        except ParamError as e:
            return refusal(request, e)
        return self.get_response(request)


def refusal(request, error: ParamError) -> HttpResponse:
    if request.path.startswith("/api/"):
        body = {"detail": str(error), "param": error.param, "reason": error.reason}
        return JsonResponse(body, status=400)
    return HttpResponse(str(error), status=400, content_type="text/plain; charset=utf-8")
