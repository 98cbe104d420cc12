"""Reads of the event log and arena heads for the live feed (synchronous: call them through
`database_sync_to_async`).

The consumers authorise once at the handshake and then read the log by arena id alone: a
feed's later reads are gap fills and catch-ups of an arena its viewer was already allowed to
see (see `consumers.ArenaFeedConsumer` for how a viewer who loses sight is closed).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from arenas.events import to_wire
from arenas.inputs import PAGE_MAX
from arenas.models import Arena, Event, Participant

PAGE = PAGE_MAX


def events_after(arena_id: uuid.UUID | str, after: int, limit: int = PAGE) -> list[dict[str, Any]]:
    """Wire dicts of the arena's events with `seq > after`, in seq order, at most `limit`."""
    rows = Event.objects.filter(arena_id=arena_id, seq__gt=after).order_by("seq")[:limit]
    return [to_wire(event) for event in rows]


def heads(arena_ids: Iterable[uuid.UUID | str]) -> dict[uuid.UUID, int]:
    """`last_seq` of each named arena, in one query."""
    return dict(Arena.objects.filter(pk__in=list(arena_ids)).values_list("id", "last_seq"))


def changed_since(moment: datetime) -> dict[uuid.UUID, int]:
    """`last_seq` of every arena with an event at or after `moment`."""
    return dict(Arena.objects.filter(last_activity_at__gte=moment).values_list("id", "last_seq"))


def sight(arena_id: uuid.UUID | str) -> tuple[frozenset[str], frozenset[int]]:
    """The arena's current participants' agent ids, and the ids of the people who own them
    (who may see it on the dashboard: `Arena.objects.visible_to`), in one query."""
    rows = (
        Participant.objects.current()
        .filter(arena_id=arena_id)
        .values_list("agent_id", "agent__owner_id")
    )
    agent_ids, owners = set(), set()
    for agent_id, owner in rows:
        agent_ids.add(agent_id)
        if owner is not None:
            owners.add(owner)
    return frozenset(agent_ids), frozenset(owners)
