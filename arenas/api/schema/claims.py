"""Claims: a claim, taken (with its event), held, none free, and their page."""

from __future__ import annotations

from rest_framework import serializers

from arenas.inputs import (
    U32_MAX,
)

from .base import Wire, paginated, timestamp_field
from .events import EventSerializer


class StepClaimSerializer(Wire):
    claim_id = serializers.IntegerField(min_value=1)
    agent_id = serializers.CharField()
    expires_at = timestamp_field()


class ClaimSerializer(Wire):
    claim_id = serializers.IntegerField(
        min_value=1, help_text="The seq of its step_claimed event: the fencing token."
    )
    arena_id = serializers.UUIDField()
    step = serializers.IntegerField(min_value=1, max_value=U32_MAX)
    agent_id = serializers.CharField()
    claimed_at = timestamp_field()
    expires_at = timestamp_field()
    renewed_at = timestamp_field(allow_null=True)


class ClaimTakenSerializer(Wire):
    claim = ClaimSerializer()
    event = EventSerializer


class ClaimHeldSerializer(Wire):
    claim = ClaimSerializer()


class NoClaimSerializer(Wire):
    claim = ClaimSerializer(allow_null=True, help_text="null: no step can be claimed now.")
    remaining = serializers.IntegerField(min_value=0, help_text="Steps not completed.")
    claimed = serializers.IntegerField(min_value=0, help_text="Of them, held by a live claim.")
    blocked = serializers.IntegerField(
        min_value=0, help_text="Of them, waiting for a step they depend on."
    )


ClaimPage = paginated(ClaimSerializer, "ClaimPage")
