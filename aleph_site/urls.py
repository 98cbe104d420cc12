"""Top-level routes: the admin, login, the REST API and the dashboard."""

from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("accounts/", include("django.contrib.auth.urls")),
    path("api/", include("arenas.api.urls")),
    path("", include("arenas.dashboard.urls")),
]
