"""What each state allows: every row of the lifecycle table, in every state."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from arenas.errors import ArenaArchived, ArenaNotActive
from arenas.handle import ArenaHandle

from .helpers import arena_row, assert_replay_matches, event_types

STATES = ["created", "active", "settling", "archived"]
ALL = set(STATES)
AFTER_ACTIVE = {"active": [], "settling": ["settle"], "archived": ["settle", "archive"]}

# (row of the table, the operation run by alice, the coordinator, or by peer, a worker)
ROWS: list[tuple[str, set[str], Callable[[ArenaHandle, ArenaHandle], Any]]] = [
    ("read: detail", ALL, lambda alice, peer: peer.detail()),
    ("read: aggregate", ALL, lambda alice, peer: peer.aggregate()),
    ("read: events", ALL, lambda alice, peer: peer.events()),
    ("read: participants", ALL, lambda alice, peer: peer.participants()),
    ("read: steps", ALL, lambda alice, peer: peer.steps()),
    ("read: artifacts", ALL, lambda alice, peer: list(peer.artifacts())),
    ("read: facts", ALL, lambda alice, peer: list(peer.facts())),
    (
        "add participant",
        {"created", "active"},
        lambda alice, peer: alice.add_participant("newcomer", "worker"),
    ),
    (
        "remove participant",
        {"created", "active", "settling"},
        lambda alice, peer: alice.remove_participant("spare"),
    ),
    ("leave", {"created", "active", "settling"}, lambda alice, peer: peer.leave()),
    ("update goal", {"created", "active"}, lambda alice, peer: alice.update_goal("Next")),
    ("complete step", {"active"}, lambda alice, peer: peer.complete_step(5)),
    ("report progress", {"active"}, lambda alice, peer: peer.report_progress("busy")),
    (
        "publish artifact",
        {"active"},
        lambda alice, peer: peer.publish_artifact("code", "x.py", "print(1)"),
    ),
    ("share fact", {"active"}, lambda alice, peer: peer.share_fact("A fact.")),
    (
        "post message",
        {"created", "active", "settling"},
        lambda alice, peer: peer.post_message("Hi"),
    ),
    ("merge", {"active", "settling"}, lambda alice, peer: alice.merge(["peer"], "All")),
]


@pytest.fixture
def arena_in(make_arena, make_agent, manager):
    """arena_in(status) -> (arena id, alice's handle, peer's handle), where peer has an
    artifact whenever the arena has been active."""

    def make(status: str) -> tuple[Any, ArenaHandle, ArenaHandle]:
        make_agent("newcomer")
        arena_id = make_arena(
            status="created" if status == "created" else "active",
            participants=[
                {"agent_id": "peer", "role": "worker"},
                {"agent_id": "spare", "role": "worker"},
            ],
        )
        alice = manager.handle(arena_id, "alice")
        peer = manager.handle(arena_id, "peer")
        if status != "created":
            peer.publish_artifact("text", "Findings", "Some findings")
            for action in AFTER_ACTIVE[status]:
                alice.act(action)
        return arena_id, alice, peer

    return make


@pytest.mark.parametrize("status", STATES)
@pytest.mark.parametrize(("row", "allowed_in", "operation"), ROWS, ids=[r[0] for r in ROWS])
def test_each_state_allows_exactly_its_row_of_the_table(
    arena_in, status, row, allowed_in, operation
):
    arena_id, alice, peer = arena_in(status)
    before = arena_row(arena_id)
    types_before = event_types(arena_id)

    if status in allowed_in:
        operation(alice, peer)
        if row.startswith("read"):
            assert arena_row(arena_id) == before
        else:
            assert len(event_types(arena_id)) == len(types_before) + 1
    else:
        expected = ArenaArchived if status == "archived" else ArenaNotActive
        with pytest.raises(expected) as refused:
            operation(alice, peer)
        assert refused.value.status == 409
        assert refused.value.code == (
            "arena_archived" if status == "archived" else "arena_not_active"
        )
        assert arena_row(arena_id) == before
        assert event_types(arena_id) == types_before
    assert_replay_matches(arena_id)
