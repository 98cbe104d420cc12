"""Requests for people, read-only."""

from __future__ import annotations

from django.contrib import admin

from arenas.models import (
    InputRequest,
)

from .base import ReadOnlyAdmin, pretty_json, preview


@admin.register(InputRequest)
class InputRequestAdmin(ReadOnlyAdmin):
    """Requests for people, read-only: they are answered on the dashboard (or by an agent
    coordinator through the API) and cancelled by their asker, always through the domain.
    Filtered to one arena (`?arena__id__exact=`) or by status and kind; newest first."""

    list_display = ["short_text", "kind", "agent", "status", "step", "created_at", "arena"]
    list_filter = ["status", "kind"]
    search_fields = ["text", "agent__agent_id", "arena__id"]
    fields = [
        "id",
        "arena",
        "kind",
        "agent",
        "step",
        "status",
        "text",
        "choices_json",
        "answer_json",
        "created_at",
        "closed_at",
    ]
    readonly_fields = ["choices_json", "answer_json"]
    list_select_related = ["arena", "agent"]

    @admin.display(description="Text")
    def short_text(self, item: InputRequest) -> str:
        return preview(item.text, 80)

    @admin.display(description="Choices")
    def choices_json(self, item: InputRequest) -> str:
        return "free answer" if item.choices is None else pretty_json(item.choices)

    @admin.display(description="Answer")
    def answer_json(self, item: InputRequest) -> str:
        return "—" if item.answer is None else pretty_json(item.answer)
