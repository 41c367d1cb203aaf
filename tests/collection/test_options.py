"""collect_usage's options and output: bad options are refused and change nothing."""

import io
from datetime import UTC, datetime

import pytest
from django.core.management import CommandError, call_command
from django.core.management.base import OutputWrapper

from billing.management.commands.collect_usage import Progress
from billing.models import CollectionRun


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"start": "yesterday"}, "--start: must be ISO 8601"),
        ({"end": "2026-03-02T25:00Z"}, "--end: must be ISO 8601"),
        ({"start": "2026-03-02T06:30Z"}, "--start: '2026-03-02T06:30Z' is not on a whole UTC hour"),
        ({"start": "2026-03-02T08:00Z", "end": "2026-03-02T06:00Z"}, "--end .* is before --start"),
    ],
)
def test_bad_options_are_refused_before_anything_happens(db, settings, options, message):
    # Nothing listens there: the options must be refused before Prometheus is asked.
    settings.PROMETHEUS_URL = "http://127.0.0.1:9"
    with pytest.raises(CommandError, match=message):
        call_command("collect_usage", **options)
    assert not CollectionRun.objects.exists()


def test_a_bad_counter_lookback_setting_is_refused_naming_it(db, settings):
    settings.PROMETHEUS_URL = "http://127.0.0.1:9"
    settings.KUBEMON_COUNTER_LOOKBACK = "six hours"
    with pytest.raises(CommandError, match="^KUBEMON_COUNTER_LOOKBACK: 'six hours' is neither"):
        call_command("collect_usage", start="2026-03-02T06:00Z", end="2026-03-02T07:00Z")
    assert not CollectionRun.objects.exists()


def test_an_unreachable_prometheus_fails_with_a_one_line_reason(db, settings):
    settings.PROMETHEUS_URL = "http://127.0.0.1:9"
    settings.PROMETHEUS_RETRIES = 0
    with pytest.raises(CommandError, match=r"^Prometheus failed: .*unreachable[^\n]*$"):
        call_command("collect_usage", start="2026-03-02T06:00Z", end="2026-03-02T07:00Z")
    assert not CollectionRun.objects.exists()


def test_an_empty_window_collects_nothing(db, prometheus_settings, capsys):
    call_command(
        "collect_usage", start="2026-03-02T06:00Z", end="2026-03-02T06:00Z", cluster="default"
    )
    assert "nothing to collect" in capsys.readouterr().err
    assert not CollectionRun.objects.exists()


class Terminal(io.StringIO):
    def isatty(self):
        return True


def test_progress_is_a_bar_on_a_terminal_and_log_lines_elsewhere():
    hours = [datetime(2026, 3, 2, h, tzinfo=UTC) for h in (6, 7)]
    for stream, expected in (
        (Terminal(), "\rdefault [" + "#" * 30 + "] 2/2 h  2026-03-02 07:00Z\n"),
        (io.StringIO(), "collect_usage cluster=default hour=2026-03-02T07:00Z jobs=3 "),
    ):
        progress = Progress(OutputWrapper(stream), OutputWrapper(io.StringIO()), "default")
        for done, hour in enumerate(hours, 1):
            progress.hour(hour, done, len(hours), jobs=3, queries=25)
        assert expected in stream.getvalue()
    assert stream.getvalue().count("\n") == 2
