"""The lifecycle Created → Active → Settling → Archived: every (from, to) pair."""

from __future__ import annotations

import pytest

from arenas.errors import Invalid, InvalidTransition
from arenas.models import Event

from .helpers import arena_row, assert_replay_matches, event_types

STATES = ["created", "active", "settling", "archived"]
NEXT = {"created": "active", "active": "settling", "settling": "archived"}
STAMP = {"active": "activated_at", "settling": "settling_at", "archived": "archived_at"}


@pytest.mark.parametrize("to", STATES)
@pytest.mark.parametrize("start", STATES)
def test_only_the_three_forward_transitions_succeed(make_arena, manager, start, to):
    arena_id = make_arena(status=start)
    handle = manager.handle(arena_id, "alice")
    before = arena_row(arena_id)
    types_before = event_types(arena_id)

    if NEXT.get(start) == to:
        arena = handle.transition(to)
        after = arena_row(arena_id)
        assert arena.status == to == after["status"]
        assert after[STAMP[to]] is not None
        added = Event.objects.filter(arena_id=arena_id, seq__gt=before["last_seq"]).order_by("seq")
        expected = ["status_changed", "arena_settled"] if to == "archived" else ["status_changed"]
        assert [e.type for e in added] == expected
        assert added[0].data == {"from_status": start, "to_status": to}
        assert added[0].actor == "alice"
        assert_replay_matches(arena_id)
    else:
        with pytest.raises(InvalidTransition) as refused:
            handle.transition(to)
        error = refused.value.as_dict()
        assert error["error"] == "invalid_transition"
        assert refused.value.status == 409
        assert error["current"] == start
        assert error["requested"] == to
        assert error["allowed"] == ([NEXT[start]] if start in NEXT else [])
        assert arena_row(arena_id) == before
        assert event_types(arena_id) == types_before


@pytest.mark.parametrize(
    ("action", "start", "to"),
    [
        ("activate", "created", "active"),
        ("settle", "active", "settling"),
        ("archive", "settling", "archived"),
    ],
)
def test_actions_name_the_forward_transitions(make_arena, manager, action, start, to):
    arena_id = make_arena(status=start)
    assert manager.handle(arena_id, "alice").act(action).status == to


@pytest.mark.parametrize("to", ["", "deleted", "ACTIVE", "created "])
def test_a_state_that_does_not_exist_is_refused_as_a_transition(make_arena, manager, to):
    arena_id = make_arena(status="created")
    before = arena_row(arena_id)
    with pytest.raises(InvalidTransition) as refused:
        manager.handle(arena_id, "alice").transition(to)
    assert refused.value.extra == {"current": "created", "requested": to, "allowed": ["active"]}
    assert arena_row(arena_id) == before


def test_an_unknown_action_name_is_invalid_and_changes_nothing(make_arena, manager):
    arena_id = make_arena(status="created")
    before = arena_row(arena_id)
    with pytest.raises(Invalid) as refused:
        manager.handle(arena_id, "alice").act("restart")
    assert "action" in refused.value.fields
    assert arena_row(arena_id) == before


def test_repeating_an_action_is_refused(make_arena, manager):
    arena_id = make_arena(status="created")
    handle = manager.handle(arena_id, "alice")
    handle.act("activate")
    with pytest.raises(InvalidTransition) as refused:
        handle.act("activate")
    assert refused.value.extra["current"] == "active"
    assert event_types(arena_id).count("status_changed") == 1


def test_archiving_settles_facts_into_memory_and_stores_the_report(make_arena, manager):
    arena_id = make_arena(status="active", participants=[{"agent_id": "bob", "role": "worker"}])
    bob = manager.handle(arena_id, "bob")
    bob.share_fact("Water boils at 100 °C at sea level.", 0.9, ["physics"])
    bob.share_fact("Ice floats.", 1.0, [])
    bob.publish_artifact("text", "Notes", "…")
    handle = manager.handle(arena_id, "alice")
    handle.act("settle")
    assert not manager.memory_facts("bob").exists()

    arena = handle.act("archive")

    report = {"facts_persisted": 2, "artifacts_archived": 1, "events_cleared": 0}
    assert arena.settle_report == report
    assert arena_row(arena_id)["settle_report"] == report
    assert manager.memory_facts("bob").count() == 2
    settled = Event.objects.get(arena_id=arena_id, type="arena_settled")
    assert settled.data == report
    assert Event.objects.filter(arena_id=arena_id).count() == arena.last_seq
    assert_replay_matches(arena_id)
