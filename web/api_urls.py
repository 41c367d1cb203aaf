"""REST API routes served by the web app (usage; statements and jobs later)."""

from django.urls import path

from web import api, api_statements

urlpatterns = [
    path("usage", api.usage, name="api-usage"),
    path("statements", api_statements.statements, name="api-statements"),
    path("statements/<int:pk>", api_statements.statement, name="api-statement"),
]
