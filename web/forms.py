"""Filter forms of the pages: each field checked, a bad value named in a 400 answer."""

from datetime import date

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from billing.utc import FIRST_MONTH, LAST_MONTH, MonthOutOfRange, NotAMonth, parse_month

# The first is the default: the dearest jobs first.
JOB_SORTS = {
    "cost": _("cost"),
    "name": _("name"),
    "namespace": _("namespace"),
    "kind": _("kind"),
    "first_hour": _("first hour"),
    "hours": _("hours"),
    "cpu_hours": _("CPU core-hours"),
    "memory_gib_hours": _("memory GiB-hours"),
    "gpu_hours": _("GPU-hours"),
    "cpu_efficiency": _("CPU efficiency"),
}


class PeriodField(forms.Field):
    """A billing period written YYYY-MM, cleaned to the month's first day.

    Parsed by billing.utc.parse_month, the parser of the API and the commands too: a month
    outside FIRST_MONTH to LAST_MONTH is the form's error, answered 400 by the page.
    """

    widget = forms.TextInput(attrs={"placeholder": "YYYY-MM", "size": 8, "maxlength": 7})

    def to_python(self, value) -> date | None:
        value = (value or "").strip()
        if not value:
            return None
        try:
            return parse_month(value, timezone.now())
        except MonthOutOfRange:
            bounds = {"first": f"{FIRST_MONTH:%Y-%m}", "last": f"{LAST_MONTH:%Y-%m}"}
            raise forms.ValidationError(
                _(
                    "%(value)s is outside the months billed here: "
                    "write one from %(first)s to %(last)s."
                ),
                params={"value": value, **bounds},
            ) from None
        except NotAMonth:
            raise forms.ValidationError(
                _("%(value)s is not a month; write YYYY-MM."), params={"value": value}
            ) from None


class JobFilter(forms.Form):
    period = PeriodField(label=_("Period"), required=False)
    namespace = forms.ChoiceField(label=_("Namespace"), required=False)
    kind = forms.ChoiceField(label=_("Kind"), required=False)
    q = forms.CharField(label=_("Name contains"), required=False, max_length=253)
    sort = forms.ChoiceField(
        label=_("Sort by"),
        required=False,
        choices=[
            (f"{sign}{key}", f"{label} {arrow}")
            for key, label in JOB_SORTS.items()
            for sign, arrow in (("-", "↓"), ("", "↑"))
        ],
    )

    def __init__(self, data, namespaces: list[str], kinds: list[str]):
        super().__init__(data)
        everything = [("", _("all"))]
        self.fields["namespace"].choices = everything + [(n, n) for n in namespaces]
        self.fields["kind"].choices = everything + [(k, k) for k in kinds]


def show_drawn(form: forms.Form, **values: str) -> None:
    """Make a bound form show the values the page is drawn with, where the request left a
    field empty (the default month, metric or range) or wrote it another way."""
    form.data = form.data.copy()
    for name, value in values.items():
        form.data[name] = value
