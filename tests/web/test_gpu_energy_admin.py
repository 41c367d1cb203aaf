"""Unheld GPU energy and grid intensity in the admin: listed, filtered by cluster, node and
date, and changed by nobody (collection and import_grid_intensity write them)."""

from datetime import UTC, datetime, timedelta

import pytest

from billing.models import Cluster, GpuIdleEnergy, GridIntensity

HOUR = datetime(2026, 11, 10, 8, tzinfo=UTC)


@pytest.fixture
def rows(db):
    clusters = [Cluster.objects.create(name=name) for name in ("epfl-1", "epfl-2")]
    for cluster in clusters:
        for node, joules in (("gpu-a", 512_345.0), ("gpu-b", 98_765.0)):
            GpuIdleEnergy.objects.create(
                cluster=cluster, node=node, hour=HOUR, joules=joules + cluster.pk
            )
    GpuIdleEnergy.objects.create(
        cluster=clusters[0], node="gpu-a", hour=HOUR - timedelta(days=40), joules=777.0
    )
    GridIntensity.objects.create(hour=HOUR, gco2_per_kwh=123.5)
    GridIntensity.objects.create(hour=HOUR - timedelta(days=40), gco2_per_kwh=456.5)
    return clusters


def listed(admin_client, model: str, **params) -> str:
    answer = admin_client.get(f"/admin/billing/{model}/", params)
    assert answer.status_code == 200
    return answer.content.decode()


def shown(admin_client, **params) -> set[tuple[str, str]]:
    """(cluster, node) of the unheld energy rows the admin lists."""
    cl = admin_client.get("/admin/billing/gpuidleenergy/", params).context["cl"]
    return {(row.cluster.name, row.node) for row in cl.result_list}


def test_the_admin_lists_unheld_energy_filtered_by_cluster_node_and_date(admin_client, rows):
    html = listed(admin_client, "gpuidleenergy")
    assert "gpu-a" in html and "gpu-b" in html and "512" in html
    assert shown(admin_client, cluster__id__exact=rows[1].pk) == {
        ("epfl-2", "gpu-a"),
        ("epfl-2", "gpu-b"),
    }
    assert shown(admin_client, node="gpu-b") == {("epfl-1", "gpu-b"), ("epfl-2", "gpu-b")}
    in_november = admin_client.get(
        "/admin/billing/gpuidleenergy/", {"hour__year": 2026, "hour__month": 11}
    ).context["cl"]
    assert in_november.result_count == 4


def test_the_admin_lists_grid_intensity_by_date(admin_client, rows):
    html = listed(admin_client, "gridintensity")
    assert "123.5" in html and "456.5" in html
    october = admin_client.get(
        "/admin/billing/gridintensity/", {"hour__year": 2026, "hour__month": 10}
    ).context["cl"]
    assert [row.gco2_per_kwh for row in october.result_list] == [456.5]


@pytest.mark.parametrize(
    ("model", "cls"), [("gpuidleenergy", GpuIdleEnergy), ("gridintensity", GridIntensity)]
)
def test_nobody_adds_changes_or_deletes_them_in_the_admin(admin_client, rows, model, cls):
    before = list(cls.objects.order_by("pk").values())
    assert admin_client.get(f"/admin/billing/{model}/add/").status_code == 403
    pk = cls.objects.order_by("pk").first().pk
    page = admin_client.get(f"/admin/billing/{model}/{pk}/change/").content.decode()
    assert 'name="_save"' not in page
    assert admin_client.post(f"/admin/billing/{model}/{pk}/delete/").status_code == 403
    assert list(cls.objects.order_by("pk").values()) == before
