"""The service and its agents: health, the calling agent, an agent's active arenas."""

from __future__ import annotations

from rest_framework import serializers

from .base import Wire

HEALTH_STATUSES = ["ok"]


class HealthSerializer(Wire):
    status = serializers.ChoiceField(HEALTH_STATUSES)


class MeSerializer(Wire):
    agent_id = serializers.CharField()
    display_name = serializers.CharField(allow_blank=True)
    active_arenas = serializers.ListField(child=serializers.UUIDField())


class ActiveArenasSerializer(Wire):
    arena_ids = serializers.ListField(child=serializers.UUIDField(), help_text="Ascending.")
