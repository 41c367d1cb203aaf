"""Pages, and the app's own health check."""

from django.urls import path

from web import views

urlpatterns = [
    path("healthz", views.healthz, name="healthz"),
    path("", views.index, name="index"),
]
