"""The overview page (being built)."""

from django.http import Http404


def overview(request):
    raise Http404
