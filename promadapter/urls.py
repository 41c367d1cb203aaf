"""REST API routes that speak PromQL: the metric catalog and metric values."""

urlpatterns = []
