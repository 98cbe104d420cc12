"""Routes of the agent REST API (SPEC §2), mounted at /api/.

Every path works with and without its final slash, without a redirect: the patterns end in
`/?$` (CommonMiddleware's APPEND_SLASH never sees a miss to redirect).
"""

from django.urls import re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from . import views

ARENA = r"arenas/(?P<id>[^/]+)"

urlpatterns = [
    re_path(r"^health/?$", views.HealthView.as_view(), name="api-health"),
    re_path(r"^me/?$", views.MeView.as_view(), name="api-me"),
    re_path(
        r"^agents/(?P<agent_id>[^/]+)/active-arenas/?$",
        views.AgentActiveArenasView.as_view(),
        name="api-agent-active-arenas",
    ),
    re_path(r"^facts/?$", views.MemoryFactsView.as_view(), name="api-memory-facts"),
    re_path(r"^arenas/?$", views.ArenaListView.as_view(), name="api-arenas"),
    re_path(rf"^{ARENA}/?$", views.ArenaDetailView.as_view(), name="api-arena"),
    *(
        re_path(
            rf"^{ARENA}/{action}/?$",
            views.ArenaLifecycleView.as_view(lifecycle_action=action),
            name=f"api-arena-{action}",
        )
        for action in ("activate", "settle", "archive")
    ),
    re_path(rf"^{ARENA}/aggregate/?$", views.AggregateView.as_view(), name="api-aggregate"),
    re_path(rf"^{ARENA}/events/?$", views.EventsView.as_view(), name="api-events"),
    re_path(
        rf"^{ARENA}/participants/?$", views.ParticipantsView.as_view(), name="api-participants"
    ),
    re_path(
        rf"^{ARENA}/participants/(?P<agent_id>[^/]+)/?$",
        views.ParticipantView.as_view(),
        name="api-participant",
    ),
    re_path(rf"^{ARENA}/steps/?$", views.StepsView.as_view(), name="api-steps"),
    re_path(rf"^{ARENA}/progress/?$", views.ProgressView.as_view(), name="api-progress"),
    re_path(rf"^{ARENA}/artifacts/?$", views.ArtifactsView.as_view(), name="api-artifacts"),
    re_path(
        rf"^{ARENA}/artifacts/(?P<artifact_id>[^/]+)/?$",
        views.ArtifactView.as_view(),
        name="api-artifact",
    ),
    re_path(rf"^{ARENA}/merge/?$", views.MergeView.as_view(), name="api-merge"),
    re_path(rf"^{ARENA}/facts/?$", views.FactsView.as_view(), name="api-facts"),
    re_path(rf"^{ARENA}/messages/?$", views.MessagesView.as_view(), name="api-messages"),
    re_path(r"^schema/?$", SpectacularAPIView.as_view(), name="api-schema"),
    re_path(r"^docs/?$", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
]
