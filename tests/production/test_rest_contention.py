"""Contention through the real server: 16 clients × 50 step completions over HTTP at once,
against one process of each documented HTTP server (granian over WSGI, Daphne).

Every request must be answered 201 (no 5xx, no 429: throttling is off here), every
acknowledged completion must be in the log exactly once with a gapless `seq`, and writers
of different arenas must not deadlock: each write locks only its own arena's row. Runs on
SQLite and on PostgreSQL (with psycopg's pool, as docs/deploy.md recommends).
"""

from __future__ import annotations

import os
import random
from collections import Counter

import pytest

from .client import assert_arena_consistent
from .conftest import WORKERS
from .workload import ARENAS, PER_THREAD, THREADS, own_steps, run_threads, spread

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def pooled_on_postgresql() -> dict[str, str]:
    if os.environ.get("DATABASE_URL", "").startswith(("postgres://", "postgresql://")):
        return {"ALEPH_DB_POOL": "1"}
    return {}


def clients(server, tokens, connect_agent):
    """One HTTP client per writer thread, the workers' tokens taken in turn."""
    return [
        connect_agent(server, tokens[WORKERS[thread % len(WORKERS)]]) for thread in range(THREADS)
    ]


def test_parallel_step_completions_over_http_on_one_arena_are_all_counted(
    start_server, http_kind, tokens, connect_agent, live_db
):
    server = start_server(kind=http_kind)
    writers = clients(server, tokens, connect_agent)
    arena_id = connect_agent(server, tokens["lead"]).create_active_arena(
        THREADS * PER_THREAD, WORKERS
    )
    acknowledged: dict[int, int] = {}
    statuses: list[int] = []

    def writer(thread: int):
        def body() -> None:
            for step in own_steps(thread):
                response = writers[thread].complete_step(arena_id, step)
                statuses.append(response.status_code)
                if response.status_code == 201:
                    acknowledged[step] = response.json()["event"]["seq"]

        return body

    run_threads([writer(thread) for thread in range(THREADS)])

    assert Counter(statuses) == {201: THREADS * PER_THREAD}
    lead = connect_agent(server, tokens["lead"])
    assert assert_arena_consistent(lead, arena_id) == set(range(1, THREADS * PER_THREAD + 1))
    stored = {e["step"]: e["seq"] for e in lead.events(arena_id) if e["type"] == "step_completed"}
    assert stored == acknowledged
    assert "match" in live_db.manage("verify_arenas")


def test_clients_racing_for_the_same_steps_get_one_201_and_409s(
    start_server, http_kind, tokens, connect_agent
):
    server = start_server(kind=http_kind)
    writers = clients(server, tokens, connect_agent)
    arena_id = connect_agent(server, tokens["lead"]).create_active_arena(PER_THREAD, WORKERS)
    outcomes: list[tuple[int, str | None]] = []

    def writer(thread: int):
        steps = own_steps(0)
        random.Random(thread).shuffle(steps)

        def body() -> None:
            for step in steps:
                response = writers[thread].complete_step(arena_id, step)
                error = response.json().get("error") if response.status_code != 201 else None
                outcomes.append((response.status_code, error))

        return body

    run_threads([writer(thread) for thread in range(THREADS)])

    assert Counter(outcomes) == {
        (201, None): PER_THREAD,
        (409, "step_already_completed"): (THREADS - 1) * PER_THREAD,
    }
    lead = connect_agent(server, tokens["lead"])
    assert assert_arena_consistent(lead, arena_id) == set(range(1, PER_THREAD + 1))


def test_parallel_writers_over_http_on_several_arenas_neither_deadlock_nor_lose_updates(
    start_server, http_kind, tokens, connect_agent, live_db
):
    server = start_server(kind=http_kind, **pooled_on_postgresql())
    writers = clients(server, tokens, connect_agent)
    lead = connect_agent(server, tokens["lead"])
    arena_ids = [lead.create_active_arena(THREADS * PER_THREAD, WORKERS) for _ in range(ARENAS)]
    plan = spread()
    statuses: list[int] = []

    def writer(thread: int):
        def body() -> None:
            for arena_index, step in plan[thread]:
                response = writers[thread].complete_step(arena_ids[arena_index], step)
                statuses.append(response.status_code)

        return body

    run_threads([writer(thread) for thread in range(THREADS)])

    assert Counter(statuses) == {201: THREADS * PER_THREAD}
    for index, arena_id in enumerate(arena_ids):
        expected = {step for writes in plan for arena, step in writes if arena == index}
        assert assert_arena_consistent(lead, arena_id) == expected
    assert "match" in live_db.manage("verify_arenas")
