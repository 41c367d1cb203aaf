"""Export history and downloads (being built)."""

from django.http import Http404


def export_list(request):
    raise Http404


def download(request, pk):
    raise Http404
