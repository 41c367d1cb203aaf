"""The /tokens/ page: a user's personal API tokens, made, listed and revoked.

A new token's key is shown once, in the answer to the POST that made it, and never again
(only its hash is stored, web/tokens.py). Another user's token is a 404, whatever the
method, so that ids tell nothing.
"""

from django import forms
from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.validators import MaxValueValidator
from django.http import HttpResponseNotAllowed
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.cache import add_never_cache_headers
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_http_methods

from web import tokens
from web.models import ApiToken


class TokenForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=100, strip=True)
    days = forms.IntegerField(label=_("Expires in (days)"), min_value=1, initial=90)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Read per form, not at import, so that a test may override the setting.
        most = settings.KUBEMON_API_TOKEN_MAX_DAYS
        days = self.fields["days"]
        days.validators.append(MaxValueValidator(most))
        days.widget.attrs["max"] = most
        days.initial = min(90, most)


def page(request, form: TokenForm, key: str = "", status: int = 200):
    context = {
        "form": form,
        "key": key,
        "tokens": ApiToken.objects.filter(user=request.user),
        "now": timezone.now(),
        "max_days": settings.KUBEMON_API_TOKEN_MAX_DAYS,
    }
    return render(request, "web/tokens.html", context, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def token_list(request):
    if request.method == "GET":
        return page(request, TokenForm())
    form = TokenForm(request.POST)
    if not form.is_valid():
        return page(request, form, status=400)
    _token, key = tokens.issue(request.user, form.cleaned_data["name"], form.cleaned_data["days"])
    answer = page(request, TokenForm(), key=key, status=201)
    # The key is in this page only: no browser or proxy cache may keep a copy.
    add_never_cache_headers(answer)
    return answer


@login_required
def revoke(request, pk: int):
    token = get_object_or_404(ApiToken, pk=pk, user=request.user)
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    if token.revoked is None:
        token.revoked = timezone.now()
        token.save(update_fields=["revoked"])
    return redirect("tokens")
