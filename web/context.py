"""Template context shared by every page: the user's roles (for the menu) and the time zone."""

from django.conf import settings

from web import access


def roles(request) -> dict:
    user = request.user
    return {
        "is_finance": access.is_finance(user),
        "is_ops": access.is_ops(user),
        "sees_every_account": access.sees_every_account(user),
        "sees_statements": access.sees_statements(user),
        "display_time_zone": settings.KUBEMON_DISPLAY_TIME_ZONE,
    }
