"""Usage reports and claims racing on one arena with a budget: totals exact to
the micro-dollar, each announcement once, and no claim taken once the budget is used up,
whichever writer wins the lock."""

from __future__ import annotations

from collections import Counter

import pytest
from django.db import connections

from arenas.errors import BudgetExhausted
from arenas.models import Arena, Event, InputRequest
from arenas.usage import Totals
from tests.production.workload import run_threads

from .helpers import assert_replay_matches, assert_seq_gapless


def race(make_arena, manager, writers: int, rounds: int) -> None:
    names = [f"w{n:02d}" for n in range(writers)]
    arena_id = make_arena(
        status="active",
        total_steps=writers * rounds,
        participants=[{"agent_id": name, "role": "worker"} for name in names],
        budget={"cost_usd": "0.100000"},
    )
    outcomes: Counter[str] = Counter()

    def writer(index: int):
        def body() -> None:
            try:
                handle = manager.handle(arena_id, names[index])
                for _ in range(rounds):
                    handle.report_usage(
                        {
                            "model": "m",
                            "input_tokens": 3,
                            "output_tokens": 1,
                            "cost_usd": "0.001001",
                        }
                    )
                    try:
                        handle.claim_next()
                        outcomes["claimed"] += 1
                    except BudgetExhausted:
                        outcomes["refused"] += 1
            finally:
                connections.close_all()

        return body

    run_threads([writer(index) for index in range(writers)])

    reports = writers * rounds
    arena = Arena.objects.get(pk=arena_id)
    assert Totals.of(arena.usage) == Totals(3 * reports, reports, 0, reports, 1001 * reports, 0)
    assert_seq_gapless(arena_id)
    assert_replay_matches(arena_id)
    log = list(Event.objects.filter(arena=arena).order_by("seq").values_list("seq", "type"))
    exhausted = [seq for seq, type in log if type == "budget_exhausted"]
    assert len(exhausted) == 1
    assert [type for _, type in log].count("budget_warning") == 1
    assert not [seq for seq, type in log if type == "step_claimed" and seq > exhausted[0]]
    assert outcomes["refused"] > 0
    assert InputRequest.objects.filter(arena=arena, kind="budget").count() == 1


@pytest.mark.django_db(transaction=True)
def test_reports_and_claims_race_and_the_budget_holds(make_arena, manager):
    race(make_arena, manager, writers=4, rounds=30)


@pytest.mark.django_db(transaction=True)
def test_reports_and_claims_race_and_the_budget_holds_on_postgresql(postgres, make_arena, manager):
    race(make_arena, manager, writers=12, rounds=15)
