"""REST API routes served by the web app (usage; statements and jobs later)."""

from django.urls import path

from web import api

urlpatterns = [
    path("usage", api.usage, name="api-usage"),
]
