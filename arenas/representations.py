"""Plain-dict representations of domain objects: the one wire format that the REST API,
the websocket feed and the dashboard all send."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import asdict
from datetime import datetime
from typing import TYPE_CHECKING, Any

from django.utils import timezone

from . import lifecycle
from .agents import presence
from .aggregate import ArenaAggregate, progress
from .events import timestamp, to_wire
from .models import (
    Agent,
    Arena,
    Artifact,
    Claim,
    Event,
    Fact,
    InputRequest,
    Participant,
    Step,
    StepCompletion,
    WebhookSubscription,
)
from .permissions import PERMISSIONS
from .usage import Totals

if TYPE_CHECKING:
    from .claims import Vacancy


def _ts(value: datetime | None) -> str | None:
    return timestamp(value) if value else None


def me_dict(agent: Agent, active_arenas: Iterable[uuid.UUID]) -> dict[str, Any]:
    """The calling agent: its id, display name and the ids of its active arenas."""
    return {
        "agent_id": agent.agent_id,
        "display_name": agent.display_name,
        "active_arenas": [str(arena_id) for arena_id in active_arenas],
    }


def step_result(event: Event, aggregate: ArenaAggregate) -> dict[str, Any]:
    """A completed step: its `step_completed` event and the arena's aggregate after it."""
    return {"event": to_wire(event), "aggregate": aggregate.as_dict()}


def review_opened(request: InputRequest, event: Event) -> dict[str, Any]:
    """A review step submitted: the review request it opened and its `input_requested`."""
    return {"request": request_dict(request), "event": to_wire(event)}


def permissions_dict(participant: Participant) -> dict[str, bool]:
    return {name: getattr(participant, name) for name in PERMISSIONS}


def you_dict(me: Participant | None, staff_username: str | None) -> dict[str, Any]:
    """The caller as `GET /api/arenas/{id}/` shows it in `you`: its participation, or a
    staff user (`me` None) with no permission flag of its own."""
    if me is None:
        return {
            "agent_id": None,
            "staff": staff_username,
            "role": "staff",
            "permissions": dict.fromkeys(PERMISSIONS, False),
        }
    return {
        "agent_id": me.agent_id,
        "staff": None,
        "role": me.role,
        "permissions": permissions_dict(me),
    }


def participant_dict(participant: Participant) -> dict[str, Any]:
    seen = participant.agent.last_seen_at
    return {
        "agent_id": participant.agent_id,
        "role": participant.role,
        "permissions": permissions_dict(participant),
        "slot_status": participant.slot_status,
        "current": participant.current,
        "joined_at": _ts(participant.joined_at),
        "left_at": _ts(participant.left_at),
        "last_seen_at": _ts(seen),
        "presence": presence(seen, timezone.now()),
        "usage": Totals.of(participant.usage).wire(),
    }


def arena_fields(arena: Arena) -> dict[str, Any]:
    return {
        "id": str(arena.id),
        "goal": arena.goal,
        "status": arena.status,
        "strategy": arena.strategy,
        "total_steps": arena.total_steps,
        "completed_steps": arena.completed_steps,
        "created_by": arena.created_by_id,
        "created_at": _ts(arena.created_at),
        "activated_at": _ts(arena.activated_at),
        "settling_at": _ts(arena.settling_at),
        "archived_at": _ts(arena.archived_at),
        "last_seq": arena.last_seq,
        "settle_report": arena.settle_report,
        "lease_seconds": arena.lease_seconds,
        "budget": arena.budget,
        "usage": Totals.of(arena.usage).wire(),
        "forked_from": forked_from_dict(arena.forked_from_id, arena.forked_at_seq),
    }


def forked_from_dict(arena_id: Any, seq: int | None) -> dict[str, Any] | None:
    """Where a fork was taken: `{"arena_id", "seq"}`, or None for an arena not forked."""
    return None if arena_id is None else {"arena_id": str(arena_id), "seq": seq}


def fork_dict(arena_id: Any, at: int) -> dict[str, Any]:
    """A fork of an arena, as the arena lists it in `forks`."""
    return {"arena_id": str(arena_id), "at": at}


def arena_detail(
    arena: Arena,
    participants: list[Participant],
    you: dict[str, Any],
    forks: list[dict[str, Any]],
) -> dict[str, Any]:
    current = [p for p in participants if p.is_current]
    aggregate = ArenaAggregate(
        completed_steps=arena.completed_steps,
        total_steps=arena.total_steps,
        participants=tuple(p.agent_id for p in current),
        status=arena.status,
        last_seq=arena.last_seq,
        usage=Totals.of(arena.usage),
    )
    return {
        **arena_fields(arena),
        "participants": [participant_dict(p) for p in current],
        "forks": forks,
        "aggregate": aggregate.as_dict(),
        "allowed_transitions": lifecycle.allowed_transitions(arena.status),
        "you": you,
    }


def arena_summary(arena: Arena, participant_count: int) -> dict[str, Any]:
    """The dashboard's line for an arena."""
    total = arena.total_steps
    return {
        "id": str(arena.id),
        "goal": arena.goal,
        "status": arena.status,
        "completed_steps": arena.completed_steps,
        "total_steps": total,
        "progress": progress(arena.completed_steps, total),
        "participant_count": participant_count,
        "last_activity": _ts(arena.last_activity_at or arena.created_at),
        "last_seq": arena.last_seq,
        "cost_usd": Totals.of(arena.usage).wire()["cost_usd"],
        "budget_cost_usd": (arena.budget or {}).get("cost_usd"),
    }


def artifact_dict(artifact: Artifact, *, with_content: bool = True) -> dict[str, Any]:
    data = {
        "id": str(artifact.id),
        "arena_id": str(artifact.arena_id),
        "agent_id": artifact.agent_id,
        "kind": artifact.kind,
        "title": artifact.title,
        "metadata": artifact.metadata,
        "created_at": _ts(artifact.created_at),
    }
    if with_content:
        data["content"] = artifact.content
    return data


def fact_dict(fact: Fact) -> dict[str, Any]:
    return {
        "id": str(fact.id),
        "arena_id": str(fact.arena_id),
        "content": fact.content,
        "source_agent": fact.source_agent_id,
        "confidence": fact.confidence,
        "tags": fact.tags,
        "created_at": _ts(fact.created_at),
        "settled_at": _ts(fact.settled_at),
    }


def step_dict(
    number: int,
    step: Step | None,
    completion: StepCompletion | None,
    depends_on: Sequence[int],
    claim: Claim | None,
    review: str | None,
) -> dict[str, Any]:
    """A step of the plan as `GET …/steps/` lists it (`step` None for an untitled one),
    with its live claim and, for a review step, its review (`required`, `pending`,
    `approved`)."""
    return {
        "step": number,
        "title": step.title if step else "",
        "assignee": step.assignee_id if step else None,
        "depends_on": list(depends_on),
        "completed": completion is not None,
        "completed_by": completion.agent_id if completion else None,
        "completed_at": _ts(completion.completed_at) if completion else None,
        "claim": None if claim is None else step_claim_dict(claim),
        "review": review,
    }


def step_claim_dict(claim: Claim) -> dict[str, Any]:
    """A live claim as a step of the plan shows it."""
    return {
        "claim_id": claim.claim_id,
        "agent_id": claim.agent_id,
        "expires_at": _ts(claim.expires_at),
    }


def request_dict(request: InputRequest) -> dict[str, Any]:
    return {
        "id": str(request.id),
        "arena_id": str(request.arena_id),
        "kind": request.kind,
        "agent_id": request.agent_id,
        "text": request.text,
        "choices": request.choices,
        "step": request.step,
        "status": request.status,
        "answer": request.answer,
        "created_at": _ts(request.created_at),
    }


def claim_dict(claim: Claim) -> dict[str, Any]:
    return {
        "claim_id": claim.claim_id,
        "arena_id": str(claim.arena_id),
        "step": claim.step,
        "agent_id": claim.agent_id,
        "claimed_at": _ts(claim.claimed_at),
        "expires_at": _ts(claim.expires_at),
        "renewed_at": _ts(claim.renewed_at),
    }


def claim_result(claim: Claim, event: Event | None) -> dict[str, Any]:
    """A claim taken (with its `step_claimed` event) or renewed (`event` None)."""
    if event is None:
        return {"claim": claim_dict(claim)}
    return {"claim": claim_dict(claim), "event": to_wire(event)}


def no_claim(vacancy: Vacancy) -> dict[str, Any]:
    """claims/next when no step can be claimed now: why (`claims.Vacancy`)."""
    return {"claim": None, **asdict(vacancy)}


def webhook_dict(subscription: WebhookSubscription) -> dict[str, Any]:
    """A webhook subscription, without its secret (shown once: `webhook_created`)."""
    return {
        "id": str(subscription.id),
        "url": subscription.url,
        "arenas": subscription.arenas,
        "types": subscription.types,
        "active": subscription.active,
        "created_by": subscription.created_by.get_username(),
        "created_at": timestamp(subscription.created_at),
        "disabled_reason": subscription.disabled_reason or None,
        "last_error": subscription.last_error or None,
        "last_error_at": _ts(subscription.last_error_at),
    }


def webhook_created(subscription: WebhookSubscription) -> dict[str, Any]:
    """A new subscription with its secret: the one time the secret is shown."""
    return {**webhook_dict(subscription), "secret": subscription.secret}
