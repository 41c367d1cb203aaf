"""REST API routes: the metric catalog and values, usage, jobs, statements, exports, the schema."""

from django.urls import path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from web.api import accounts, exports, jobs, metrics, statements, usage, workbooks

urlpatterns = [
    path("schema", SpectacularAPIView.as_view(), name="api-schema"),
    # The split view serves Swagger UI's set-up as a script of its own, not inline (CSP).
    path(
        "docs",
        SpectacularSwaggerSplitView.as_view(
            url_name="api-schema", template_name="web/swagger_ui.html"
        ),
        name="api-docs",
    ),
    path("metrics", metrics.MetricList.as_view(), name="metric-list"),
    # Metric names contain a slash (cpu/usage_rate), hence `path`.
    path("metrics/<path:name>", metrics.MetricValues.as_view(), name="metric-values"),
    path("usage", usage.usage, name="api-usage"),
    path("jobs", jobs.jobs, name="api-jobs"),
    path("jobs/<int:pk>", jobs.job, name="api-job"),
    path("statements", statements.statements, name="api-statements"),
    path("statements/<int:pk>", statements.statement, name="api-statement"),
    path("statements/workbook", workbooks.statements_workbook, name="api-statements-workbook"),
    path("statements/<int:pk>/pdf", statements.StatementPdf.as_view(), name="api-statement-pdf"),
    path("exports", exports.exports, name="api-exports"),
    path("accounts", accounts.accounts, name="api-accounts"),
]
