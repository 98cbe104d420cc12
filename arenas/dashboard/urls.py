"""Routes of the browser dashboard."""

from django.urls import path

from . import views

app_name = "dashboard"

urlpatterns = [
    path("", views.arena_list, name="arenas"),
    path("requests/", views.request_inbox, name="requests"),
    path("requests/counts/", views.request_counts, name="request_counts"),
    path("arenas/<uuid:arena_id>/", views.arena_detail, name="arena"),
    path("arenas/<uuid:arena_id>/panels/", views.arena_panels, name="arena_panels"),
    path("arenas/<uuid:arena_id>/history/", views.arena_history, name="arena_history"),
    path("arenas/<uuid:arena_id>/fork/", views.arena_fork, name="fork"),
    path(
        "arenas/<uuid:arena_id>/artifacts/<uuid:artifact_id>/",
        views.artifact_detail,
        name="artifact",
    ),
    path("arenas/<uuid:arena_id>/transition/", views.arena_transition, name="transition"),
    path("arenas/<uuid:arena_id>/messages/", views.arena_message, name="message"),
    path("arenas/<uuid:arena_id>/budget/", views.arena_budget, name="budget"),
    path(
        "arenas/<uuid:arena_id>/claims/<int:claim_id>/release/",
        views.claim_release,
        name="release_claim",
    ),
    path(
        "arenas/<uuid:arena_id>/requests/<uuid:request_id>/answer/",
        views.request_answer,
        name="answer_request",
    ),
]
