"""Hostile values in every parameter the pages read: a page or a 400, never a 500.

The pages' filters reach the database (PostgreSQL refuses NUL) and Prometheus (the live
page); out-of-range times, digits no int() takes and control characters are tried on each.
"""

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse

from tests.fixtures.api_site import site_fixture  # noqa: F401

FILTERS = ["period", "page", "q", "namespace", "kind", "sort"]
LIVE = ["metric", "range", "end", "cluster", "namespace", "pod", "node"]
HOSTILE = ["9" * 5000, "\u0661\u0662", "0001-01-01T00:00", "9999-12-31T23:59", "a\x00b", "-1"]


@pytest.fixture
def fiona(db, site, settings) -> Client:
    settings.PROMETHEUS_URL = "http://127.0.0.1:9"
    settings.PROMETHEUS_RETRIES = 0
    client = Client()
    client.force_login(User.objects.get(username="fiona"))
    return client


def pages(site) -> dict[str, list[str]]:
    """Each page, and the parameters it reads."""
    account = site.accounts["lab-a"].pk
    return {
        reverse("overview"): ["days"],
        reverse("account", args=[account]): FILTERS,
        reverse("account-jobs-csv", args=[account]): FILTERS,
        reverse("job", args=[site.jobs["train-00"].pk]): ["period"],
        reverse("statements"): ["period"],
        reverse("exports"): ["page"],
        reverse("live"): LIVE,
        reverse("idle-gpus"): ["period", "day"],
    }


def test_no_hostile_value_of_a_page_parameter_is_a_500(fiona, site):
    crashed = []
    for url, params in pages(site).items():
        for param in params:
            for value in HOSTILE:
                status = fiona.get(url, {param: value}).status_code
                if status == 500:  # 503 on the live page: Prometheus is down here
                    crashed.append((url, param, value[:20]))
    assert crashed == []
