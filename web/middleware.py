"""Pages show times in KUBEMON_DISPLAY_TIME_ZONE; storage and billing stay in UTC."""

import zoneinfo

from django.conf import settings
from django.utils import timezone


class DisplayTimeZone:
    def __init__(self, get_response):
        self.get_response = get_response
        self.zone = zoneinfo.ZoneInfo(settings.KUBEMON_DISPLAY_TIME_ZONE)

    def __call__(self, request):
        timezone.activate(self.zone)
        try:
            return self.get_response(request)
        finally:
            timezone.deactivate()
