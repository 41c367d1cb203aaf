"""GPU energy on the overview and the idle GPUs page (ops and finance), against sums of the
stored rows made here: held energy per day and cluster, unheld energy per node, held-but-idle
GPU-hours and efficiency per account; labs see only their own energy and never the page."""

import math
from collections import defaultdict
from datetime import date, timedelta

import pytest
from django.db import connection, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext

from tests.fixtures.api_site import site_fixture  # noqa: F401
from tests.fixtures.idle_gpus import UNHELD, UNHELD_DAYS, add_gpu_energy

pytestmark = pytest.mark.django_db

KWH = 3.6e6
WRITES = ("INSERT", "UPDATE", "DELETE")


@pytest.fixture(scope="module")
def energy(site, django_db_blocker):
    """The site's GPU energy, written once for the module (the pages only read it)."""
    with django_db_blocker.unblock(), transaction.atomic():
        yield add_gpu_energy(site)
        transaction.set_rollback(True)


def client_of(site, username: str) -> Client:
    client = Client()
    client.force_login(site.users[username])
    return client


def per_day(rows, accounts=None) -> dict[date, float]:
    """kWh per UTC day of the rows (of `accounts` only, when given)."""
    days = defaultdict(list)
    for row in rows:
        if accounts is None or row.account.name in accounts:
            days[row.hour.date()].append(row.gpu_energy_joules / KWH)
    return {day: math.fsum(values) for day, values in days.items()}


def drawn(chart, label_part: str) -> dict[date, float]:
    """The chart's values per day, summed over the datasets whose label has `label_part`."""
    days = defaultdict(float)
    for dataset in chart["datasets"]:
        if label_part in dataset["label"]:
            for day, value in zip(chart["labels"], dataset["data"], strict=True):
                days[date.fromisoformat(day)] += value or 0.0
    return {day: value for day, value in days.items() if value}


def test_the_overview_draws_the_gpu_energy_of_each_day_and_the_unheld_energy_for_finance(
    site, energy
):
    page = client_of(site, "fiona").get("/?days=365")
    chart = page.context["energy"]["chart"]
    held = drawn(chart, "held by jobs")
    assert held.keys() == per_day(energy).keys()
    for day, kwh in per_day(energy).items():
        assert held[day] == pytest.approx(kwh, abs=1e-4)
    unheld = drawn(chart, "no pod held")
    # The chart's values are rounded to 4 decimals for drawing (web/charts.py).
    day_kwh = sum(UNHELD.values()) * 24 / KWH
    assert unheld == pytest.approx(dict.fromkeys(UNHELD_DAYS, day_kwh), abs=1e-4)
    (cluster,) = page.context["energy"]["clusters"]
    assert cluster["unheld"] == pytest.approx(2 * day_kwh)
    assert cluster["held"] == pytest.approx(sum(r.gpu_energy_joules for r in energy) / KWH)
    estimated = sum(1 for r in energy if r.gpu_energy_estimated)
    assert cluster["estimated_hours"] == estimated > 0
    html = page.content.decode()
    assert 'id="gpu-energy-unheld"' in html and 'href="/gpus/idle/"' in html


def test_a_lab_member_sees_the_energy_of_their_accounts_only_and_no_unheld_energy(site, energy):
    page = client_of(site, "alice").get("/?days=365")
    chart = page.context["energy"]["chart"]
    own = per_day(energy, {"lab-a"})
    assert own and own != per_day(energy)
    assert drawn(chart, "held by jobs") == pytest.approx(own, abs=1e-4)
    assert drawn(chart, "no pod held") == {}
    assert page.context["energy"]["unheld"] is None
    html = page.content.decode()
    assert "GPUs no pod held" not in html and "gpu-energy-unheld" not in html
    assert "/gpus/idle/" not in html


def idle_page(site, username: str, **params):
    answer = client_of(site, username).get("/gpus/idle/", params)
    return answer


def expected_accounts(rows, first: date, last: date) -> dict[str, dict]:
    sums = defaultdict(lambda: defaultdict(list))
    for row in rows:
        if first <= row.hour.date() <= last:
            for field in ("gpu_seconds", "gpu_busy_seconds", "gpu_idle_seconds"):
                sums[row.account.name][field].append(getattr(row, field))
    return {name: {k: math.fsum(v) for k, v in s.items()} for name, s in sums.items()}


@pytest.mark.parametrize("username", ["oscar", "fiona"])
def test_ops_and_finance_see_a_months_idle_gpus_per_node_and_per_account(site, energy, username):
    answer = idle_page(site, username, period="2026-11")
    assert answer.status_code == 200
    nodes = [(r["node"], r["kwh"], r["hours"]) for r in answer.context["unheld"]]
    assert nodes == [
        ("gpu-a", pytest.approx(UNHELD["gpu-a"] * 24 / KWH), 24),
        ("gpu-b", pytest.approx(UNHELD["gpu-b"] * 24 / KWH), 24),
    ]
    expected = expected_accounts(energy, date(2026, 11, 1), date(2026, 11, 30))
    held = {r["account__name"]: r for r in answer.context["held"]}
    assert held.keys() == expected.keys()
    for name, sums in expected.items():
        row = held[name]
        assert row["cluster__name"] == "epfl-1"
        assert row["gpu_hours"] == pytest.approx(sums["gpu_seconds"] / 3600)
        assert row["idle_hours"] == pytest.approx(sums["gpu_idle_seconds"] / 3600)
        assert row["efficiency"] == pytest.approx(sums["gpu_busy_seconds"] / sums["gpu_seconds"])
    idle = [r["idle_hours"] for r in answer.context["held"]]
    assert idle == sorted(idle, reverse=True)
    html = answer.content.decode()
    assert 'data-node="gpu-a"' in html and 'data-account="lab-b"' in html


def test_one_day_shows_that_days_figures_only(site, energy):
    day = UNHELD_DAYS[0]
    answer = idle_page(site, "oscar", day=day.isoformat())
    assert answer.status_code == 200
    assert answer.context["form"]["period"].value() == f"{day:%Y-%m}"
    assert sum(r["kwh"] for r in answer.context["unheld"]) == pytest.approx(
        sum(UNHELD.values()) * 24 / KWH
    )
    expected = expected_accounts(energy, day, day)
    assert expected  # lab-a trains on a GPU that day
    held = {r["account__name"]: r["gpu_hours"] for r in answer.context["held"]}
    assert held == pytest.approx({n: s["gpu_seconds"] / 3600 for n, s in expected.items()})
    # A day without unheld energy lists none.
    after = idle_page(site, "oscar", day=(day + timedelta(days=1)).isoformat())
    assert after.context["unheld"] == []


@pytest.mark.parametrize(
    ("param", "value"),
    [
        ("day", "2026-02-30"),
        ("day", "0001-01-01"),
        ("day", "9999-12-31"),
        ("day", "2026-11-10T00:00"),
        ("day", "9" * 5000),
        ("day", "a\x00b"),
        ("period", "2026-13"),
        ("period", "1850-01"),
    ],
)
def test_a_bad_day_or_month_is_a_400_naming_it(site, param, value):
    answer = idle_page(site, "oscar", **{param: value})
    assert answer.status_code == 400
    # The form marks the field; an overlong value or a control character is refused before
    # any page (web/control_characters.py), naming the parameter too.
    text = answer.content.decode()
    assert f'data-field="{param}"' in text or text.startswith(f"{param}: ")


@pytest.mark.parametrize("params", [{"period": "2026-11"}, {"day": "2026-11-10"}, {}])
def test_the_page_reads_in_a_fixed_number_of_queries_and_writes_nothing(
    site, energy, django_assert_num_queries, params
):
    client = client_of(site, "oscar")
    # session, user, groups; held GPUs per account and cluster; unheld energy per node.
    with django_assert_num_queries(5), CaptureQueriesContext(connection) as queries:
        assert client.get("/gpus/idle/", params).status_code == 200
    assert not [q for q in queries if q["sql"].lstrip().upper().startswith(WRITES)]


def test_a_lab_member_is_refused_the_page_and_not_shown_it_in_the_menu(site, energy):
    assert idle_page(site, "alice", period="2026-11").status_code == 403
    assert "/gpus/idle/" not in client_of(site, "alice").get("/accounts/").content.decode()
    assert 'href="/gpus/idle/"' in client_of(site, "oscar").get("/accounts/").content.decode()


def test_the_page_is_in_french_for_a_french_browser(site, energy):
    answer = client_of(site, "oscar").get(
        "/gpus/idle/", {"period": "2026-11"}, headers={"accept-language": "fr"}
    )
    html = answer.content.decode()
    assert "GPU inactifs" in html and "novembre 2026" in html
