"""Top-level URL map: the admin, the REST API under /api/v1/, and the pages."""

from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/v1/", include("web.api.urls")),
    path("", include("web.urls")),
]

# A URL under /api/ that matches no route answers JSON, as the API's own 404s do.
handler404 = "web.api.errors.not_found"
