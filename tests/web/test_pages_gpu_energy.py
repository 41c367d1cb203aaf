"""GPU energy, carbon and efficiency where labs read their jobs and statements.

The site (tests/fixtures/site_data.py) stores no GPU energy or activity: each test writes known
figures into the hourly rows of its GPU jobs (train-01, -03 and -05 in October, one GPU each;
-07, -09 and -11 in November), or adds GPU jobs of its own, and reads back the exact figures
each page writes. Carbon is each hour's energy at that hour's grid intensity
(billing/ledger/carbon.py): an imported hour or the constant KUBEMON_GRID_GCO2_PER_KWH.
"""

import re
from datetime import UTC, datetime, timedelta

import pytest
from django.urls import reverse
from django.utils.html import strip_tags

from billing.models import GridIntensity, HourlyUsage, Job, Statement
from tests.fixtures.api_site import site_fixture  # noqa: F401
from tests.fixtures.gpu_energy import KWH, october_gpus_fixture  # noqa: F401
from tests.fixtures.site_data import OCTOBER, PASSWORD

pytestmark = pytest.mark.django_db

HOUR = timedelta(hours=1)


def logged_in(client, username, language="en"):
    assert client.login(username=username, password=PASSWORD)
    client.cookies["django_language"] = language
    return client


def table_rows(page, name: str) -> list[str]:
    """The text of each body row of the table whose id or class is `name`, cells joined by
    one space."""
    html = page.content.decode()
    table = re.search(rf'<table[^>]* (?:id|class)="{name}".*?</table>', html, re.S).group(0)
    body = re.search(r"<tbody>(.*)</tbody>", table, re.S).group(1)
    rows = re.findall(r"<tr>(.*?)</tr>", body, re.S)
    return [" ".join(strip_tags(re.sub(r"</t[dh]>", " ", row)).split()) for row in rows]


def visible_text(page) -> str:
    return " ".join(strip_tags(page.content.decode()).split())


@pytest.fixture
def train_05(site, settings):
    """train-05: 11 hours of one GPU in October, each 50 % busy, idle a quarter of the hour,
    0.1 kWh; two hours are estimates; its first hour at 400 g CO2-eq/kWh, the others at the
    constant 100 g: 0.1 x 0.4 + 10 x 0.1 x 0.1 = 0.14 kg."""
    settings.KUBEMON_GRID_GCO2_PER_KWH = 100
    job = site.jobs["train-05"]
    rows = HourlyUsage.objects.filter(job=job)
    updated = rows.update(gpu_busy_seconds=1800, gpu_idle_seconds=900, gpu_energy_joules=0.1 * KWH)
    assert updated == 11
    hours = list(rows.order_by("hour").values_list("hour", flat=True))
    rows.filter(hour__in=hours[3:5]).update(gpu_energy_estimated=True)
    GridIntensity.objects.create(hour=hours[0], gco2_per_kwh=400)
    return job


def test_the_job_page_shows_a_gpu_jobs_energy_carbon_efficiency_and_idle_hours(client, train_05):
    page = logged_in(client, "alice").get(f"/jobs/{train_05.pk}/?period=2026-10")
    assert page.status_code == 200
    # GPU-hours held, busy, efficiency, idle GPU-hours, kWh, kg CO2-eq; month and whole life.
    assert table_rows(page, "job-gpu") == [
        "October 2026 11.00 5.50 50 % 2.75 1.100 estimate 0.140",
        "Whole life 11.00 5.50 50 % 2.75 1.100 estimate 0.140",
    ]
    text = visible_text(page)
    assert "a GPU held with its activity below 5 % is idle" in text
    assert "Estimate: in 2 hours, the job held a MIG slice or a time-shared GPU" in text
    assert 'title="Part of this energy is an estimate' in page.content.decode()


def test_a_month_without_gpus_shows_the_whole_lifes_figures_and_no_estimate_is_unmarked(
    client, site, train_05
):
    HourlyUsage.objects.filter(job=train_05).update(gpu_energy_estimated=False)
    page = logged_in(client, "alice").get(f"/jobs/{train_05.pk}/?period=2026-09")
    assert table_rows(page, "job-gpu") == ["Whole life 11.00 5.50 50 % 2.75 1.100 0.140"]
    html = page.content.decode()
    assert 'class="estimate"' not in html and 'id="gpu-estimate-note"' not in html


def test_a_cpu_job_shows_no_gpu_table(client, site):
    page = logged_in(client, "alice").get(f"/jobs/{site.jobs['notebook'].pk}/")
    assert page.status_code == 200 and page.context["gpu"] is None
    assert 'id="job-gpu"' not in page.content.decode()
    assert "GPU energy" not in visible_text(page)


def test_the_job_page_reads_a_gpu_jobs_energy_in_four_more_queries(
    client, train_05, django_assert_num_queries
):
    client = logged_in(client, "alice")
    # The ten of a job without a parent (tests/web/test_pages_jobs.py), then the energy per
    # hour and those hours' intensities, for the month and for the whole life.
    with django_assert_num_queries(14):
        client.get(f"/jobs/{train_05.pk}/")


def test_the_job_page_writes_the_gpu_figures_in_french(client, train_05):
    page = logged_in(client, "alice", "fr").get(f"/jobs/{train_05.pk}/?period=2026-10")
    assert table_rows(page, "job-gpu") == [
        "octobre 2026 11.00 5.50 50 % 2.75 1.100 estimation 0.140",
        "Toute sa durée 11.00 5.50 50 % 2.75 1.100 estimation 0.140",
    ]
    text = visible_text(page)
    assert "Énergie et efficacité des GPU" in text
    assert "Estimation : pendant 2 heures, le job a réservé une tranche MIG" in text


def add_gpu_job(site, name: str, account: str, namespace: str, first: datetime, **hourly):
    """A Job of two hours with two GPUs, each hour's GPU figures as given."""
    job = Job.objects.create(
        cluster=site.cluster,
        namespace=namespace,
        kind="Job",
        name=name,
        first_seen=first,
        last_seen=first + 2 * HOUR,
    )
    HourlyUsage.objects.bulk_create(
        HourlyUsage(
            job=job,
            hour=first + i * HOUR,
            account=site.accounts[account],
            gpu_seconds=7200,
            **hourly,
        )
        for i in range(2)
    )
    return job


@pytest.fixture
def idle_jobs(site):
    """gpu-00 … gpu-11 in lab-a's October: gpu-k idle 300 (k + 1) s of each of its two hours,
    busy the rest but as much again, 0.25 (k + 1) kWh an hour; gpu-11: 2.00 idle GPU-hours of
    4.00 held, 50 % busy, 6 kWh. gpu-busy was never idle; lab-b and lab-a's November have a
    job idler than any."""
    base = OCTOBER + timedelta(days=9)
    jobs = {}
    for k in range(12):
        jobs[f"gpu-{k:02d}"] = add_gpu_job(
            site,
            f"gpu-{k:02d}",
            "lab-a",
            "bio-lab",
            base + k * HOUR,
            gpu_idle_seconds=300 * (k + 1),
            gpu_busy_seconds=7200 - 300 * (k + 1),
            gpu_energy_joules=0.25 * (k + 1) * KWH,
        )
    jobs["gpu-busy"] = add_gpu_job(
        site, "gpu-busy", "lab-a", "bio-lab", base, gpu_busy_seconds=7200, gpu_energy_joules=KWH
    )
    idle = {"gpu_idle_seconds": 7200, "gpu_energy_joules": KWH}
    jobs["physics-idle"] = add_gpu_job(site, "physics-idle", "lab-b", "physics", base, **idle)
    november = datetime(2026, 11, 10, tzinfo=UTC)
    jobs["november-idle"] = add_gpu_job(site, "november-idle", "lab-a", "bio-lab", november, **idle)
    HourlyUsage.objects.filter(job=jobs["gpu-10"], hour=base + 10 * HOUR).update(
        gpu_energy_estimated=True
    )
    return jobs


def test_the_account_page_ranks_the_months_ten_idlest_gpu_jobs_most_idle_first(
    client, site, idle_jobs
):
    page = logged_in(client, "alice").get(f"/accounts/{site.accounts['lab-a'].pk}/?period=2026-10")
    assert [job["name"] for job in page.context["idle_jobs"]] == [
        f"gpu-{k:02d}" for k in range(11, 1, -1)
    ]
    # Job, namespace, kind, idle GPU-hours, GPU-hours held, efficiency, kWh.
    rows = table_rows(page, "idle-gpu-jobs")
    assert rows[0] == "gpu-11 bio-lab Job 2.00 4.00 50 % 6.000"
    assert rows[1] == "gpu-10 bio-lab Job 1.83 4.00 54 % 5.500 estimate"
    assert rows[9] == "gpu-02 bio-lab Job 0.50 4.00 88 % 1.500"
    html = page.content.decode()
    assert f'href="/jobs/{idle_jobs["gpu-11"].pk}/?period=2026-10"' in html
    assert "GPUs held but idle" in visible_text(page)


def test_the_ranking_leaves_out_busy_gpus_other_months_and_other_labs(client, site, idle_jobs):
    url = f"/accounts/{site.accounts['lab-a'].pk}/?period=2026-10"
    # The site's own GPU jobs (train-01, -03, -05) have no idle seconds: not ranked.
    names = [job["name"] for job in logged_in(client, "alice").get(url).context["idle_jobs"]]
    assert "gpu-busy" not in names and not any(name.startswith("train") for name in names)
    assert "physics-idle" not in names and "november-idle" not in names
    # The job filters pick the jobs table's rows, not the ranking's.
    assert len(client.get(url + "&namespace=bio-ci").context["idle_jobs"]) == 10
    # November's GPU jobs train-07, -09 and -11 were never idle: only november-idle ranks.
    november = client.get(f"/accounts/{site.accounts['lab-a'].pk}/?period=2026-11")
    assert [job["name"] for job in november.context["idle_jobs"]] == ["november-idle"]
    lab_b = logged_in(client, "bob").get(f"/accounts/{site.accounts['lab-b'].pk}/?period=2026-10")
    assert table_rows(lab_b, "idle-gpu-jobs") == ["physics-idle physics Job 4.00 4.00 0 % 2.000"]
    other_lab = logged_in(client, "alice").get(f"/accounts/{site.accounts['lab-b'].pk}/")
    assert other_lab.status_code == 404


def test_an_account_without_idle_gpus_shows_no_ranking(client, site):
    page = logged_in(client, "alice").get(f"/accounts/{site.accounts['lab-a'].pk}/?period=2026-10")
    assert page.context["idle_jobs"] == []
    assert 'id="idle-gpu-jobs"' not in page.content.decode()


def test_the_ranking_is_one_query_whatever_the_number_of_jobs(
    client, site, idle_jobs, django_assert_num_queries
):
    client = logged_in(client, "alice")
    # The account page's queries (tests/web/test_pages_accounts.py), the ranking one of them.
    with django_assert_num_queries(11):
        page = client.get(f"/accounts/{site.accounts['lab-a'].pk}/?period=2026-10")
    assert len(page.context["idle_jobs"]) == 10


def test_the_ranking_is_in_french(client, site, idle_jobs):
    page = logged_in(client, "alice", "fr").get(
        f"/accounts/{site.accounts['lab-a'].pk}/?period=2026-10"
    )
    assert (
        table_rows(page, "idle-gpu-jobs")[1] == "gpu-10 bio-lab Job 1.83 4.00 54 % 5.500 estimation"
    )
    assert "GPU réservés mais inactifs" in visible_text(page)


def october_statement(account: str) -> Statement:
    return Statement.objects.get(period__month=OCTOBER.date(), account__name=account)


def test_the_statement_page_shows_the_months_gpu_energy_and_efficiency(client, site, october_gpus):
    url = reverse("statement", args=[october_statement("lab-a").pk])
    page = logged_in(client, "alice").get(url)
    assert table_rows(page, "gpu-energy") == [
        "GPU-hours held 27.0",
        "GPU-hours busy 21.6",
        "GPU efficiency 80 %",
        "Idle GPU-hours 2.7",
        "GPU energy (kWh) 13.50 (part estimated)",
        "Carbon (kg CO2-eq) 1.55",
    ]
    assert "Part estimated: in 3 job-hours, jobs held a MIG slice" in visible_text(page)


def test_the_statement_page_reads_the_carbon_in_two_more_queries(
    client, site, october_gpus, django_assert_num_queries
):
    client = logged_in(client, "fiona")
    url = reverse("statement", args=[october_statement("lab-a").pk])
    # The seven of a statement without GPUs (below), then the month's energy per hour and
    # those hours' intensities.
    with django_assert_num_queries(9):
        client.get(url)


def test_the_statement_page_shows_it_in_french(client, site, october_gpus):
    url = reverse("statement", args=[october_statement("lab-a").pk])
    page = logged_in(client, "alice", "fr").get(url)
    assert table_rows(page, "gpu-energy") == [
        "Heures-GPU réservées 27.0",
        "Heures-GPU actives 21.6",
        "Efficacité GPU 80 %",
        "Heures-GPU inactives 2.7",
        "Énergie des GPU (kWh) 13.50 (en partie estimée)",
        "Carbone (kg CO2-éq) 1.55",
    ]


def test_a_statement_without_gpus_has_no_gpu_section_and_no_more_queries(
    client, site, django_assert_num_queries
):
    client = logged_in(client, "fiona")
    url = reverse("statement", args=[october_statement("lab-b").pk])
    # As tests/web/test_pages_statements.py counts them: the GPU sums share the CPU and
    # memory ones' query.
    with django_assert_num_queries(7):
        page = client.get(url)
    assert page.context["content"].gpu is None
    assert 'class="gpu-energy"' not in page.content.decode()
