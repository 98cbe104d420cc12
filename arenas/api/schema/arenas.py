"""Arenas: the summary, the detail with `you`, the aggregate, the settle report."""

from __future__ import annotations

from rest_framework import serializers

from arenas import lifecycle
from arenas.inputs import (
    LEASE_MAX,
    LEASE_MIN,
    U32_MAX,
)
from arenas.models import (
    Role,
    Status,
    Strategy,
)

from .base import Wire, paginated, timestamp_field
from .common import (
    BudgetSerializer,
    ForkedFromSerializer,
    PermissionsSerializer,
    UsageTotalsSerializer,
)
from .participants import ParticipantSerializer


class AggregateSerializer(Wire):
    completed_steps = serializers.IntegerField(min_value=0, max_value=U32_MAX)
    total_steps = serializers.IntegerField(min_value=0, max_value=U32_MAX)
    participants = serializers.ListField(child=serializers.CharField())
    progress = serializers.FloatField(min_value=0.0, max_value=1.0)
    status = serializers.ChoiceField(Status.choices)
    last_seq = serializers.IntegerField(min_value=0)
    usage = UsageTotalsSerializer(help_text="What the arena's agents reported spending.")


class SettleReportSerializer(Wire):
    facts_persisted = serializers.IntegerField(min_value=0)
    artifacts_archived = serializers.IntegerField(min_value=0)
    events_cleared = serializers.IntegerField(min_value=0)


CALLER_ROLES = [*Role.values, "staff"]


class YouSerializer(Wire):
    """The caller: an agent's role and permissions, or a staff user (role `staff`)."""

    agent_id = serializers.CharField(allow_null=True)
    staff = serializers.CharField(allow_null=True, help_text="The staff user's name.")
    role = serializers.ChoiceField(CALLER_ROLES)
    permissions = PermissionsSerializer()


class ForkSerializer(Wire):
    arena_id = serializers.UUIDField()
    at = serializers.IntegerField(min_value=1, help_text="The seq it was forked at.")


class ArenaSerializer(Wire):
    id = serializers.UUIDField()
    goal = serializers.CharField()
    status = serializers.ChoiceField(Status.choices)
    strategy = serializers.ChoiceField(Strategy.choices)
    total_steps = serializers.IntegerField(min_value=0, max_value=U32_MAX)
    completed_steps = serializers.IntegerField(min_value=0, max_value=U32_MAX)
    created_by = serializers.CharField(allow_null=True)
    created_at = timestamp_field()
    activated_at = timestamp_field(allow_null=True)
    settling_at = timestamp_field(allow_null=True)
    archived_at = timestamp_field(allow_null=True)
    last_seq = serializers.IntegerField(min_value=0)
    settle_report = SettleReportSerializer(allow_null=True)
    lease_seconds = serializers.IntegerField(
        min_value=LEASE_MIN, max_value=LEASE_MAX, help_text="A claim's lease when not given."
    )
    budget = BudgetSerializer(allow_null=True, help_text="Spending limits; null: none.")
    usage = UsageTotalsSerializer()
    forked_from = ForkedFromSerializer(
        allow_null=True, help_text="The arena and seq this arena was forked from, if a fork."
    )


class ArenaDetailSerializer(ArenaSerializer):
    participants = ParticipantSerializer(many=True, help_text="Current ones, by agent id.")
    forks = ForkSerializer(many=True, help_text="The arenas forked from this one, oldest first.")
    aggregate = AggregateSerializer()
    allowed_transitions = serializers.ListField(
        child=serializers.ChoiceField(sorted(set(lifecycle.TRANSITIONS.values())))
    )
    you = YouSerializer()


ArenaPage = paginated(ArenaSerializer, "ArenaPage")
