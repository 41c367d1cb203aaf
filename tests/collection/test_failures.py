"""collect_usage when Prometheus goes away in the middle of a run."""

import pytest
from django.core.management import CommandError, call_command

from billing.models import CollectedHour, CollectionRun, HourlyUsage
from billing.utc import HOUR
from tests.fixtures.local_http import LocalHTTPServer, QuietHandler, forward


class DyingProxy(LocalHTTPServer):
    """A forwarding proxy to Prometheus that drops dead after `answers` requests."""

    def __init__(self, target: str, answers: int):
        self.target, self.answers, self.seen = target, answers, 0
        proxy = self

        class Handler(QuietHandler):
            def do_POST(self):
                proxy.seen += 1
                body = self.request_body()
                if proxy.seen > proxy.answers:
                    self.close_connection = True  # hang up without an answer
                    return
                upstream = forward(self, proxy.target, body)
                self.answer(upstream.status_code, upstream.content)

            do_GET = do_POST

        super().__init__(Handler)


def totals() -> dict:
    rows = HourlyUsage.objects.values_list(
        "job__namespace", "job__kind", "job__name", "hour", "cpu_core_seconds"
    )
    return {tuple(row[:4]): row[4] for row in rows}


def test_a_prometheus_lost_mid_run_fails_cleanly_and_the_next_run_completes(
    db, prometheus_settings, usage_window, cluster
):
    settings = prometheus_settings
    settings.PROMETHEUS_RETRIES = 1
    settings.KUBEMON_COLLECT_CHUNK_HOURS = 2
    start, end = usage_window
    # How many answers the first chunk takes, with the version and cluster look-ups.
    call_command(
        "collect_usage",
        start=start.isoformat(),
        end=(start + 2 * HOUR).isoformat(),
        cluster="default",
    )
    first_chunk = CollectionRun.objects.get().queries + 2
    CollectionRun.objects.all().delete()
    CollectedHour.objects.all().delete()
    HourlyUsage.objects.all().delete()
    with DyingProxy(settings.PROMETHEUS_URL, answers=first_chunk + 3) as proxy:
        prometheus_url, settings.PROMETHEUS_URL = settings.PROMETHEUS_URL, proxy.url
        with pytest.raises(CommandError, match="Prometheus failed: .*unreachable"):
            call_command(
                "collect_usage", start=start.isoformat(), end=end.isoformat(), cluster="default"
            )

    # It should have written the first chunk's two hours, whole, and nothing after them.
    assert sorted(h.hour.hour for h in CollectedHour.objects.all()) == [6, 7]
    assert {key[3].hour for key in totals()} == {6, 7}
    failed = CollectionRun.objects.get()
    assert failed.status == "failed"
    assert "unreachable" in failed.error

    # The next plain run goes on from the last collected hour and completes the window.
    settings.PROMETHEUS_URL = prometheus_url
    call_command("collect_usage", end=end.isoformat(), cluster="default")
    assert CollectedHour.objects.count() == 6
    resumed = totals()
    HourlyUsage.objects.all().delete()
    call_command("collect_usage", start=start.isoformat(), end=end.isoformat(), cluster="default")
    assert totals() == resumed

    observed = sum(
        job["quantities"]["cpu_core_seconds"]["observed"]
        for job in cluster.truth(start, end)["jobs"]
    )
    assert sum(resumed.values()) == pytest.approx(observed, rel=1e-12)
