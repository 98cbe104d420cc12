"""Replaying an arena's events gives its stored aggregate, after every kind of
change: the Zulip-style check that applying the log equals a fresh read of the state."""

from __future__ import annotations

import pytest

from arenas import aggregate
from arenas.aggregate import ArenaAggregate, ReplayError
from arenas.models import Arena, Event, EventType

from . import scenario
from .helpers import assert_replay_matches


@pytest.mark.parametrize("event_type", EventType.values)
def test_replaying_the_log_gives_the_stored_aggregate_after_each_event_type(
    make_arena, make_agent, manager, event_type
):
    arena_id = scenario.start(make_arena, make_agent)
    checked = (
        [("creation", assert_replay_matches(arena_id))] if event_type == "arena_created" else []
    )

    def check(arena_id, name, types):
        stored = assert_replay_matches(arena_id)
        if event_type in types:
            checked.append((name, stored))

    scenario.play(manager, arena_id, check)
    assert checked, f"the scenario never appended {event_type}"


def test_the_replayed_aggregate_tracks_every_field(make_arena, make_agent, manager):
    arena_id = scenario.start(make_arena, make_agent)
    scenario.play(manager, arena_id, lambda *args: None)
    arena = Arena.objects.get(pk=arena_id)
    assert aggregate.rebuild(arena_id) == ArenaAggregate(
        completed_steps=3,
        total_steps=5,
        participants=("alice", "bob"),
        status="archived",
        last_seq=arena.last_seq,
    )


def test_rebuild_notices_a_stored_counter_that_disagrees(make_arena, manager):
    arena_id = make_arena(status="active")
    manager.handle(arena_id, "alice").complete_step(1)
    Arena.objects.filter(pk=arena_id).update(completed_steps=5)
    assert aggregate.rebuild(arena_id) != ArenaAggregate.of(Arena.objects.get(pk=arena_id))


def test_replay_refuses_a_log_with_a_gap_or_a_repeat():
    created = (1, "arena_created", {"total_steps": 3})
    with pytest.raises(ReplayError, match="seq 3 follows 1"):
        aggregate.replay([created, (3, "goal_updated", {"new_goal": "x"})])
    with pytest.raises(ReplayError, match="seq 1 follows 1"):
        aggregate.replay([created, created])


def test_replay_refuses_an_unknown_event_type():
    with pytest.raises(ReplayError, match="unknown event type"):
        aggregate.replay([(1, "arena_created", {"total_steps": 0}), (2, "arena_exploded", {})])


def test_rebuild_of_a_log_with_a_deleted_event_fails(make_arena, manager):
    arena_id = make_arena(status="active")
    manager.handle(arena_id, "alice").complete_step(1)
    Event.objects.filter(arena_id=arena_id, seq=2).delete()
    with pytest.raises(ReplayError):
        aggregate.rebuild(arena_id)
