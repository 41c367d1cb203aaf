"""The account pages: totals equal the statement, filters, sorting, pages, CSV, access."""

import csv
import io

import pytest

from billing.models import HourlyUsage, Statement
from tests.fixtures.api_site import site_fixture  # noqa: F401
from tests.fixtures.site_data import PASSWORD

OCTOBER = "2026-10"


# The site is built once for the module (tests/fixtures/api_site.py); each test's changes roll back.
pytestmark = pytest.mark.django_db


def logged_in(client, username):
    assert client.login(username=username, password=PASSWORD)
    return client


@pytest.mark.parametrize("account", ["lab-a", "lab-b"])
def test_account_month_is_priced_exactly_as_its_closed_statement(client, site, account):
    statement = Statement.objects.get(account__name=account, period__month__month=10)
    page = logged_in(client, "fiona").get(
        f"/accounts/{site.accounts[account].pk}/?period={OCTOBER}"
    )
    assert page.status_code == 200
    assert page.context["total"] == statement.total_chf
    billed = {str(r["name"]): r for r in page.context["resources"]}
    for line in statement.lines.all():
        name = {"network_rx": "Network in", "network_tx": "Network out"}.get(
            line.resource, line.resource.replace("_", " ").capitalize().replace("Cpu", "CPU")
        )
        name = {"Gpu": "GPU", "Gpu memory": "GPU memory"}.get(name, name)
        assert billed[name]["billed"] == line.quantity, line.resource
        assert billed[name]["cost"] == line.amount_chf, line.resource


def test_account_list_shows_a_member_only_their_accounts(client, site):
    page = logged_in(client, "alice").get("/accounts/")
    assert [r["account"].name for r in page.context["rows"]] == ["lab-a"]
    page = logged_in(client, "oscar").get("/accounts/")
    assert [r["account"].name for r in page.context["rows"]] == ["lab-a", "lab-b", "unassigned"]


def test_another_accounts_page_and_csv_are_404_for_a_member(client, site):
    lab_b = site.accounts["lab-b"].pk
    client = logged_in(client, "alice")
    assert client.get(f"/accounts/{lab_b}/").status_code == 404
    assert client.get(f"/accounts/{lab_b}/jobs.csv").status_code == 404
    assert client.get("/accounts/999999/").status_code == 404


def test_pages_need_a_login(client, site):
    answer = client.get(f"/accounts/{site.accounts['lab-a'].pk}/")
    assert answer.status_code == 302
    assert answer["Location"].startswith("/login/?next=")


def october_cpu_hours(namespace: str | None = None, kind: str | None = None) -> dict:
    usage = HourlyUsage.objects.filter(account__name="lab-a", hour__year=2026, hour__month=10)
    if namespace:
        usage = usage.filter(job__namespace=namespace)
    if kind:
        usage = usage.filter(job__kind=kind)
    totals: dict[str, float] = {}
    for u in usage.select_related("job"):
        totals[u.job.name] = totals.get(u.job.name, 0.0) + u.cpu_core_seconds / 3600
    return totals


def shown_jobs(page) -> list[str]:
    return [job["name"] for job in page.context["page"]]


def test_jobs_are_filtered_by_namespace_kind_and_name(client, site):
    client = logged_in(client, "alice")
    url = f"/accounts/{site.accounts['lab-a'].pk}/?period={OCTOBER}"
    assert set(shown_jobs(client.get(url))) == set(october_cpu_hours())
    page = client.get(url + "&namespace=bio-ci")
    assert set(shown_jobs(page)) == set(october_cpu_hours("bio-ci"))
    assert set(shown_jobs(client.get(url + "&kind=Deployment"))) == set()
    assert shown_jobs(client.get(url + "&q=TRAIN-05")) == ["train-05"]


def test_jobs_sort_both_ways_and_default_to_the_dearest_first(client, site):
    client = logged_in(client, "alice")
    url = f"/accounts/{site.accounts['lab-a'].pk}/?period={OCTOBER}"
    cpu = october_cpu_hours()
    by_cpu = sorted(cpu, key=lambda name: (cpu[name], name))
    assert shown_jobs(client.get(url + "&sort=cpu_hours")) == by_cpu
    assert shown_jobs(client.get(url + "&sort=-cpu_hours")) == by_cpu[::-1]
    assert shown_jobs(client.get(url + "&sort=name")) == sorted(cpu)
    costs = [job["cost"] for job in client.get(url).context["page"]]
    assert costs == sorted(costs, reverse=True)


def test_jobs_are_paged(client, site, monkeypatch):
    monkeypatch.setattr("web.views.accounts.JOBS_PER_PAGE", 5)
    client = logged_in(client, "alice")
    url = f"/accounts/{site.accounts['lab-a'].pk}/?period={OCTOBER}&sort=name"
    names = sorted(october_cpu_hours())
    pages = [shown_jobs(client.get(f"{url}&page={n}")) for n in (1, 2, 3)]
    assert pages == [names[0:5], names[5:10], names[10:15]]
    assert shown_jobs(client.get(f"{url}&page=99")) == names[10:15]
    assert shown_jobs(client.get(f"{url}&page=x")) == names[0:5]


@pytest.mark.parametrize(
    "query, field",
    [
        ("period=2026-13", "period"),
        ("period=oct", "period"),
        ("sort=price", "sort"),
        ("namespace=physics", "namespace"),
        ("kind=Cron", "kind"),
    ],
)
def test_a_bad_filter_is_a_400_naming_the_field(client, site, query, field):
    client = logged_in(client, "alice")
    page = client.get(f"/accounts/{site.accounts['lab-a'].pk}/?{query}")
    assert page.status_code == 400
    assert list(page.context["form"].errors) == [field]
    csv_answer = client.get(f"/accounts/{site.accounts['lab-a'].pk}/jobs.csv?{query}")
    assert csv_answer.status_code == 400
    assert csv_answer.content.decode().startswith(f"{field}:")


def test_the_csv_holds_every_filtered_job_with_its_exact_figures(client, site, monkeypatch):
    monkeypatch.setattr("web.views.accounts.JOBS_PER_PAGE", 2)
    client = logged_in(client, "alice")
    base = f"/accounts/{site.accounts['lab-a'].pk}"
    answer = client.get(f"{base}/jobs.csv?period={OCTOBER}&namespace=bio-lab&sort=-cpu_hours")
    assert answer["Content-Type"] == "text/csv; charset=utf-8"
    assert "lab-a-2026-10-jobs.csv" in answer["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(answer.content.decode())))
    cpu = october_cpu_hours("bio-lab")
    assert [r["name"] for r in rows] == sorted(cpu, key=lambda n: -cpu[n])
    page = client.get(f"{base}/?period={OCTOBER}&namespace=bio-lab&sort=-cpu_hours")
    shown = {j["name"]: j for j in page.context["page"].paginator.object_list}
    for row in rows:
        assert float(row["cpu_core_hours"]) == pytest.approx(cpu[row["name"]], rel=1e-12)
        assert row["estimated_cost_chf"] == str(shown[row["name"]]["cost"])


def test_the_account_page_runs_a_fixed_number_of_queries(
    client, site, django_assert_num_queries, monkeypatch
):
    client = logged_in(client, "fiona")
    url = f"/accounts/{site.accounts['lab-a'].pk}/?period={OCTOBER}"
    # session, user, groups, account, namespaces, kinds, tariffs, the chart's days, the
    # month's totals, the jobs, the jobs that held GPUs idle: whatever the number of jobs.
    with django_assert_num_queries(11):
        client.get(url)
    monkeypatch.setattr("web.views.accounts.JOBS_PER_PAGE", 2)
    with django_assert_num_queries(11):
        client.get(url)
    # session, user, groups, accounts, tariffs, their month's sums.
    with django_assert_num_queries(6):
        client.get("/accounts/")
