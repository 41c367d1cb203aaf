"""Account pages (being built)."""

from django.http import Http404


def account_list(request):
    raise Http404


def account(request, pk):
    raise Http404


def jobs_csv(request, pk):
    raise Http404
