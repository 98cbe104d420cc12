"""Requests for people and their answers."""

from __future__ import annotations

from rest_framework import serializers

from arenas.inputs import (
    U32_MAX,
)
from arenas.models import (
    RequestKind,
    RequestStatus,
)

from .base import Wire, paginated, timestamp_field


class AnswerSerializer(Wire):
    choice = serializers.CharField(allow_null=True)
    text = serializers.CharField(allow_blank=True)
    by = serializers.CharField(help_text="`staff:<username>` or a coordinator's agent id.")
    at = timestamp_field()


class RequestSerializer(Wire):
    id = serializers.UUIDField()
    arena_id = serializers.UUIDField()
    kind = serializers.ChoiceField(RequestKind.choices)
    agent_id = serializers.CharField(
        allow_null=True, help_text="The agent that asks; null for a budget request."
    )
    text = serializers.CharField()
    choices = serializers.ListField(
        child=serializers.CharField(), allow_null=True, help_text="null: a free answer."
    )
    step = serializers.IntegerField(min_value=1, max_value=U32_MAX, allow_null=True)
    status = serializers.ChoiceField(RequestStatus.choices)
    answer = AnswerSerializer(allow_null=True)
    created_at = timestamp_field()


RequestPage = paginated(RequestSerializer, "RequestPage")
