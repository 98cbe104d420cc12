"""The tables of Aleph Arena and the constraints the database holds for them.

Rows are written only by the domain modules (manager, handle, lifecycle, events, agents);
adapters read through them too. Counters are 64-bit columns held to the u32 range
0..4294967295 by check constraints.

One module per area: agents, arena (arenas, plans, participants), claims, content
(requests for people, artifacts, facts), records (the event log, usage reports),
webhooks; `choices` holds the columns' choices. The rules that recur as queries live on
the models' QuerySets: `Participant.objects.current()`, `Arena.objects.visible_to(user)`,
`Claim.objects.live()` and its lease-aware readings.
"""

from .agents import Agent, AgentToken, IdempotencyRecord
from .arena import Arena, ArenaQuerySet, Participant, ParticipantQuerySet, Step, StepCompletion
from .choices import (
    ArtifactKind,
    ClaimEnd,
    EventType,
    RequestKind,
    RequestStatus,
    Role,
    SlotStatus,
    Status,
    Strategy,
    WebhookDisabled,
)
from .claims import Claim, ClaimQuerySet
from .content import Artifact, Fact, FactTag, InputRequest
from .records import Event, UsageReport
from .webhooks import WebhookCursor, WebhookSubscription

__all__ = [
    "Agent",
    "AgentToken",
    "Arena",
    "ArenaQuerySet",
    "Artifact",
    "ArtifactKind",
    "Claim",
    "ClaimEnd",
    "ClaimQuerySet",
    "Event",
    "EventType",
    "Fact",
    "FactTag",
    "IdempotencyRecord",
    "InputRequest",
    "Participant",
    "ParticipantQuerySet",
    "RequestKind",
    "RequestStatus",
    "Role",
    "SlotStatus",
    "Status",
    "Step",
    "StepCompletion",
    "Strategy",
    "UsageReport",
    "WebhookCursor",
    "WebhookDisabled",
    "WebhookSubscription",
]
