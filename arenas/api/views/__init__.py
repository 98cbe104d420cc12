"""The agent REST API: thin views over ArenaManager and ArenaHandle, one module per resource.

Each view reads its input (serializers.py, query parameters), makes one call to the domain,
and returns the domain's wire dicts. The caller's ArenaHandle checks visibility (404),
permission (403), the arena's state (409) and values (400) in that order; errors become the
error JSON in errors.py. Each view's OpenAPI description (summary, prose, errors) is the
decorator above its method; the response bodies it names are in `arenas.api.schema`.
"""

from .arenas import AggregateView, ArenaDetailView, ArenaLifecycleView, ArenaListView
from .artifacts import ArtifactsView, ArtifactView, MergeView
from .base import ApiView, arena_response, etag, if_match_seqs
from .claims import ClaimRenewView, ClaimsView, ClaimView, NextClaimView, StepClaimView
from .events import EventsView, MessagesView
from .facts import FactsView, MemoryFactsView
from .history import ForkView, StateView
from .participants import ParticipantsView, ParticipantView
from .plan import ProgressView, StepsView
from .requests import AllRequestsView, RequestAnswerView, RequestsView, RequestView
from .service import AgentActiveArenasView, HealthView, MeView
from .usage import BudgetView, UsageView

__all__ = [
    "AgentActiveArenasView",
    "AggregateView",
    "AllRequestsView",
    "ApiView",
    "ArenaDetailView",
    "ArenaLifecycleView",
    "ArenaListView",
    "ArtifactView",
    "ArtifactsView",
    "BudgetView",
    "ClaimRenewView",
    "ClaimView",
    "ClaimsView",
    "EventsView",
    "FactsView",
    "ForkView",
    "HealthView",
    "MeView",
    "MemoryFactsView",
    "MergeView",
    "MessagesView",
    "NextClaimView",
    "ParticipantView",
    "ParticipantsView",
    "ProgressView",
    "RequestAnswerView",
    "RequestView",
    "RequestsView",
    "StateView",
    "StepClaimView",
    "StepsView",
    "UsageView",
    "arena_response",
    "etag",
    "if_match_seqs",
]
