"""What each hand-written statement of `arenas/sql.py` saves: µs of wall time per call of
the function against its ORM equivalent (`function.orm`), in the same process, on the same
fresh database, in the same run.

In-process, no server: Django is set up against a fresh database (SQLite file, or a
PostgreSQL database of its own with the pool and prepared statements as in production), an
arena with a titled plan is created through the domain, and each pair is timed over
`--calls` calls after a warm-up (the statement prepared on PostgreSQL). Writes (the
inserts, the arena update, ending a claim) run inside one transaction per batch that is
rolled back.

    .venv/bin/python bench/sql.py                 # SQLite and PostgreSQL
    .venv/bin/python bench/sql.py --db postgres --calls 5000
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from typing import Any

import common


def per_call(fn: Callable[[], Any], calls: int) -> float:
    """Median of five rounds of `calls // 5` calls, in µs per call."""
    for _ in range(20):
        fn()
    rounds = []
    size = max(1, calls // 5)
    for _ in range(5):
        start = time.perf_counter()
        for _ in range(size):
            fn()
        rounds.append((time.perf_counter() - start) / size)
    return sorted(rounds)[2] * 1e6


def measure(database: common.Database, calls: int) -> None:
    os.environ.update(database.env())
    import django

    django.setup()
    from django.db import connection, transaction
    from django.utils import timezone

    from arenas import agents, sql
    from arenas.manager import ArenaManager
    from arenas.models import Event, StepCompletion, UsageReport

    agent = agents.create_agent(f"bench-{uuid.uuid4().hex[:8]}")
    token, _ = agents.issue_token(agent)
    manager = ArenaManager()
    arena_id = manager.create(
        {
            "goal": "Measure the statements",
            "plan": [
                {"title": f"step {n}", "depends_on": [n - 1] if n > 1 else []} for n in range(1, 51)
            ],
        },
        created_by=agent.agent_id,
    )
    handle = manager.handle(arena_id, agent.agent_id)
    handle.act("activate")
    for step in range(1, 21):
        handle.complete_step(step)
    untitled = manager.create(
        {"goal": "A long untitled plan", "total_steps": 1000}, created_by=agent.agent_id
    )
    worker = manager.handle(untitled, agent.agent_id)
    worker.act("activate")
    for step in range(1, 501):
        worker.complete_step(step)
    held, _event = worker.claim_step(501)  # live: ending it in a batch is rolled back
    digest = agents.digest(token)
    arena = sql.lock_arena(arena_id)
    seq = iter(range(10**6, 10**9))
    step = iter(range(10**6, 10**9))

    def event() -> Event:
        return Event(
            arena_id=arena_id,
            seq=next(seq),
            type="message_posted",
            timestamp=timezone.now(),
            actor=agent.agent_id,
            data={"agent_id": agent.agent_id, "to": None, "text": "hello"},
        )

    def completion() -> StepCompletion:
        return StepCompletion(
            arena_id=arena_id, step=next(step), agent_id=agent.agent_id, completed_at=timezone.now()
        )

    me = sql.participation(arena_id, agent.agent_id)

    def report() -> UsageReport:
        me.usage = {"input_tokens": 900, "output_tokens": 80, "calls": 1, "cost_micro_usd": 1234}
        return UsageReport(
            arena_id=arena_id,
            seq=next(seq),
            agent_id=agent.agent_id,
            model="gpt-4o",
            input_tokens=900,
            output_tokens=80,
            cached_input_tokens=0,
            calls=1,
            cost_micro_usd=1234,
            priced=True,
            step=None,
            created_at=timezone.now(),
        )

    cases: list[tuple[str, Callable[..., Any], Callable[[], tuple]]] = [
        ("token_holder", sql.token_holder, lambda: (digest,)),
        ("lock_arena", sql.lock_arena, lambda: (arena_id,)),
        ("participation", sql.participation, lambda: (arena_id, agent.agent_id)),
        ("is_participant", sql.is_participant, lambda: (arena_id, agent.agent_id)),
        ("arena_exists", sql.arena_exists, lambda: (arena_id,)),
        ("current_agent_ids", sql.current_agent_ids, lambda: (arena_id,)),
        ("planned_step", sql.planned_step, lambda: (arena_id, 30)),
        ("completed_among", sql.completed_among, lambda: (arena_id, [21, 20])),
        ("insert_completion", sql.insert_completion, lambda: (completion(),)),
        ("insert_event", sql.insert_event, lambda: (event(),)),
        ("save_arena", sql.save_arena, lambda: (arena,)),
        ("record_usage", sql.record_usage, lambda: (me, report())),
        ("first_step", sql.first_step, lambda: (untitled, 490, True)),
        (
            "first_claimable_titled_step",
            sql.first_claimable_titled_step,
            lambda: (arena_id, 20, agent.agent_id, False),
        ),
        ("live_claim_on", sql.live_claim_on, lambda: (untitled, 501)),
        (
            "end_claim",
            sql.end_claim,
            lambda: (untitled, 501, held.claim_id, agent.agent_id, "completed", timezone.now()),
        ),
    ]
    assert {name for name, *_ in cases} == {f.__name__ for f in sql.STATEMENTS}, (
        "a statement is missing"
    )
    print(
        f"   {'statement':<28} {'sql.py':>9} {'ORM':>9} {'saved':>9}   µs per call, {calls} calls"
    )
    for name, function, arguments in cases:
        timings = []
        for candidate in (function, function.orm):
            with transaction.atomic():
                timings.append(per_call(lambda c=candidate, a=arguments: c(*a()), calls))
                transaction.set_rollback(True)
        fast, orm = timings
        print(f"   {name:<28} {fast:9.0f} {orm:9.0f} {orm - fast:9.0f}")
    connection.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--calls", type=int, default=3000)
    args = parser.parse_args()
    if args.db == "both":
        # One process per database: Django is set up once per process.
        for kind in ("sqlite", "postgres"):
            command = [sys.executable, __file__, "--db", kind, "--calls", str(args.calls)]
            subprocess.run(command, check=True)
        return
    common.banner(f"sql.py statements against their ORM equivalents, {args.db}")
    database = common.fresh_database(args.db)
    try:
        measure(database, args.calls)
    finally:
        database.drop()


if __name__ == "__main__":
    main()
