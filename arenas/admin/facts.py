"""Shared facts and long-term memory, read-only."""

from __future__ import annotations

from django.contrib import admin

from arenas.models import (
    Fact,
)

from .base import ReadOnlyAdmin, preview


@admin.register(Fact)
class FactAdmin(ReadOnlyAdmin):
    list_display = ["short_content", "source_agent", "confidence", "arena", "created_at"]
    list_filter = [("settled_at", admin.EmptyFieldListFilter)]
    search_fields = ["content", "source_agent__agent_id", "arena__id"]
    fields = [
        "id",
        "arena",
        "source_agent",
        "content",
        "confidence",
        "tags",
        "created_at",
        "settled_at",
    ]
    list_select_related = ["arena", "source_agent"]

    @admin.display(description="Content")
    def short_content(self, fact: Fact) -> str:
        return preview(fact.content, 80)
