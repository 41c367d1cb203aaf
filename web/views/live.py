"""Live metrics from Prometheus (being built)."""

from django.http import Http404


def live(request):
    raise Http404
