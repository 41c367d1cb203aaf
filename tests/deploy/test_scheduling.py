"""Hourly collection is scheduled through django-crontab's CRONJOBS."""

from django.conf import settings
from django.core.management import get_commands
from django.utils.module_loading import import_string


def test_cron_runs_collect_usage_then_check_budgets_once_an_hour():
    # The first entry; the month-end close and export follow it (tests/ledger/test_periods.py).
    (schedule, function, args), *_ = settings.CRONJOBS
    minute, hour, *rest = schedule.split()
    assert minute.isdigit() and hour == "*" and rest == ["*", "*", "*"]
    assert import_string(function).__name__ == "in_turn"
    assert args == ["collect_usage", "check_budgets"]
    assert get_commands()["collect_usage"] == get_commands()["check_budgets"] == "billing"
    assert "django_crontab" in settings.INSTALLED_APPS
