"""The event log: one event per change, `seq` gapless and in commit order, the fields of
every type, and the announcement on commit."""

from __future__ import annotations

import asyncio

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from channels.layers import get_channel_layer

from arenas import events
from arenas.errors import Invalid, StepAlreadyCompleted
from arenas.models import Arena, Event, EventType

from . import scenario
from .helpers import assert_seq_gapless, event_types, wire_events

ENVELOPE = {"arena_id", "seq", "type", "timestamp", "actor"}
WIRE_FIELDS = {
    "arena_created": {"goal", "strategy", "total_steps", "created_by", "forked_from"},
    "agent_joined": {"agent_id", "role", "permissions"},
    "agent_left": {"agent_id"},
    "step_completed": {"step", "agent_id", "completed_steps", "total_steps"},
    "goal_updated": {"new_goal"},
    "status_changed": {"from_status", "to_status"},
    "progress_updated": {"agent_id", "current", "slot_status"},
    "artifact_published": {"agent_id", "artifact_id", "kind", "title"},
    "artifacts_merged": {"agent_id", "artifact_id", "sources"},
    "fact_shared": {"agent_id", "fact_id"},
    "message_posted": {"agent_id", "to", "text"},
    "arena_settled": {"facts_persisted", "artifacts_archived", "events_cleared"},
    "step_claimed": {"step", "agent_id", "claim_id", "expires_at"},
    "claim_released": {"step", "agent_id", "claim_id"},
    "claim_expired": {"step", "agent_id", "claim_id"},
    "input_requested": {"request_id", "agent_id", "kind", "text", "choices", "step"},
    "input_provided": {"request_id", "agent_id", "by", "choice", "text"},
    "input_cancelled": {"request_id", "agent_id"},
    "usage_reported": {
        "agent_id",
        "model",
        "input_tokens",
        "output_tokens",
        "cached_input_tokens",
        "calls",
        "cost_usd",
        "priced",
        "step",
        "totals",
    },
    "budget_changed": {"budget", "previous"},
    "budget_warning": {"scope", "limit", "spent"},
    "budget_exhausted": {"scope", "limit", "spent"},
    "arena_forked": {"fork_id", "at"},
}


def test_the_table_of_fields_covers_every_event_type():
    assert set(WIRE_FIELDS) == set(EventType.values)
    assert {t: set(f) for t, f in events.FIELDS.items()} == WIRE_FIELDS


def test_every_change_appends_exactly_its_events_with_the_next_seq(make_arena, make_agent, manager):
    arena_id = scenario.start(make_arena, make_agent)
    seen = event_types(arena_id)

    def check(arena_id, name, types):
        now = event_types(arena_id)
        assert now[: len(seen)] == seen, name
        assert now[len(seen) :] == types, name
        seen[:] = now
        assert_seq_gapless(arena_id)

    scenario.play(manager, arena_id, check)
    assert set(seen) == set(EventType.values)


def test_the_wire_format_of_every_event_type(make_arena, make_agent, manager):
    arena_id = scenario.start(make_arena, make_agent)
    ctx = scenario.play(manager, arena_id, lambda *args: None)
    wire = wire_events(arena_id)

    for event in wire:
        assert set(event) == ENVELOPE | WIRE_FIELDS[event["type"]], event["type"]
        assert event["arena_id"] == str(arena_id)
        assert event["timestamp"].endswith("Z")
    by_type = {}
    for event in wire:
        by_type.setdefault(event["type"], []).append(event)

    created = by_type["arena_created"][0]
    assert (created["seq"], created["actor"]) == (1, "alice")
    assert {k: created[k] for k in WIRE_FIELDS["arena_created"]} == {
        "goal": "Find the answer",
        "strategy": "peer",
        "total_steps": 5,
        "created_by": "alice",
        "forked_from": None,
    }
    assert by_type["agent_joined"][0]["permissions"] == {
        "can_write_own_slot": True,
        "can_read_other_slots": True,
        "can_write_shared_memory": True,
        "can_merge": True,
    }
    forked = by_type["arena_forked"][0]
    assert (forked["fork_id"], forked["at"]) == (str(ctx["fork"].pk), 3)
    step = by_type["step_completed"][0]
    assert step | {"timestamp": None} == {
        "arena_id": str(arena_id),
        "seq": step["seq"],
        "type": "step_completed",
        "timestamp": None,
        "actor": "bob",
        "step": 2,
        "agent_id": "bob",
        "completed_steps": 1,
        "total_steps": 5,
    }
    assert by_type["goal_updated"][0]["new_goal"] == "G2"
    assert [(e["from_status"], e["to_status"]) for e in by_type["status_changed"]] == [
        ("created", "active"),
        ("active", "settling"),
        ("settling", "archived"),
    ]
    progress = by_type["progress_updated"][0]
    assert (progress["agent_id"], progress["current"], progress["slot_status"]) == (
        "bob",
        "Step 3",
        "working",
    )
    published = by_type["artifact_published"][0]
    assert published["artifact_id"] == str(ctx["artifact"].id)
    assert (published["kind"], published["title"], published["agent_id"]) == (
        "text",
        "Draft",
        "bob",
    )
    merged = by_type["artifacts_merged"][0]
    assert merged["artifact_id"] == str(ctx["merged"].id)
    assert merged["sources"] == [str(ctx["artifact"].id)] == ctx["merged"].metadata["sources"]
    assert by_type["fact_shared"][0]["fact_id"] == str(ctx["fact"].id)
    assert [(e["actor"], e["agent_id"]) for e in by_type["agent_left"]] == [
        ("carol", "carol"),
        ("staff:root", "carol"),
    ]
    assert [(e["actor"], e["agent_id"], e["to"], e["text"]) for e in by_type["message_posted"]] == [
        ("bob", "bob", None, "hi"),
        ("staff:root", None, "bob", "done?"),
    ]
    settled = by_type["arena_settled"][0]
    assert settled["seq"] == by_type["status_changed"][-1]["seq"] + 1 == wire[-1]["seq"]
    assert {k: settled[k] for k in WIRE_FIELDS["arena_settled"]} == {
        "facts_persisted": 1,
        "artifacts_archived": 2,
        "events_cleared": 0,
    }


def test_creation_appends_the_creator_first_then_the_others_sorted(make_agent, manager):
    for agent_id in ("alice", "zed", "bob", "mia"):
        make_agent(agent_id)
    arena_id = manager.create(
        {
            "goal": "g",
            "total_steps": 3,
            "participants": [
                {"agent_id": "zed", "role": "observer"},
                {"agent_id": "bob", "role": "worker"},
                {"agent_id": "mia", "role": "coordinator"},
            ],
        },
        created_by="alice",
    )
    wire = wire_events(arena_id)
    assert [(e["type"], e.get("agent_id"), e.get("role"), e["actor"]) for e in wire] == [
        ("arena_created", None, None, "alice"),
        ("agent_joined", "alice", "coordinator", "alice"),
        ("agent_joined", "bob", "worker", "alice"),
        ("agent_joined", "mia", "coordinator", "alice"),
        ("agent_joined", "zed", "observer", "alice"),
    ]
    assert [e["seq"] for e in wire] == [1, 2, 3, 4, 5]


def test_an_arena_created_without_an_agent_has_a_system_actor(make_agent, manager):
    make_agent("bob")
    arena_id = manager.create(
        {"goal": "g", "participants": [{"agent_id": "bob", "role": "coordinator"}]}
    )
    wire = wire_events(arena_id)
    assert [(e["type"], e["actor"]) for e in wire] == [
        ("arena_created", None),
        ("agent_joined", None),
    ]
    assert wire[0]["created_by"] is None
    assert Arena.objects.get(pk=arena_id).created_by is None


def test_a_refused_change_appends_nothing_and_announces_nothing(
    make_arena, manager, django_capture_on_commit_callbacks
):
    arena_id = make_arena(status="active")
    handle = manager.handle(arena_id, "alice")
    handle.complete_step(1)
    before = event_types(arena_id)
    with django_capture_on_commit_callbacks() as announced:
        with pytest.raises(StepAlreadyCompleted):
            handle.complete_step(1)
        with pytest.raises(Invalid):
            handle.post_message("")
    assert announced == []
    assert event_types(arena_id) == before


def test_each_committed_event_is_announced_to_its_arena_and_the_dashboard(
    make_arena, manager, django_capture_on_commit_callbacks
):
    arena_id = make_arena(status="active")
    layer = get_channel_layer()

    def post() -> tuple[Event, list]:
        with django_capture_on_commit_callbacks(execute=True) as announced:
            event = manager.handle(arena_id, "alice").post_message("ring")
        return event, announced

    async def listen_while_posting() -> tuple[Event, list, list[dict]]:
        # One event loop throughout: channels_redis keeps one connection set per loop, and
        # the write's announcement runs on this loop too (async_to_sync inside
        # sync_to_async), so it reaches these channels on the in-memory and Redis layers.
        groups = [events.arena_group(arena_id), events.DASHBOARD_GROUP]
        channels = [await layer.new_channel() for _ in groups]
        for group, channel in zip(groups, channels, strict=True):
            await layer.group_add(group, channel)
        try:
            event, announced = await sync_to_async(post)()
            received = [await asyncio.wait_for(layer.receive(c), 30) for c in channels]
        finally:
            for group, channel in zip(groups, channels, strict=True):
                await layer.group_discard(group, channel)
        return event, announced, received

    event, announced, received = async_to_sync(listen_while_posting)()

    assert len(announced) == 1
    assert received == [
        {"type": "arena.event", "event": events.to_wire(event)},
        {"type": "arena.changed", "arena_id": str(arena_id), "seq": event.seq},
    ]


def test_append_refuses_fields_that_do_not_match_the_type(make_arena):
    arena = Arena.objects.get(pk=make_arena())
    with pytest.raises(ValueError, match="goal_updated"):
        events.append(arena, EventType.GOAL_UPDATED, None, goal="wrong name")
    assert Event.objects.filter(arena=arena).count() == arena.last_seq


def test_events_are_read_in_seq_order_after_a_given_seq(make_arena, manager):
    arena_id = make_arena(status="active")
    handle = manager.handle(arena_id, "alice")
    for n in range(1, 8):
        handle.complete_step(n)
    last = Arena.objects.get(pk=arena_id).last_seq
    assert [e.seq for e in handle.events()] == list(range(1, last + 1))
    assert [e.seq for e in handle.events(after=3, limit=2)] == [4, 5]
    assert handle.events(after=last) == []
    for bad in ({"after": -1}, {"limit": 0}, {"limit": 501}, {"after": "1"}):
        with pytest.raises(Invalid):
            handle.events(**bad)
