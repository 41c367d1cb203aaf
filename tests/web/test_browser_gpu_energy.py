"""A lab member follows the GPUs held but idle from the account page to the job, in a real
browser (Debian's chromium, tests/fixtures/browser.py)."""

from billing.models import HourlyUsage

KWH = 3.6e6


def test_a_lab_member_goes_from_the_idle_gpus_ranking_to_the_jobs_gpu_figures(
    browse, site, settings
):
    settings.KUBEMON_GRID_GCO2_PER_KWH = 100
    # train-05: 11 hours of one GPU, each idle half the hour, busy a quarter, 0.2 kWh; one
    # hour an estimate. 5.50 idle GPU-hours of 11.00 held, 25 %, 2.2 kWh, 0.22 kg.
    rows = HourlyUsage.objects.filter(job=site.jobs["train-05"])
    assert rows.update(gpu_idle_seconds=1800, gpu_busy_seconds=900, gpu_energy_joules=0.2 * KWH)
    rows.filter(pk=rows.order_by("hour").first().pk).update(gpu_energy_estimated=True)
    browser = browse()
    browser.login("alice")
    page = browser.page
    assert browser.open(f"/accounts/{site.accounts['lab-a'].pk}/?period=2026-10") == 200
    ranked = page.locator("#idle-gpu-jobs tbody tr td")
    assert ranked.all_inner_texts() == [
        "train-05",
        "bio-lab",
        "Job",
        "5.50",
        "11.00",
        "25 %",
        "2.200 estimate",
    ]
    browser.screenshot("account-idle-gpus")
    page.click("#idle-gpu-jobs a")
    page.wait_for_load_state()
    cells = page.locator("#job-gpu tbody tr:first-child td").all_inner_texts()
    assert cells == ["October 2026", "11.00", "2.75", "25 %", "5.50", "2.200 estimate", "0.220"]
    marker = page.locator("#job-gpu abbr.estimate").first
    assert "MIG slice or a time-shared GPU" in marker.get_attribute("title")
    assert page.locator("#gpu-estimate-note").is_visible()
    browser.screenshot("job-gpu-energy")
