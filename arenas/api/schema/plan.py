"""The plan: steps, a completed step's result, a review opened."""

from __future__ import annotations

from rest_framework import serializers

from arenas.inputs import (
    U32_MAX,
)

from .arenas import AggregateSerializer
from .base import Wire, paginated, timestamp_field
from .claims import StepClaimSerializer
from .events import EventSerializer
from .requests import RequestSerializer

REVIEW_STATES = ["required", "pending", "approved"]


class StepSerializer(Wire):
    step = serializers.IntegerField(min_value=1, max_value=U32_MAX)
    title = serializers.CharField(allow_blank=True)
    assignee = serializers.CharField(allow_null=True)
    depends_on = serializers.ListField(child=serializers.IntegerField(min_value=1))
    completed = serializers.BooleanField()
    completed_by = serializers.CharField(allow_null=True)
    completed_at = timestamp_field(allow_null=True)
    claim = StepClaimSerializer(allow_null=True, help_text="The step's live claim, if any.")
    review = serializers.ChoiceField(
        REVIEW_STATES,
        allow_null=True,
        help_text="A review step's review: required, pending (waiting for a person) or "
        "approved; null for other steps.",
    )


class StepResultSerializer(Wire):
    event = EventSerializer
    aggregate = AggregateSerializer()


class ReviewOpenedSerializer(Wire):
    request = RequestSerializer()
    event = EventSerializer


StepPage = paginated(StepSerializer, "StepPage")
