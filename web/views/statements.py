"""Statements per month, with lines, adjustments and per-job detail (being built)."""

from django.http import Http404


def statement_list(request):
    raise Http404


def statement(request, pk):
    raise Http404
