"""Participations: who takes part in an arena, and joining (or joining again).

A participant is (arena, agent, role, the four permission flags, joined_at, left_at), unique
per (arena, agent): leaving sets `left_at` and keeps the row as history; joining again
reuses it. The handle and the manager decide who may add whom (a coordinator, staff); the
functions that append an event (`add`, `leave`, `report_progress`) run inside a write of
`ArenaHandle` (the arena's row locked), and the events are the write's own.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.utils import timezone

from . import events, inputs, permissions, validation
from .agents import active_agents
from .errors import AlreadyParticipant, Invalid, LastCoordinator
from .models import Agent, Arena, EventType, Participant, Role, SlotStatus


def current(arena_id: Any) -> list[Participant]:
    """The arena's current participants by agent id, in code point order: sorted here, not
    by the database, whose collation (an `en_US` locale, ICU) may order punctuation
    differently from the replayed aggregate."""
    rows = Participant.objects.current().filter(arena_id=arena_id).select_related("agent")
    return sorted(rows, key=lambda p: p.agent_id)


def join(
    arena: Arena,
    agent: Agent,
    role: str,
    flags: dict[str, bool],
    existing: Participant | None = None,
    now: datetime | None = None,
) -> Participant:
    """Store a (re-)joining participation with a fresh, idle slot, joined at `now`; the
    caller appends `agent_joined` at the same instant."""
    participant = existing or Participant(arena=arena, agent=agent)
    participant.role = role
    for name, value in flags.items():
        setattr(participant, name, value)
    participant.joined_at = now or timezone.now()
    participant.left_at = None
    participant.slot_status = SlotStatus.IDLE
    participant.current = ""
    participant.save()
    return participant


def add(
    arena: Arena, agent_id: Any, role: Any, overrides: dict[str, Any], actor: str
) -> Participant:
    """Add an active agent (or re-join one that left) with a role and optional flag
    overrides (`agent_joined`); AlreadyParticipant for a current participant."""
    agent_id = inputs.agent_id(agent_id)
    agent = active_agents([agent_id], "agent_id")[agent_id]
    role, flags = permissions.resolve(role, overrides)
    existing = Participant.objects.filter(arena=arena, agent=agent).first()
    if existing is not None and existing.is_current:
        raise AlreadyParticipant(f"{agent_id!r} is already a participant.")
    now = timezone.now()
    participant = join(arena, agent, role, flags, existing, now)
    events.append(
        arena,
        EventType.AGENT_JOINED,
        actor,
        now=now,
        agent_id=agent_id,
        role=role,
        permissions=flags,
    )
    return participant


def require_not_last_coordinator(arena: Arena, target: Participant) -> None:
    """LastCoordinator when `target` is the arena's only current coordinator."""
    if target.role != Role.COORDINATOR:
        return
    coordinators = Participant.objects.current().filter(arena=arena, role=Role.COORDINATOR).count()
    if coordinators <= 1:
        raise LastCoordinator()


def leave(arena: Arena, target: Participant, actor: str) -> None:
    """`target` leaves (or is removed): `left_at` set, `agent_left`."""
    target.left_at = timezone.now()
    target.save(update_fields=["left_at"])
    events.append(arena, EventType.AGENT_LEFT, actor, now=target.left_at, agent_id=target.agent_id)


def report_progress(
    arena: Arena, me: Participant, actor: str, current: Any, slot_status: Any
) -> Participant:
    """What the caller's slot is doing now (`progress_updated`); either value may be left
    unchanged (None), not both."""
    if current is None and slot_status is None:
        raise Invalid({"current": ["Give current, slot_status or both."]})
    if current is not None:
        me.current = inputs.current(current)
    if slot_status is not None:
        me.slot_status = validation.choice(slot_status, "slot_status", SlotStatus.values)
    me.save(update_fields=["current", "slot_status"])
    events.append(
        arena,
        EventType.PROGRESS_UPDATED,
        actor,
        agent_id=me.agent_id,
        current=me.current,
        slot_status=me.slot_status,
    )
    return me
