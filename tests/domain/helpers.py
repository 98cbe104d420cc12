"""Small readers shared by the domain tests: they look at stored rows, never change them."""

from __future__ import annotations

from typing import Any

from arenas import aggregate
from arenas.aggregate import ArenaAggregate
from arenas.events import to_wire
from arenas.models import Arena, Event


def arena_row(arena_id: Any) -> dict[str, Any]:
    """Every stored column of the arena, to compare before and after a refused operation."""
    return Arena.objects.filter(pk=arena_id).values().get()


def event_types(arena_id: Any) -> list[str]:
    return list(
        Event.objects.filter(arena_id=arena_id).order_by("seq").values_list("type", flat=True)
    )


def wire_events(arena_id: Any) -> list[dict[str, Any]]:
    return [to_wire(e) for e in Event.objects.filter(arena_id=arena_id).order_by("seq")]


def assert_replay_matches(arena_id: Any) -> ArenaAggregate:
    """Zulip-style check: the aggregate rebuilt from the log equals the stored one."""
    stored = ArenaAggregate.of(Arena.objects.get(pk=arena_id))
    assert aggregate.rebuild(arena_id) == stored
    return stored


def assert_seq_gapless(arena_id: Any) -> None:
    seqs = list(
        Event.objects.filter(arena_id=arena_id).order_by("seq").values_list("seq", flat=True)
    )
    assert seqs == list(range(1, len(seqs) + 1))
    assert Arena.objects.get(pk=arena_id).last_seq == len(seqs)
