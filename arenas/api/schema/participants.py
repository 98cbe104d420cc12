"""Participants."""

from __future__ import annotations

from rest_framework import serializers

from arenas.agents import PRESENCES
from arenas.models import (
    Role,
    SlotStatus,
)

from .base import Wire, paginated, timestamp_field
from .common import PermissionsSerializer, UsageTotalsSerializer


class ParticipantSerializer(Wire):
    agent_id = serializers.CharField()
    role = serializers.ChoiceField(Role.choices)
    permissions = PermissionsSerializer()
    slot_status = serializers.ChoiceField(SlotStatus.choices)
    current = serializers.CharField(allow_blank=True)
    joined_at = timestamp_field()
    left_at = timestamp_field(allow_null=True)
    last_seen_at = timestamp_field(
        allow_null=True, help_text="The agent's last request or open feed (null: never)."
    )
    presence = serializers.ChoiceField(
        list(PRESENCES), help_text="online: seen within 60 s; away: within 10 minutes."
    )
    usage = UsageTotalsSerializer(help_text="What this agent reported spending here.")


ParticipantPage = paginated(ParticipantSerializer, "ParticipantPage")
