"""Artifacts and shared facts."""

from __future__ import annotations

from rest_framework import serializers

from arenas.models import (
    ArtifactKind,
)

from .base import Wire, paginated, timestamp_field


class ArtifactSummarySerializer(Wire):
    id = serializers.UUIDField()
    arena_id = serializers.UUIDField()
    agent_id = serializers.CharField()
    kind = serializers.ChoiceField(ArtifactKind.choices)
    title = serializers.CharField()
    metadata = serializers.DictField()
    created_at = timestamp_field()


class ArtifactSerializer(ArtifactSummarySerializer):
    content = serializers.JSONField(help_text="A string, or any JSON for structured_data.")


ArtifactPage = paginated(ArtifactSummarySerializer, "ArtifactPage")


class FactSerializer(Wire):
    id = serializers.UUIDField()
    arena_id = serializers.UUIDField()
    content = serializers.CharField()
    source_agent = serializers.CharField()
    confidence = serializers.FloatField(min_value=0.0, max_value=1.0)
    tags = serializers.ListField(child=serializers.CharField())
    created_at = timestamp_field()
    settled_at = timestamp_field(allow_null=True, help_text="Set when its arena was archived.")


FactPage = paginated(FactSerializer, "FactPage")
