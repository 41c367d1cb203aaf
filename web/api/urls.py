"""REST API routes served by the web app (usage; statements and jobs later)."""

from django.urls import path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from web.api import statements, usage

urlpatterns = [
    path("schema", SpectacularAPIView.as_view(), name="api-schema"),
    path("docs", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("usage", usage.usage, name="api-usage"),
    path("statements", statements.statements, name="api-statements"),
    path("statements/<int:pk>", statements.statement, name="api-statement"),
]
