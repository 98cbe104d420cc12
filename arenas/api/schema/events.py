"""Events: one component per type beside the common envelope, and a page of the log."""

from __future__ import annotations

from drf_spectacular.utils import (
    PolymorphicProxySerializer,
)
from rest_framework import serializers

from arenas.events import FIELDS as EVENT_FIELDS
from arenas.inputs import (
    MODEL_NAME_MAX,
    U32_MAX,
)
from arenas.models import (
    ArtifactKind,
    EventType,
    RequestKind,
    Role,
    SlotStatus,
    Status,
    Strategy,
)

from .base import Wire, money_field, timestamp_field
from .common import (
    BudgetSerializer,
    ForkedFromSerializer,
    PermissionsSerializer,
    UsageTotalsSerializer,
)

_NULL_AGENT = (
    EventType.MESSAGE_POSTED,
    EventType.INPUT_REQUESTED,
    EventType.INPUT_PROVIDED,
    EventType.INPUT_CANCELLED,
)


def _event_field(name: str, event_type: str) -> serializers.Field:
    if name in ("agent_id",):
        return serializers.CharField(allow_null=event_type in _NULL_AGENT)
    if name == "model":
        return serializers.CharField(max_length=MODEL_NAME_MAX)
    if name in ("input_tokens", "output_tokens", "cached_input_tokens"):
        return serializers.IntegerField(min_value=0, max_value=U32_MAX)
    if name == "calls":
        return serializers.IntegerField(min_value=1, max_value=U32_MAX)
    if name == "cost_usd":
        return money_field(allow_null=True, help_text="null: the model could not be priced.")
    if name == "priced":
        return serializers.BooleanField()
    if name == "totals":
        return UsageTotalsSerializer(help_text="The arena's totals after this report.")
    if name in ("budget", "previous"):
        return BudgetSerializer(allow_null=True)
    if name == "scope":
        return serializers.CharField(help_text="`arena`, or the agent id.")
    if name in ("limit", "spent"):
        return serializers.JSONField(help_text="Dollars as a 6-decimal string, or tokens.")
    if name in ("created_by", "to"):
        return serializers.CharField(allow_null=True)
    if name == "text" and event_type == EventType.INPUT_PROVIDED:
        return serializers.CharField(allow_blank=True)
    if name in ("goal", "new_goal", "title", "text", "by"):
        return serializers.CharField()
    if name == "current":
        return serializers.CharField(allow_blank=True)
    if name == "choice":
        return serializers.CharField(allow_null=True)
    if name == "choices":
        return serializers.ListField(child=serializers.CharField(), allow_null=True)
    if name in ("step",):
        return serializers.IntegerField(
            min_value=1,
            max_value=U32_MAX,
            allow_null=event_type in (EventType.INPUT_REQUESTED, EventType.USAGE_REPORTED),
        )
    if name in ("total_steps", "completed_steps"):
        return serializers.IntegerField(min_value=0, max_value=U32_MAX)
    if name in ("facts_persisted", "artifacts_archived", "events_cleared"):
        return serializers.IntegerField(min_value=0)
    if name in ("artifact_id", "fact_id", "request_id"):
        return serializers.UUIDField()
    if name == "claim_id":
        return serializers.IntegerField(min_value=1)
    if name == "expires_at":
        return timestamp_field()
    if name == "sources":
        return serializers.ListField(child=serializers.UUIDField())
    if name == "forked_from":
        return ForkedFromSerializer(
            allow_null=True, help_text="The arena and seq this arena was forked from."
        )
    if name == "permissions":
        return PermissionsSerializer()
    if name == "fork_id":
        return serializers.UUIDField()
    if name == "at":
        return serializers.IntegerField(min_value=1, help_text="The seq it was forked at.")
    choices = {
        "strategy": Strategy,
        "role": Role,
        "from_status": Status,
        "to_status": Status,
        "slot_status": SlotStatus,
        "kind": RequestKind if event_type == EventType.INPUT_REQUESTED else ArtifactKind,
    }
    return serializers.ChoiceField(choices[name].choices)


class EventEnvelopeSerializer(Wire):
    arena_id = serializers.UUIDField()
    seq = serializers.IntegerField(min_value=1)
    timestamp = timestamp_field()
    actor = serializers.CharField(
        allow_null=True, help_text="The agent id, `staff:<username>`, or null for the system."
    )


def _event_serializer(event_type: str) -> type[serializers.Serializer]:
    fields = {
        "type": serializers.ChoiceField([event_type]),
        **{name: _event_field(name, event_type) for name in EVENT_FIELDS[event_type]},
    }
    name = "".join(part.title() for part in str(event_type).split("_")) + "Event"
    return type(name, (EventEnvelopeSerializer,), fields)


EVENT_SERIALIZERS = {str(t): _event_serializer(t) for t in EventType.values}


EventSerializer = PolymorphicProxySerializer(
    component_name="Event",
    serializers=EVENT_SERIALIZERS,
    resource_type_field_name="type",
)


class EventsPageSerializer(Wire):
    events = serializers.ListField(child=EventSerializer, help_text="In seq order.")
    last_seq = serializers.IntegerField(min_value=0, help_text="The arena's newest seq.")
    next_after = serializers.IntegerField(
        allow_null=True,
        min_value=0,
        help_text="The `after` of the next page; null when this page reaches `last_seq`.",
    )
