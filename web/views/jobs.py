"""The job page (being built)."""

from django.http import Http404


def job(request, pk):
    raise Http404
