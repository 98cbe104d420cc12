"""Concurrent writers through the domain: threads, each with a database connection of its
own, complete steps on the same arenas at once ("no lost update").

On PostgreSQL the writers serialise on the arena's row lock (`select_for_update`); on SQLite
on the IMMEDIATE write transaction and the busy timeout. Either way every completion must be
counted, `seq` must run 1..n without a gap, and writers of different arenas must never wait
for one another in a cycle (each write locks only its own arena's row).
"""

from __future__ import annotations

import random
from collections import Counter

import pytest
from django.db import connections

from arenas.aggregate import ArenaAggregate, rebuild
from arenas.errors import StepAlreadyCompleted
from arenas.models import Arena, Event, EventType, StepCompletion

from .workload import ARENAS, PER_THREAD, THREADS, own_steps, run_threads, spread

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

WORKERS = [f"worker-{n:02d}" for n in range(THREADS)]


@pytest.fixture
def arena_for_all(make_arena):
    """make() -> an active arena of 800 steps in which every worker takes part."""

    def make():
        return make_arena(
            status="active",
            total_steps=THREADS * PER_THREAD,
            participants=[{"agent_id": worker, "role": "worker"} for worker in WORKERS],
        )

    return make


def in_own_connection(body):
    """A thread body that closes the connections its thread opened."""

    def run() -> None:
        try:
            body()
        finally:
            connections.close_all()

    return run


def assert_log_matches(arena_id, completed_steps: set[int]) -> None:
    """The arena counts exactly `completed_steps`, each with one completion row and one
    `step_completed` event, in a gapless log that replays to the stored aggregate."""
    arena = Arena.objects.get(pk=arena_id)
    assert arena.completed_steps == len(completed_steps)
    rows = list(StepCompletion.objects.filter(arena=arena).values_list("step", flat=True))
    assert sorted(rows) == sorted(completed_steps)
    seqs = list(Event.objects.filter(arena=arena).order_by("seq").values_list("seq", flat=True))
    assert seqs == list(range(1, arena.last_seq + 1))
    steps = Event.objects.filter(arena=arena, type=EventType.STEP_COMPLETED).order_by("seq")
    data = [event.data for event in steps]
    assert Counter(d["step"] for d in data) == Counter(completed_steps)
    # Serialised writers: the n-th completion in commit order saw exactly n-1 before it.
    assert [d["completed_steps"] for d in data] == list(range(1, len(completed_steps) + 1))
    assert rebuild(arena.id) == ArenaAggregate.of(arena)


def test_parallel_step_completions_on_one_arena_are_all_counted(manager, arena_for_all):
    arena_id = arena_for_all()

    def writer(thread: int):
        def body() -> None:
            handle = manager.handle(arena_id, WORKERS[thread])
            for step in own_steps(thread):
                handle.complete_step(step)

        return in_own_connection(body)

    run_threads([writer(thread) for thread in range(THREADS)])

    assert_log_matches(arena_id, set(range(1, THREADS * PER_THREAD + 1)))


def test_writers_racing_for_the_same_steps_complete_each_exactly_once(manager, arena_for_all):
    arena_id = arena_for_all()
    outcomes: Counter[str] = Counter()

    def writer(thread: int):
        steps = list(range(1, PER_THREAD + 1))
        random.Random(thread).shuffle(steps)

        def body() -> None:
            handle = manager.handle(arena_id, WORKERS[thread])
            for step in steps:
                try:
                    handle.complete_step(step)
                    outcomes["completed"] += 1
                except StepAlreadyCompleted:
                    outcomes["already_completed"] += 1

        return in_own_connection(body)

    run_threads([writer(thread) for thread in range(THREADS)])

    assert outcomes == {"completed": PER_THREAD, "already_completed": (THREADS - 1) * PER_THREAD}
    assert_log_matches(arena_id, set(range(1, PER_THREAD + 1)))


def test_parallel_writers_on_several_arenas_neither_deadlock_nor_lose_updates(
    manager, arena_for_all
):
    arena_ids = [arena_for_all() for _ in range(ARENAS)]
    plan = spread()

    def writer(thread: int):
        def body() -> None:
            handles = [manager.handle(arena_id, WORKERS[thread]) for arena_id in arena_ids]
            for arena_index, step in plan[thread]:
                handles[arena_index].complete_step(step)

        return in_own_connection(body)

    run_threads([writer(thread) for thread in range(THREADS)])

    for index, arena_id in enumerate(arena_ids):
        expected = {step for writes in plan for arena, step in writes if arena == index}
        assert_log_matches(arena_id, expected)
