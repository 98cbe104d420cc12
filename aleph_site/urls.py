"""Top-level routes: the admin, login, the REST API, /metrics and the dashboard."""

from django.contrib import admin
from django.urls import include, path, re_path

from arenas.metrics.exposition import metrics_view

urlpatterns = [
    path("admin/", admin.site.urls),
    path("accounts/", include("django.contrib.auth.urls")),
    path("api/", include("arenas.api.urls")),
    re_path(r"^metrics/?$", metrics_view, name="metrics"),
    path("", include("arenas.dashboard.urls")),
]
