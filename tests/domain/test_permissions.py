"""The permission matrix: each role × each operation, with overrides."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import pytest

from arenas.errors import LastCoordinator, NotFound, PermissionDenied
from arenas.handle import ArenaHandle
from arenas.models import Event, Participant

from .helpers import arena_row, assert_replay_matches

# Every operation of the matrix, run by `handle` in an active arena where "peer" (a worker)
# has published one artifact and "spare" (a worker) may be removed.
OPERATIONS: dict[str, Callable[[ArenaHandle, dict[str, Any]], Any]] = {
    "complete step": lambda h, ctx: h.complete_step(3),
    "report progress": lambda h, ctx: h.report_progress("reading", "working"),
    "publish artifact": lambda h, ctx: h.publish_artifact("text", "Draft", "text"),
    "read other slots (list)": lambda h, ctx: list(h.artifacts(agent="peer")),
    "read other slots (one)": lambda h, ctx: h.artifact(ctx["peer_artifact"]),
    "share fact": lambda h, ctx: h.share_fact("The sky is blue."),
    "merge": lambda h, ctx: h.merge(["peer"], "Merged"),
    "post message": lambda h, ctx: h.post_message("Hello"),
    "manage: update goal": lambda h, ctx: h.update_goal("A new goal"),
    "manage: add participant": lambda h, ctx: h.add_participant("newcomer", "worker"),
    "manage: remove participant": lambda h, ctx: h.remove_participant("spare"),
    "manage: lifecycle": lambda h, ctx: h.act("settle"),
}
MANAGE = {name for name in OPERATIONS if name.startswith("manage")}
READ_OTHERS = {"read other slots (list)", "read other slots (one)"}
SLOT = {"complete step", "report progress", "publish artifact"}

ALLOWED: dict[str, set[str]] = {
    "coordinator": set(OPERATIONS),
    "worker": SLOT | READ_OTHERS | {"share fact", "post message"},
    "observer": set(READ_OTHERS),
}
SUBJECT = {"coordinator": "carol", "worker": "wally", "observer": "olive"}


@pytest.fixture
def arena(make_arena, make_agent, manager):
    """An active arena with one participant of each role (plus alice, its creator), and
    returns a function that adds `subject` with a role and overrides and gives its handle."""
    make_agent("newcomer")
    arena_id = make_arena(
        status="active",
        participants=[
            {"agent_id": "peer", "role": "worker"},
            {"agent_id": "spare", "role": "worker"},
        ],
    )
    artifact = manager.handle(arena_id, "peer").publish_artifact("text", "Peer's", "work")
    context = {"arena_id": arena_id, "peer_artifact": artifact.id}

    def join(agent_id: str, role: str, **overrides: bool) -> ArenaHandle:
        make_agent(agent_id)
        manager.handle(arena_id, "alice").add_participant(agent_id, role, **overrides)
        return manager.handle(arena_id, agent_id)

    context["join"] = join
    return context


def assert_outcome(handle: ArenaHandle, operation: str, context: dict, allowed: bool) -> None:
    arena_id = context["arena_id"]
    before_row = arena_row(arena_id)
    before_events = Event.objects.filter(arena_id=arena_id).count()
    if allowed:
        OPERATIONS[operation](handle, context)
    else:
        with pytest.raises(PermissionDenied) as refused:
            OPERATIONS[operation](handle, context)
        assert refused.value.status == 403
        assert refused.value.code == "permission_denied"
        assert arena_row(arena_id) == before_row
        assert Event.objects.filter(arena_id=arena_id).count() == before_events
    assert_replay_matches(arena_id)


@pytest.mark.parametrize("operation", list(OPERATIONS))
@pytest.mark.parametrize("role", list(ALLOWED))
def test_role_defaults_decide_each_operation(arena, role, operation):
    handle = arena["join"](SUBJECT[role], role)
    assert_outcome(handle, operation, arena, operation in ALLOWED[role])


@pytest.mark.parametrize(
    ("role", "overrides", "operation", "allowed"),
    [
        ("observer", {"can_write_own_slot": True}, "complete step", True),
        ("observer", {"can_write_own_slot": True}, "publish artifact", True),
        ("observer", {"can_write_own_slot": True}, "report progress", True),
        ("observer", {"can_write_shared_memory": True}, "share fact", True),
        ("observer", {"can_merge": True}, "merge", True),
        ("observer", {"can_read_other_slots": False}, "read other slots (list)", False),
        ("worker", {"can_merge": True}, "merge", True),
        ("worker", {"can_write_own_slot": False}, "complete step", False),
        ("worker", {"can_write_own_slot": False}, "report progress", False),
        ("worker", {"can_write_own_slot": False}, "publish artifact", False),
        ("worker", {"can_write_shared_memory": False}, "share fact", False),
        ("worker", {"can_read_other_slots": False}, "read other slots (one)", False),
        ("coordinator", {"can_merge": False}, "merge", False),
        ("coordinator", {"can_write_own_slot": False}, "complete step", False),
        ("coordinator", {"can_write_shared_memory": False}, "share fact", False),
        # Flags never grant management, and taking flags away never removes it.
        ("worker", {"can_merge": True}, "manage: lifecycle", False),
        (
            "coordinator",
            {"can_write_own_slot": False, "can_merge": False},
            "manage: update goal",
            True,
        ),
        # Observers never post messages, whatever their flags.
        ("observer", {"can_write_own_slot": True}, "post message", False),
    ],
)
def test_overrides_replace_the_role_defaults(arena, role, overrides, operation, allowed):
    handle = arena["join"](SUBJECT[role], role, **overrides)
    stored = Participant.objects.get(arena_id=arena["arena_id"], agent_id=SUBJECT[role])
    for name, value in overrides.items():
        assert getattr(stored, name) is value
    assert_outcome(handle, operation, arena, allowed)


def test_overrides_given_at_creation_are_stored(make_arena, manager):
    arena_id = make_arena(
        participants=[{"agent_id": "iso", "role": "worker", "can_read_other_slots": False}]
    )
    you = manager.handle(arena_id, "iso").detail()["you"]
    assert you["role"] == "worker"
    assert you["permissions"] == {
        "can_write_own_slot": True,
        "can_read_other_slots": False,
        "can_write_shared_memory": True,
        "can_merge": False,
    }


def test_partition_isolation_a_worker_sees_only_its_own_slot(arena, manager):
    isolated = arena["join"]("iso", "worker", can_read_other_slots=False)
    own = isolated.publish_artifact("text", "Mine", "mine")

    assert [a.id for a in isolated.artifacts()] == [own.id]
    assert [a.id for a in isolated.artifacts(agent="iso")] == [own.id]
    assert isolated.artifact(own.id).content == "mine"
    with pytest.raises(PermissionDenied):
        isolated.artifacts(agent="peer")
    with pytest.raises(PermissionDenied):
        isolated.artifact(arena["peer_artifact"])
    # The others still read the isolated worker's slot.
    peer = manager.handle(arena["arena_id"], "peer")
    assert {a.id for a in peer.artifacts()} == {own.id, arena["peer_artifact"]}


def test_staff_manage_every_arena_but_own_no_slot(arena, manager):
    staff = manager.staff_handle(arena["arena_id"], "root")
    staff.update_goal("Steered by a person")
    event = staff.post_message("Please focus on step 3.", to="peer")
    assert event.actor == "staff:root"
    assert event.data == {"agent_id": None, "to": "peer", "text": "Please focus on step 3."}
    assert [a.id for a in staff.artifacts()] == [arena["peer_artifact"]]
    for operation in ("complete step", "publish artifact", "share fact", "merge"):
        with pytest.raises(PermissionDenied):
            OPERATIONS[operation](staff, arena)
    staff.act("settle")
    assert Event.objects.filter(arena_id=arena["arena_id"]).last().actor == "staff:root"


def _every_operation_of(handle: ArenaHandle, context: dict) -> list[Callable[[], Any]]:
    reads = [
        handle.arena,
        handle.detail,
        handle.aggregate,
        handle.events,
        handle.participants,
        handle.steps,
        lambda: list(handle.artifacts()),
        lambda: list(handle.facts()),
        handle.leave,
    ]
    return reads + [lambda op=op: op(handle, context) for op in OPERATIONS.values()]


def test_a_non_participant_gets_not_found_for_everything(arena, make_agent, manager):
    make_agent("stranger")
    arena_id = arena["arena_id"]
    with pytest.raises(NotFound):
        manager.handle(arena_id, "stranger")
    stranger = ArenaHandle(arena_id, agent_id="stranger")
    before = arena_row(arena_id)
    for call in _every_operation_of(stranger, arena):
        with pytest.raises(NotFound) as hidden:
            call()
        assert hidden.value.status == 404
    assert arena_row(arena_id) == before


def test_a_participant_that_left_is_a_non_participant_again(arena, manager):
    worker = arena["join"]("wally", "worker")
    worker.leave()
    with pytest.raises(NotFound):
        manager.handle(arena["arena_id"], "wally")
    for call in _every_operation_of(worker, arena):
        with pytest.raises(NotFound):
            call()
    # Being added again re-joins with the new role.
    manager.handle(arena["arena_id"], "alice").add_participant("wally", "observer")
    assert manager.handle(arena["arena_id"], "wally").detail()["you"]["role"] == "observer"
    assert_replay_matches(arena["arena_id"])


@pytest.mark.parametrize("arena_id", [uuid.uuid4(), "not-a-uuid", "", None, 42])
def test_an_arena_that_does_not_exist_is_not_found(db, manager, make_agent, arena_id):
    make_agent("alice")
    with pytest.raises(NotFound):
        manager.handle(arena_id, "alice")
    with pytest.raises(NotFound):
        manager.staff_handle(arena_id, "root")


def test_only_a_coordinator_removes_others_but_anyone_may_leave(arena, manager):
    worker = arena["join"]("wally", "worker")
    with pytest.raises(PermissionDenied):
        worker.remove_participant("peer")
    worker.leave()
    assert not Participant.objects.filter(
        arena_id=arena["arena_id"], agent_id="wally", left_at__isnull=True
    ).exists()


def test_the_last_coordinator_cannot_leave(arena, manager):
    alice = manager.handle(arena["arena_id"], "alice")
    before = arena_row(arena["arena_id"])
    with pytest.raises(LastCoordinator) as refused:
        alice.leave()
    assert refused.value.status == 409
    assert refused.value.code == "last_coordinator"
    assert arena_row(arena["arena_id"]) == before
    with pytest.raises(LastCoordinator):
        manager.staff_handle(arena["arena_id"], "root").remove_participant("alice")

    arena["join"]("carol", "coordinator")
    alice.leave()
    with pytest.raises(LastCoordinator):
        manager.handle(arena["arena_id"], "carol").leave()
    assert_replay_matches(arena["arena_id"])
