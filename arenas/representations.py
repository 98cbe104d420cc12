"""Plain-dict representations of domain objects: the one wire format that the REST API,
the websocket feed and the dashboard all send."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from . import lifecycle
from .aggregate import ArenaAggregate
from .events import timestamp, to_wire
from .models import Agent, Arena, Artifact, Event, Fact, Participant
from .permissions import PERMISSIONS


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


def permissions_dict(participant: Participant) -> dict[str, bool]:
    return {name: getattr(participant, name) for name in PERMISSIONS}


def participant_dict(participant: Participant) -> dict[str, Any]:
    return {
        "agent_id": participant.agent_id,
        "role": participant.role,
        "permissions": permissions_dict(participant),
        "slot_status": participant.slot_status,
        "current": participant.current,
        "joined_at": _ts(participant.joined_at),
        "left_at": _ts(participant.left_at),
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
    }


def arena_detail(
    arena: Arena, participants: list[Participant], you: dict[str, Any]
) -> dict[str, Any]:
    current = [p for p in participants if p.left_at is None]
    aggregate = ArenaAggregate(
        completed_steps=arena.completed_steps,
        total_steps=arena.total_steps,
        participants=tuple(p.agent_id for p in current),
        status=arena.status,
        last_seq=arena.last_seq,
    )
    return {
        **arena_fields(arena),
        "participants": [participant_dict(p) for p in current],
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
        "progress": arena.completed_steps / total if total else 0.0,
        "participant_count": participant_count,
        "last_activity": _ts(arena.last_activity_at or arena.created_at),
        "last_seq": arena.last_seq,
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
