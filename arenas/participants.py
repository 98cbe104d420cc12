"""Participations: who takes part in an arena, and joining (or joining again).

A participant is (arena, agent, role, the four permission flags, joined_at, left_at), unique
per (arena, agent): leaving sets `left_at` and keeps the row as history; joining again
reuses it. The handle and the manager decide who may add whom; these functions
only store and read.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.utils import timezone

from .models import Agent, Arena, Participant, SlotStatus


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
