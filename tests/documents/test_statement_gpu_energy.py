"""The statement's GPU energy and efficiency section, in its content and in its PDF read back
as text with pypdf.

The site's October (tests/fixtures/site_data.py) is closed; tests/fixtures/gpu_energy.py
gives lab-a's GPU hours known energy and activity. lab-b's jobs held no GPU.
"""

from decimal import Decimal

import pytest

from billing.documents.content import statement_content
from billing.documents.pdf import statement_pdf
from billing.models import Account, HourlyUsage, Statement
from tests.fixtures.api_site import site_fixture  # noqa: F401
from tests.fixtures.gpu_energy import october_gpus_fixture  # noqa: F401
from tests.fixtures.pdf_text import pdf_text
from tests.fixtures.site_data import OCTOBER

pytestmark = pytest.mark.django_db


def october(account: str) -> Statement:
    return Statement.objects.get(period__month=OCTOBER.date(), account__name=account)


def test_the_content_sums_the_accounts_gpus_of_the_month_and_their_carbon(site, october_gpus):
    gpu = statement_content(october("lab-a"), None).gpu
    assert (gpu.held_hours, gpu.busy_hours, gpu.idle_hours) == (
        Decimal(27),
        Decimal("21.6"),
        Decimal("2.7"),
    )
    assert gpu.efficiency == Decimal("0.8")
    assert gpu.energy_kwh == pytest.approx(13.5, rel=1e-12)
    assert gpu.co2_kg == pytest.approx(1.55, rel=1e-12)
    assert gpu.estimated_hours == 3


def test_the_pdf_shows_the_months_gpu_energy_carbon_and_efficiency(site, october_gpus):
    text = pdf_text(statement_pdf(october("lab-a")))
    assert "GPU energy and efficiency" in text
    for line in [
        "GPU-hours held 27.0",
        "GPU-hours busy 21.6",
        "GPU efficiency 80 %",
        "Idle GPU-hours 2.7",
        "GPU energy (kWh) 13.50 (part estimated)",
        "Carbon (kg CO2-eq) 1.55",
    ]:
        assert line in text.splitlines()
    assert "Part estimated: in 3 job-hours, jobs held a MIG slice" in " ".join(text.split())


def test_no_estimate_is_claimed_when_every_hour_was_measured(site, october_gpus):
    october_gpus.update(gpu_energy_estimated=False)
    text = pdf_text(statement_pdf(october("lab-a")))
    assert "GPU energy (kWh) 13.50" in text.splitlines()
    assert "estimated" not in text


def test_an_account_whose_jobs_held_no_gpu_has_no_gpu_section(site):
    assert not HourlyUsage.objects.filter(account__name="lab-b", gpu_seconds__gt=0).exists()
    assert statement_content(october("lab-b"), None).gpu is None
    text = pdf_text(statement_pdf(october("lab-b")))
    assert "GPU energy" not in text and "GPU-hours" not in text


def test_a_french_accounts_pdf_has_the_section_in_french(site, october_gpus):
    Account.objects.filter(name="lab-a").update(language="fr")
    text = pdf_text(statement_pdf(october("lab-a")))
    assert "Énergie et efficacité des GPU" in text
    for line in [
        "Heures-GPU réservées 27.0",
        "Heures-GPU actives 21.6",
        "Efficacité GPU 80 %",
        "Heures-GPU inactives 2.7",
        "Énergie des GPU (kWh) 13.50 (en partie estimée)",
        "Carbone (kg CO2-éq) 1.55",
    ]:
        assert line in text.splitlines()
    assert "En partie estimée : pendant 3 heures de job" in " ".join(text.split())


def test_a_billed_energy_line_says_how_much_of_its_quantity_is_an_estimate(site, october_gpus):
    statement = october("lab-a")
    line = statement.lines.first()
    line.pk, line.resource, line.unit = None, "gpu_energy", "kWh"
    line.quantity, line.estimated_quantity = Decimal("13.500"), Decimal("1.500")
    line.save()
    text = " ".join(pdf_text(statement_pdf(statement)).split())
    assert "GPU energy 13.500 of which 1.500 estimated kWh" in text
    line.estimated_quantity = Decimal(0)
    line.save()
    assert "of which" not in pdf_text(statement_pdf(statement))
