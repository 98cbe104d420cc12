"""Steps: completing once, plans with assignees and dependencies, pipelines."""

from __future__ import annotations

import pytest

from arenas.errors import Invalid, PermissionDenied, StepAlreadyCompleted, StepBlocked
from arenas.models import Arena, StepCompletion

from .helpers import arena_row, assert_replay_matches

PLAN = [
    {"title": "Collect sources", "assignee": "bob"},
    {"title": "Read them", "assignee": None, "depends_on": [1]},
    {"title": "Summarise", "depends_on": [1, 2]},
]


@pytest.fixture
def planned(make_arena, manager):
    arena_id = make_arena(
        status="active",
        plan=PLAN,
        participants=[{"agent_id": "bob", "role": "worker"}, {"agent_id": "eve", "role": "worker"}],
    )
    return arena_id, {a: manager.handle(arena_id, a) for a in ("alice", "bob", "eve")}


def test_a_step_completes_once_and_then_conflicts(make_arena, manager):
    arena_id = make_arena(status="active", total_steps=3)
    handle = manager.handle(arena_id, "alice")
    done = handle.complete_step(2)
    event, aggregate = done.event, done.aggregate
    assert (event.type, event.data["step"], aggregate.completed_steps) == ("step_completed", 2, 1)
    assert aggregate.progress == pytest.approx(1 / 3)
    before = arena_row(arena_id)
    with pytest.raises(StepAlreadyCompleted) as refused:
        handle.complete_step(2)
    assert (refused.value.status, refused.value.code) == (409, "step_already_completed")
    assert arena_row(arena_id) == before


def test_a_plan_sets_total_steps_and_lists_titles_assignees_and_dependencies(planned):
    arena_id, h = planned
    assert Arena.objects.get(pk=arena_id).total_steps == 3
    page, after = h["eve"].steps()
    assert after is None
    assert [(s["step"], s["title"], s["assignee"], s["depends_on"]) for s in page] == [
        (1, "Collect sources", "bob", []),
        (2, "Read them", None, [1]),
        (3, "Summarise", None, [1, 2]),
    ]


def test_an_assigned_step_belongs_to_its_assignee_and_the_coordinator(planned):
    arena_id, h = planned
    with pytest.raises(PermissionDenied):
        h["eve"].complete_step(1)
    assert not StepCompletion.objects.filter(arena_id=arena_id).exists()
    h["bob"].complete_step(1)
    assert StepCompletion.objects.get(arena_id=arena_id, step=1).agent_id == "bob"


def test_the_coordinator_may_complete_a_step_assigned_to_another(planned):
    _, h = planned
    event = h["alice"].complete_step(1).event
    assert event.data["agent_id"] == "alice"


def test_a_step_is_blocked_until_its_dependencies_are_done(planned):
    arena_id, h = planned
    with pytest.raises(StepBlocked) as blocked:
        h["eve"].complete_step(3)
    assert blocked.value.extra == {"waiting_for": [1, 2]}
    assert (blocked.value.status, blocked.value.code) == (409, "step_blocked")
    h["bob"].complete_step(1)
    with pytest.raises(StepBlocked) as blocked:
        h["eve"].complete_step(3)
    assert blocked.value.extra == {"waiting_for": [2]}
    h["eve"].complete_step(2)
    h["eve"].complete_step(3)
    page, _ = h["eve"].steps()
    assert [(s["completed"], s["completed_by"]) for s in page] == [
        (True, "bob"),
        (True, "eve"),
        (True, "eve"),
    ]
    assert_replay_matches(arena_id)


def test_a_pipeline_runs_each_step_after_the_one_before(make_arena, manager):
    arena_id = make_arena(status="active", strategy="pipeline", total_steps=3)
    handle = manager.handle(arena_id, "alice")
    with pytest.raises(StepBlocked):
        handle.complete_step(2)
    handle.complete_step(1)
    handle.complete_step(2)
    page, _ = handle.steps()
    assert [s["depends_on"] for s in page] == [[], [1], [2]]


def test_a_pipeline_plan_adds_the_previous_step_to_each_dependency(make_arena, manager):
    arena_id = make_arena(
        status="active",
        strategy="pipeline",
        plan=[{"title": "a"}, {"title": "b"}, {"title": "c", "depends_on": [1]}],
    )
    page, _ = manager.handle(arena_id, "alice").steps()
    assert [s["depends_on"] for s in page] == [[], [1], [1, 2]]


@pytest.mark.parametrize(
    "plan",
    [
        [{"title": "a", "depends_on": [1]}],
        [{"title": "a", "depends_on": [2]}, {"title": "b", "depends_on": [1]}],
        [{"title": "a", "depends_on": [3]}],
        [{"title": "a", "depends_on": [0]}],
        [{"title": "a", "assignee": "Not An Id"}],
        [{"title": "a", "assignee": "ghost"}],
        [{"title": "a", "colour": "red"}],
        ["a"],
        "a",
    ],
)
def test_a_malformed_plan_is_refused_and_creates_nothing(make_agent, manager, plan):
    make_agent("alice")
    with pytest.raises(Invalid):
        manager.create({"goal": "g", "plan": plan}, created_by="alice")
    assert not Arena.objects.exists()


def test_total_steps_and_a_plan_must_agree(make_agent, manager):
    make_agent("alice")
    with pytest.raises(Invalid) as refused:
        manager.create(
            {"goal": "g", "plan": [{"title": "a"}], "total_steps": 2}, created_by="alice"
        )
    assert "total_steps" in refused.value.fields
