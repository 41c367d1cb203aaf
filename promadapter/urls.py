"""REST API routes that speak PromQL: the metric catalog and metric values."""

from django.urls import path

from promadapter import views

urlpatterns = [
    path("metrics", views.MetricList.as_view(), name="metric-list"),
    # Metric names contain a slash (cpu/usage_rate), hence `path`.
    path("metrics/<path:name>", views.MetricValues.as_view(), name="metric-values"),
]
