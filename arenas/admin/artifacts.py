"""Artifacts, read-only."""

from __future__ import annotations

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from arenas.models import (
    Artifact,
)

from .base import ReadOnlyAdmin, pretty_json


@admin.register(Artifact)
class ArtifactAdmin(ReadOnlyAdmin):
    list_display = ["title", "kind", "agent", "arena", "created_at"]
    list_filter = ["kind"]
    search_fields = ["title", "agent__agent_id", "arena__id"]
    fields = ["id", "arena", "agent", "kind", "title", "metadata_json", "content_preview"]
    readonly_fields = ["metadata_json", "content_preview"]
    list_select_related = ["arena", "agent"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Artifact]:
        return super().get_queryset(request).defer("content")

    @admin.display(description="Metadata")
    def metadata_json(self, artifact: Artifact) -> str:
        return pretty_json(artifact.metadata)

    @admin.display(description="Content")
    def content_preview(self, artifact: Artifact) -> str:
        return pretty_json(artifact.content)
