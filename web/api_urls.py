"""REST API routes served by the web app (usage; statements and jobs later)."""

from django.urls import path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from web import api, api_statements

urlpatterns = [
    path("schema", SpectacularAPIView.as_view(), name="api-schema"),
    path("docs", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("usage", api.usage, name="api-usage"),
    path("statements", api_statements.statements, name="api-statements"),
    path("statements/<int:pk>", api_statements.statement, name="api-statement"),
]
