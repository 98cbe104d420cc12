"""History: the arena at a seq."""

from __future__ import annotations

from rest_framework import serializers

from arenas import lifecycle
from arenas.inputs import (
    U32_MAX,
)
from arenas.models import (
    Role,
    SlotStatus,
)

from .arenas import AggregateSerializer, ArenaSerializer, ForkSerializer
from .artifacts import ArtifactSummarySerializer, FactSerializer
from .base import Wire, timestamp_field
from .common import PermissionsSerializer, UsageTotalsSerializer
from .plan import StepSerializer
from .requests import RequestSerializer


class StateArenaSerializer(ArenaSerializer):
    forks = ForkSerializer(many=True, help_text="Forks made up to then, oldest first.")
    aggregate = AggregateSerializer()
    allowed_transitions = serializers.ListField(
        child=serializers.ChoiceField(sorted(set(lifecycle.TRANSITIONS.values())))
    )


class StateParticipantSerializer(Wire):
    agent_id = serializers.CharField()
    role = serializers.ChoiceField(Role.choices)
    permissions = PermissionsSerializer()
    slot_status = serializers.ChoiceField(SlotStatus.choices)
    current = serializers.CharField(allow_blank=True)
    joined_at = timestamp_field()
    left_at = timestamp_field(allow_null=True, help_text="Set if it had left by then.")
    usage = UsageTotalsSerializer(help_text="What this agent had reported spending then.")


class StateClaimSerializer(Wire):
    claim_id = serializers.IntegerField(min_value=1)
    arena_id = serializers.UUIDField()
    step = serializers.IntegerField(min_value=1, max_value=U32_MAX)
    agent_id = serializers.CharField()
    claimed_at = timestamp_field()
    expires_at = timestamp_field(help_text="As claimed (a renewal is not an event).")


class StateSerializer(Wire):
    at = serializers.IntegerField(min_value=1, help_text="The seq of the event shown.")
    timestamp = timestamp_field(help_text="The time of that event.")
    arena = StateArenaSerializer()
    participants = StateParticipantSerializer(
        many=True, help_text="Everyone who had joined by then (left_at set if gone), by agent id."
    )
    plan = StepSerializer(
        many=True,
        help_text="A titled plan's every step; an untitled or open-ended plan's completed or "
        "claimed steps.",
    )
    claims = StateClaimSerializer(many=True, help_text="Live then, by step.")
    requests = RequestSerializer(many=True, help_text="Open then, newest first.")
    artifacts = ArtifactSummarySerializer(
        many=True, help_text="Published by then, oldest first; only slots you may read."
    )
    facts = FactSerializer(many=True, help_text="Shared by then, oldest first.")
