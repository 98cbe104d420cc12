"""Parallel writers on one arena, one database connection per thread: every kind of write
serialises on the arena, so counters and `seq` stay exact and no step completes twice.

The heavy variants (16 writers × 50 steps, several arenas) live in
tests/production/test_domain_contention.py; this one mixes every write of a slot."""

from __future__ import annotations

from collections import Counter

import pytest
from django.db import connections

from arenas.errors import StepAlreadyCompleted
from arenas.models import Arena, Event, StepCompletion
from tests.production.workload import run_threads

from .helpers import assert_replay_matches, assert_seq_gapless

CONTESTED_STEP = 1


def run_mixed_writers(make_arena, manager, writers: int, rounds: int) -> None:
    """`writers` threads each complete `rounds` steps of their own, report progress, share a
    fact and post a message per round, and all race for step 1; then check the arena."""
    names = [f"w{n:02d}" for n in range(writers)]
    arena_id = make_arena(
        status="active",
        total_steps=1 + writers * rounds,
        participants=[{"agent_id": name, "role": "worker"} for name in names],
    )
    base_seq = Arena.objects.get(pk=arena_id).last_seq
    contested: Counter[str] = Counter()

    def writer(index: int):
        def body() -> None:
            try:
                handle = manager.handle(arena_id, names[index])
                try:
                    handle.complete_step(CONTESTED_STEP)
                    contested["won"] += 1
                except StepAlreadyCompleted:
                    contested["lost"] += 1
                for r in range(rounds):
                    handle.complete_step(2 + index * rounds + r)
                    handle.report_progress(f"round {r}", "working")
                    handle.share_fact(f"{names[index]} fact {r}")
                    handle.post_message(f"{names[index]} says {r}")
            finally:
                connections.close_all()

        return body

    run_threads([writer(index) for index in range(writers)])

    arena = Arena.objects.get(pk=arena_id)
    assert contested == {"won": 1, "lost": writers - 1}
    assert arena.completed_steps == 1 + writers * rounds
    assert StepCompletion.objects.filter(arena=arena).count() == arena.completed_steps
    assert StepCompletion.objects.filter(arena=arena, step=CONTESTED_STEP).count() == 1
    assert arena.last_seq == base_seq + 1 + 4 * writers * rounds
    assert_seq_gapless(arena_id)
    steps = Event.objects.filter(arena=arena, type="step_completed").order_by("seq")
    assert [e.data["completed_steps"] for e in steps] == list(range(1, arena.completed_steps + 1))
    assert sorted(e.data["step"] for e in steps) == list(range(1, arena.completed_steps + 1))
    assert_replay_matches(arena_id)


@pytest.mark.django_db(transaction=True)
def test_parallel_writers_keep_counters_and_seq_exact(make_arena, manager):
    run_mixed_writers(make_arena, manager, writers=6, rounds=4)


@pytest.mark.django_db(transaction=True)
def test_parallel_writers_keep_counters_and_seq_exact_on_postgresql(postgres, make_arena, manager):
    run_mixed_writers(make_arena, manager, writers=12, rounds=5)
