"""Counters at the u32 boundary: saturating, never wrapping; out-of-range values are refused
by the domain and, underneath it, by the database's check constraints."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, transaction

from arenas.aggregate import ArenaAggregate, saturating_add
from arenas.errors import Invalid
from arenas.inputs import U32_MAX
from arenas.models import Arena, Event, Fact, StepCompletion

from .helpers import arena_row

assert U32_MAX == 4_294_967_295


def test_saturating_add_sticks_at_the_maximum():
    assert saturating_add(0) == 1
    assert saturating_add(U32_MAX - 1) == U32_MAX
    assert saturating_add(U32_MAX) == U32_MAX
    assert saturating_add(U32_MAX - 2, 10) == U32_MAX


def test_completed_steps_saturates_at_u32_max_instead_of_wrapping(make_arena, manager):
    arena_id = make_arena(status="active", total_steps=0)
    Arena.objects.filter(pk=arena_id).update(completed_steps=U32_MAX - 1)
    handle = manager.handle(arena_id, "alice")

    done = handle.complete_step(1)
    event, aggregate = done.event, done.aggregate
    assert event.data["completed_steps"] == U32_MAX
    assert aggregate.completed_steps == U32_MAX

    done = handle.complete_step(U32_MAX)
    event, aggregate = done.event, done.aggregate
    assert event.data["completed_steps"] == U32_MAX
    assert aggregate.completed_steps == U32_MAX
    assert aggregate.progress == 0.0
    assert Arena.objects.get(pk=arena_id).completed_steps == U32_MAX
    assert StepCompletion.objects.filter(arena_id=arena_id).count() == 2


def test_progress_of_a_full_u32_plan_is_exact(make_arena, manager):
    arena_id = make_arena(status="active", total_steps=U32_MAX)
    Arena.objects.filter(pk=arena_id).update(completed_steps=U32_MAX - 1)
    aggregate = manager.handle(arena_id, "alice").complete_step(U32_MAX).aggregate
    assert aggregate.completed_steps == aggregate.total_steps == U32_MAX
    assert aggregate.progress == 1.0
    assert ArenaAggregate.of(Arena.objects.get(pk=arena_id)).as_dict()["progress"] == 1.0


@pytest.mark.parametrize("total_steps", [0, 1, U32_MAX])
def test_total_steps_in_range_is_accepted(make_agent, manager, total_steps):
    make_agent("alice")
    arena_id = manager.create({"goal": "g", "total_steps": total_steps}, created_by="alice")
    assert Arena.objects.get(pk=arena_id).total_steps == total_steps


@pytest.mark.parametrize("total_steps", [-1, U32_MAX + 1, 2**63, -(2**63), 1.5, "10", True, None])
def test_total_steps_out_of_range_is_refused_and_creates_nothing(make_agent, manager, total_steps):
    make_agent("alice")
    with pytest.raises(Invalid) as refused:
        manager.create({"goal": "g", "total_steps": total_steps}, created_by="alice")
    assert "total_steps" in refused.value.fields
    assert not Arena.objects.exists()
    assert not Event.objects.exists()


@pytest.mark.parametrize("step", [0, -1, U32_MAX + 1, 2**64, 1.0, "1", True, None])
def test_a_step_number_outside_u32_is_refused_on_an_open_ended_plan(make_arena, manager, step):
    arena_id = make_arena(status="active", total_steps=0)
    before = arena_row(arena_id)
    with pytest.raises(Invalid) as refused:
        manager.handle(arena_id, "alice").complete_step(step)
    assert refused.value.status == 400
    assert "step" in refused.value.fields
    assert arena_row(arena_id) == before


@pytest.mark.parametrize("step", [0, 11, U32_MAX])
def test_a_step_outside_the_plan_is_refused(make_arena, manager, step):
    arena_id = make_arena(status="active", total_steps=10)
    before = arena_row(arena_id)
    with pytest.raises(Invalid):
        manager.handle(arena_id, "alice").complete_step(step)
    assert arena_row(arena_id) == before


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("completed_steps", U32_MAX + 1),
        ("completed_steps", -1),
        ("total_steps", U32_MAX + 1),
        ("total_steps", -1),
        ("last_seq", -1),
        ("status", "paused"),
        ("strategy", "swarm"),
    ],
)
def test_the_database_refuses_out_of_range_arena_columns(make_arena, field, value):
    arena_id = make_arena()
    with pytest.raises(IntegrityError), transaction.atomic():
        Arena.objects.filter(pk=arena_id).update(**{field: value})
    assert Arena.objects.get(pk=arena_id).completed_steps == 0


@pytest.mark.parametrize("step", [0, U32_MAX + 1])
def test_the_database_refuses_out_of_range_step_completions(make_arena, step):
    arena_id = make_arena(status="active")
    with pytest.raises(IntegrityError), transaction.atomic():
        StepCompletion.objects.create(arena_id=arena_id, step=step, agent_id="alice")


def test_the_database_refuses_a_second_completion_of_one_step(make_arena, manager):
    arena_id = make_arena(status="active")
    manager.handle(arena_id, "alice").complete_step(1)
    with pytest.raises(IntegrityError), transaction.atomic():
        StepCompletion.objects.create(arena_id=arena_id, step=1, agent_id="alice")


def test_the_database_refuses_a_repeated_seq(make_arena):
    arena_id = make_arena()
    with pytest.raises(IntegrityError), transaction.atomic():
        Event.objects.create(
            arena_id=arena_id, seq=1, type="goal_updated", timestamp="2026-01-01T00:00Z", data={}
        )


def test_the_database_refuses_a_confidence_outside_zero_to_one(make_arena, manager):
    arena_id = make_arena(status="active")
    fact = manager.handle(arena_id, "alice").share_fact("x", 0.5)
    with pytest.raises(IntegrityError), transaction.atomic():
        Fact.objects.filter(pk=fact.pk).update(confidence=1.5)
