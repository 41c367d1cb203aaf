"""Every form shows the values its page is drawn with: a default the request left out (the
live page's metric and range, a job's or an account's month) is selected in the form, not
left for the browser to show the first option or an empty field."""

from datetime import timedelta
from html.parser import HTMLParser

import pytest
from django.urls import reverse
from django.utils import timezone

from billing.utc import month_of
from tests.fixtures import site_data
from web.views.live import DEFAULT_METRIC, DEFAULT_RANGE


class FormValues(HTMLParser):
    """What a browser shows in each field: a select's selected option, an input's value."""

    def __init__(self, html: str):
        super().__init__()
        self.values: dict[str, str | None] = {}
        self.select: str | None = None
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "select":
            self.select = attrs.get("name")
            self.values.setdefault(self.select, None)
        elif tag == "option" and self.select and "selected" in attrs:
            self.values[self.select] = attrs.get("value")
        elif tag == "input" and attrs.get("name"):
            self.values[attrs["name"]] = attrs.get("value")

    def handle_endtag(self, tag):
        if tag == "select":
            self.select = None


def shown(answer) -> dict[str, str | None]:
    return FormValues(answer.content.decode()).values


@pytest.fixture
def site(db, settings, tmp_path):
    settings.KUBEMON_EXPORT_DIR = str(tmp_path)
    return site_data.build_site(tmp_path)


def logged_in(client, name: str):
    assert client.login(username=name, password=site_data.PASSWORD)
    return client


def test_the_job_page_s_period_field_shows_the_month_drawn_when_defaulted(client, site):
    job = site.jobs["train-07"]  # runs from late October into November
    answer = logged_in(client, "fiona").get(reverse("job", args=[job.pk]))
    assert answer.status_code == 200
    assert answer.context["month"].month == 11
    assert shown(answer)["period"] == "2026-11"
    assert "<strong>November 2026</strong>" in answer.content.decode()


def test_the_job_page_s_period_field_shows_the_month_asked_for(client, site):
    job = site.jobs["train-07"]
    answer = logged_in(client, "fiona").get(reverse("job", args=[job.pk]), {"period": "2026-10"})
    assert shown(answer)["period"] == "2026-10"


def test_the_account_page_s_period_field_shows_the_month_drawn_when_defaulted(client, site):
    account = site.accounts["lab-a"]
    answer = logged_in(client, "alice").get(reverse("account", args=[account.pk]))
    assert answer.status_code == 200
    month = month_of(timezone.now())
    assert answer.context["month"] == month
    assert shown(answer)["period"] == f"{month:%Y-%m}"


def test_a_wrong_period_is_shown_back_as_typed(client, site):
    job = site.jobs["train-07"]
    answer = logged_in(client, "fiona").get(reverse("job", args=[job.pk]), {"period": "2026-13"})
    assert answer.status_code == 400
    assert shown(answer)["period"] == "2026-13"


def test_the_idle_gpus_page_s_month_field_shows_the_month_drawn_for_a_day_or_by_default(
    client, site
):
    client = logged_in(client, "oscar")
    answer = client.get(reverse("idle-gpus"))
    assert answer.status_code == 200
    assert shown(answer)["period"] == f"{month_of(timezone.now()):%Y-%m}"
    assert shown(answer)["day"] is None
    answer = client.get(reverse("idle-gpus"), {"period": "2026-11", "day": "2026-10-06"})
    assert shown(answer)["period"] == "2026-10"
    assert shown(answer)["day"] == "2026-10-06"
    assert '<strong id="span">2026-10-06</strong>' in answer.content.decode()


@pytest.fixture
def ops_client(client, site):
    return logged_in(client, "oscar")


def drawn_metric(answer) -> str:
    """The metric the live page drew: the heading of its chart and table."""
    text = answer.content.decode()
    return text.split("<h2>", 1)[1].split(" ", 1)[0]


def test_the_live_page_s_picker_selects_the_default_metric_it_draws(
    ops_client, prometheus_settings
):
    answer = ops_client.get(reverse("live"))
    assert answer.status_code == 200
    assert drawn_metric(answer) == DEFAULT_METRIC
    assert shown(answer)["metric"] == DEFAULT_METRIC
    assert shown(answer)["range"] == DEFAULT_RANGE


def test_the_live_page_s_picker_selects_the_default_when_only_a_filter_is_given(
    ops_client, prometheus_settings, history_window
):
    end = (history_window[1] - timedelta(hours=1)).isoformat()
    answer = ops_client.get(reverse("live"), {"namespace": "ml", "end": end})
    assert answer.status_code == 200
    assert drawn_metric(answer) == DEFAULT_METRIC
    assert shown(answer)["metric"] == DEFAULT_METRIC
    assert shown(answer)["range"] == DEFAULT_RANGE
    assert shown(answer)["namespace"] == "ml"


def test_the_live_page_s_picker_selects_the_metric_asked_for(ops_client, prometheus_settings):
    answer = ops_client.get(reverse("live"), {"metric": "memory/rss", "range": "6h"})
    assert drawn_metric(answer) == "memory/rss"
    assert shown(answer)["metric"] == "memory/rss"
    assert shown(answer)["range"] == "6h"
