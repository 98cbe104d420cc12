"""Forks: a new `created` arena from another's state at a seq, established by its own log."""

from __future__ import annotations

import pytest
from django.core.management import call_command

from arenas.errors import Invalid, NotFound, PermissionDenied
from arenas.history import state as history_state
from arenas.manager import ArenaManager
from arenas.models import Arena, Artifact, Claim, Event, Fact, InputRequest
from tests.domain.helpers import arena_row, assert_replay_matches, event_types

from .histories import random_history

pytestmark = pytest.mark.django_db


def state(arena_id, at=None):
    return history_state.wire(history_state.at(arena_id, at), None)


def comparable(s):
    """What a fork keeps of a state: participants then (no times), completed steps and
    who completed them, artifacts and facts (no ids or times)."""
    return {
        "goal": s["arena"]["goal"],
        "strategy": s["arena"]["strategy"],
        "total_steps": s["arena"]["total_steps"],
        "completed_steps": s["arena"]["completed_steps"],
        "lease_seconds": s["arena"]["lease_seconds"],
        "participants": [
            {k: p[k] for k in ("agent_id", "role", "permissions", "slot_status", "current")}
            for p in s["participants"]
            if p["left_at"] is None
        ],
        "completed": [(p["step"], p["completed_by"]) for p in s["plan"] if p["completed"]],
        "titles": [
            (p["step"], p["title"], p["assignee"], p["depends_on"])
            for p in s["plan"]
            if p["title"] or p["completed"]
        ],
        "artifacts": [(a["agent_id"], a["kind"], a["title"]) for a in s["artifacts"]],
        "facts": [(f["source_agent"], f["content"], f["tags"]) for f in s["facts"]],
    }


@pytest.mark.parametrize("seed", range(6))
def test_a_fork_starts_from_the_state_at_its_seq(make_agent, seed):
    source = random_history(make_agent, seed)
    last = Arena.objects.get(pk=source).last_seq
    at = max(1, last // 2)
    then = state(source, at)
    fork = ArenaManager().staff_handle(source, "root").fork(at)
    fork_state = state(fork.pk)
    assert fork_state["arena"]["status"] == "created"
    assert fork_state["arena"]["forked_from"] == {"arena_id": str(source), "seq": at}
    assert fork_state["claims"] == [] and fork_state["requests"] == []
    assert comparable(fork_state) == comparable(then)
    assert not Claim.objects.filter(arena=fork).exists()
    assert not InputRequest.objects.filter(arena=fork).exists()
    copies = Artifact.objects.filter(arena=fork)
    originals = {str(a.pk) for a in Artifact.objects.filter(arena_id=source)}
    assert all(a.metadata["forked_from"] in originals for a in copies)
    assert Fact.objects.filter(arena=fork).count() == len(then["facts"])
    assert_replay_matches(fork.pk)
    assert_replay_matches(source)
    assert event_types(fork.pk)[0] == "arena_created"
    forked = Event.objects.get(arena_id=source, type="arena_forked")
    assert forked.data == {"fork_id": str(fork.pk), "at": at}
    detail = ArenaManager().staff_handle(source, "root").detail()
    assert detail["forks"] == [{"arena_id": str(fork.pk), "at": at}]
    call_command("verify_arenas")


def test_a_fork_with_a_goal_and_its_own_lifecycle(make_arena, manager):
    source = make_arena(status="active", total_steps=3)
    alice = manager.handle(source, "alice")
    alice.complete_step(1)
    fork = alice.fork(Arena.objects.get(pk=source).last_seq, "Try again")
    forked = manager.handle(fork.pk, "alice")
    assert forked.detail()["goal"] == "Try again"
    assert forked.detail()["completed_steps"] == 1
    forked.act("activate")
    forked.complete_step(2)
    assert_replay_matches(fork.pk)


def test_only_coordinators_and_staff_fork(make_arena, manager, make_agent):
    source = make_arena(status="active", participants=[{"agent_id": "bob", "role": "worker"}])
    make_agent("eve")
    before = arena_row(source)
    with pytest.raises(PermissionDenied):
        manager.handle(source, "bob").fork(1)
    with pytest.raises(NotFound):
        manager.handle(source, "eve", check_now=False).fork(1)
    for bad in (0, 99, "1", None):
        with pytest.raises(Invalid):
            manager.handle(source, "alice").fork(bad)
    with pytest.raises(Invalid):
        manager.handle(source, "alice").fork(1, "")
    assert arena_row(source) == before
    assert Arena.objects.count() == 1


def test_an_archived_arena_forks_and_the_forker_joins_the_fork(make_arena, manager, make_agent):
    source = make_arena(status="active", total_steps=2)
    alice = manager.handle(source, "alice")
    make_agent("carl")
    alice.add_participant("carl", "coordinator")
    alice.act("settle")
    alice.act("archive")
    fork = manager.handle(source, "carl").fork(2)
    participants = state(fork.pk)["participants"]
    assert [(p["agent_id"], p["role"]) for p in participants] == [
        ("alice", "coordinator"),
        ("carl", "coordinator"),
    ]
    assert Arena.objects.get(pk=fork.pk).created_by_id == "carl"
    assert_replay_matches(fork.pk)


def test_a_fork_copies_the_budget_then_and_starts_its_usage_at_zero(make_arena, manager):
    source = make_arena(
        status="active",
        total_steps=3,
        participants=[{"agent_id": "bob", "role": "worker"}],
        budget={"cost_usd": "1.00"},
    )
    alice, bob = manager.handle(source, "alice"), manager.handle(source, "bob")
    bob.report_usage({"model": "m", "input_tokens": 100, "output_tokens": 20, "cost_usd": "0.4"})
    at = Arena.objects.get(pk=source).last_seq
    alice.update({"budget": {"cost_usd": "5.00", "tokens": 9000}})
    bob.report_usage({"model": "m", "input_tokens": 50, "output_tokens": 5, "cost_usd": "0.3"})
    fork = alice.fork(at)
    stored = Arena.objects.get(pk=fork.pk)
    assert stored.budget == {"cost_usd": "1.000000"}
    assert stored.budget_marks == []
    forked = state(fork.pk)
    assert forked["arena"]["budget"] == {"cost_usd": "1.000000"}
    zero = forked["arena"]["usage"]
    assert zero["calls"] == 0 and zero["cost_usd"] == "0.000000"
    assert all(p["usage"] == zero for p in forked["participants"])
    assert [e for e in event_types(fork.pk) if e.startswith(("budget", "usage"))] == [
        "budget_changed"
    ]
    assert manager.handle(fork.pk, "bob").budget()["spent"]["arena"] == zero
    assert_replay_matches(fork.pk)
    call_command("verify_arenas")


def test_a_fork_before_any_budget_has_none(make_arena, manager):
    source = make_arena(status="active", total_steps=2)
    alice = manager.handle(source, "alice")
    alice.update({"budget": {"tokens": 500}})
    fork = alice.fork(1)
    assert Arena.objects.get(pk=fork.pk).budget is None
    assert "budget_changed" not in event_types(fork.pk)
    assert_replay_matches(fork.pk)
