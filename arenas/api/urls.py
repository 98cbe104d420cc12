"""Routes of the agent REST API, mounted at /api/.

Every path works with and without its final slash, without a redirect: the patterns end in
`/?$` (CommonMiddleware's APPEND_SLASH never sees a miss to redirect).
"""

from typing import Any

from django.urls import URLPattern, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from . import views, webhooks

ARENA = r"arenas/(?P<id>[^/]+)"


def route(path: str, view: Any, name: str) -> URLPattern:
    """`path` with and without its final slash (no redirect)."""
    return re_path(rf"^{path}/?$", view, name=name)


urlpatterns = [
    route("health", views.HealthView.as_view(), "api-health"),
    route("me", views.MeView.as_view(), "api-me"),
    route(
        "agents/(?P<agent_id>[^/]+)/active-arenas",
        views.AgentActiveArenasView.as_view(),
        "api-agent-active-arenas",
    ),
    route("facts", views.MemoryFactsView.as_view(), "api-memory-facts"),
    route("requests", views.AllRequestsView.as_view(), "api-all-requests"),
    route("webhooks", webhooks.WebhooksView.as_view(), "api-webhooks"),
    route("webhooks/(?P<webhook_id>[^/]+)", webhooks.WebhookView.as_view(), "api-webhook"),
    route("arenas", views.ArenaListView.as_view(), "api-arenas"),
    route(ARENA, views.ArenaDetailView.as_view(), "api-arena"),
    *(
        route(
            f"{ARENA}/{action}",
            views.ArenaLifecycleView.as_view(lifecycle_action=action),
            f"api-arena-{action}",
        )
        for action in ("activate", "settle", "archive")
    ),
    route(f"{ARENA}/aggregate", views.AggregateView.as_view(), "api-aggregate"),
    route(f"{ARENA}/state", views.StateView.as_view(), "api-state"),
    route(f"{ARENA}/fork", views.ForkView.as_view(), "api-fork"),
    route(f"{ARENA}/events", views.EventsView.as_view(), "api-events"),
    route(f"{ARENA}/participants", views.ParticipantsView.as_view(), "api-participants"),
    route(
        f"{ARENA}/participants/(?P<agent_id>[^/]+)",
        views.ParticipantView.as_view(),
        "api-participant",
    ),
    route(f"{ARENA}/steps", views.StepsView.as_view(), "api-steps"),
    route(
        f"{ARENA}/steps/(?P<step>[0-9]{{1,20}})/claim", views.StepClaimView.as_view(), "api-claim"
    ),
    route(f"{ARENA}/claims", views.ClaimsView.as_view(), "api-claims"),
    route(f"{ARENA}/claims/next", views.NextClaimView.as_view(), "api-claims-next"),
    route(f"{ARENA}/claims/(?P<claim_id>[^/]+)", views.ClaimView.as_view(), "api-claim-release"),
    route(
        f"{ARENA}/claims/(?P<claim_id>[^/]+)/renew",
        views.ClaimRenewView.as_view(),
        "api-claim-renew",
    ),
    route(f"{ARENA}/requests", views.RequestsView.as_view(), "api-requests"),
    route(f"{ARENA}/requests/(?P<request_id>[^/]+)", views.RequestView.as_view(), "api-request"),
    route(
        f"{ARENA}/requests/(?P<request_id>[^/]+)/answer",
        views.RequestAnswerView.as_view(),
        "api-request-answer",
    ),
    route(f"{ARENA}/progress", views.ProgressView.as_view(), "api-progress"),
    route(f"{ARENA}/artifacts", views.ArtifactsView.as_view(), "api-artifacts"),
    route(
        f"{ARENA}/artifacts/(?P<artifact_id>[^/]+)", views.ArtifactView.as_view(), "api-artifact"
    ),
    route(f"{ARENA}/merge", views.MergeView.as_view(), "api-merge"),
    route(f"{ARENA}/facts", views.FactsView.as_view(), "api-facts"),
    route(f"{ARENA}/messages", views.MessagesView.as_view(), "api-messages"),
    route(f"{ARENA}/usage", views.UsageView.as_view(), "api-usage"),
    route(f"{ARENA}/budget", views.BudgetView.as_view(), "api-budget"),
    route("schema", SpectacularAPIView.as_view(), "api-schema"),
    route(
        "docs",
        SpectacularSwaggerView.as_view(url_name="api-schema", template_name="api/swagger_ui.html"),
        "api-docs",
    ),
]
