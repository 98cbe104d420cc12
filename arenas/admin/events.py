"""The log: events, read-only (also for superusers)."""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest

from arenas.models import (
    Event,
)

from .base import ReadOnlyAdmin, pretty_json


@admin.register(Event)
class EventAdmin(ReadOnlyAdmin):
    """The audit trail. Filtered to one arena (`?arena__id__exact=`), in seq order;
    otherwise newest first."""

    list_display = ["seq", "type", "actor", "timestamp", "arena"]
    show_full_result_count = False
    list_filter = ["type"]
    search_fields = ["actor", "arena__id"]
    fields = ["arena", "seq", "type", "timestamp", "actor", "data_json"]
    readonly_fields = ["data_json"]
    list_select_related = ["arena"]

    def get_ordering(self, request: HttpRequest) -> list[str]:
        return ["seq"] if "arena__id__exact" in request.GET else ["-id"]

    @admin.display(description="Fields")
    def data_json(self, event: Event) -> str:
        return pretty_json(event.data)
