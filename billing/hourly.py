"""Commands the crontab runs one after the other, as one entry.

django-crontab runs each CRONJOBS entry on its own schedule, so check_budgets runs after
collect_usage only as one entry calling both in turn (kubemon/settings.py). Each command
runs even when one before it failed (budgets count the hours a failed collection stored);
the first error is raised again at the end, for django-crontab to log.
"""

from django.core.management import call_command


def in_turn(*commands: str):
    errors = []
    for command in commands:
        try:
            call_command(command)
        except Exception as e:  # noqa: BLE001 - run the next command, raise after
            errors.append(e)
    if errors:
        raise errors[0]
