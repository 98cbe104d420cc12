"""Workers dividing one plan at once through claims/next, on PostgreSQL: threads
with database connections of their own claim, complete and claim again on one arena. Each
step is claimed once and completed once, by its claimer, and `seq` stays gapless; expiry
sweeps racing each other record each expiry once."""

from __future__ import annotations

import threading
from collections import Counter
from datetime import timedelta

import pytest
from django.db import connections
from django.utils import timezone

from arenas import claims
from arenas.models import Claim, Event, EventType, StepCompletion

from ..domain.helpers import assert_replay_matches, assert_seq_gapless
from .workload import run_threads

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

WORKERS = [f"worker-{n:02d}" for n in range(12)]
STEPS = 240


@pytest.mark.parametrize("plan", ["untitled", "titled"])
def test_workers_calling_claims_next_at_once_never_share_a_step(
    postgres, make_arena, manager, plan
):
    config = (
        {"total_steps": STEPS}
        if plan == "untitled"
        else {
            "plan": [
                {"title": f"s{n}", "depends_on": [n - 2] if n > 2 else []}
                for n in range(1, STEPS + 1)
            ]
        }
    )
    arena_id = make_arena(
        status="active",
        participants=[{"agent_id": worker, "role": "worker"} for worker in WORKERS],
        **config,
    )
    claimed: list[tuple[str, int]] = []
    lock = threading.Lock()

    def worker(agent_id: str):
        def body() -> None:
            handle = manager.handle(arena_id, agent_id)
            try:
                while True:
                    outcome = handle.claim_next()
                    if isinstance(outcome, claims.Vacancy):
                        if outcome.remaining == 0:
                            return
                        continue
                    claim, _event = outcome
                    with lock:
                        claimed.append((agent_id, claim.step))
                    handle.complete_step(claim.step, claim_id=claim.claim_id)
            finally:
                connections.close_all()

        return body

    run_threads([worker(agent_id) for agent_id in WORKERS])

    steps = Counter(step for _, step in claimed)
    assert sorted(steps) == list(range(1, STEPS + 1))
    assert set(steps.values()) == {1}
    completions = dict(
        StepCompletion.objects.filter(arena_id=arena_id).values_list("step", "agent_id")
    )
    assert completions == {step: agent_id for agent_id, step in claimed}
    assert Event.objects.filter(arena_id=arena_id, type=EventType.STEP_CLAIMED).count() == STEPS
    assert not Claim.objects.filter(arena_id=arena_id, ended_at__isnull=True).exists()
    assert len({agent_id for agent_id, _ in claimed}) > 1
    assert_seq_gapless(arena_id)
    assert_replay_matches(arena_id)


def test_sweeps_racing_each_other_record_each_expiry_once(postgres, make_arena, manager):
    arenas = [
        make_arena(
            status="active",
            total_steps=20,
            participants=[{"agent_id": worker, "role": "worker"} for worker in WORKERS[:4]],
        )
        for _ in range(3)
    ]
    for arena_id in arenas:
        for index, worker in enumerate(WORKERS[:4]):
            manager.handle(arena_id, worker).claim_step(index + 1, lease_seconds=5)
    later = timezone.now() + timedelta(seconds=6)
    counts: list[int] = []

    def sweeper() -> None:
        try:
            counts.append(claims.sweep(later))
        finally:
            connections.close_all()

    run_threads([sweeper for _ in range(6)])

    assert sum(counts) == 12
    for arena_id in arenas:
        expired = Event.objects.filter(arena_id=arena_id, type=EventType.CLAIM_EXPIRED)
        assert sorted(e.data["step"] for e in expired) == [1, 2, 3, 4]
        assert_seq_gapless(arena_id)
