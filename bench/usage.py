"""What usage reports and budgets cost the write path, in-process, in one run:

- a usage report (with its cost, and priced from the model's name) against a message post,
  µs per call through the same `ArenaHandle` on the same database;
- claiming the next step in an arena with a budget against one without;
- `--agents` threads (one connection each) reporting usage into one arena with a budget for
  `--seconds`: reports/s, and the check that the totals are exact to the micro-dollar and
  the log gapless (`verify_arenas` on the arena).

No server: the web stack costs every write the same, so these ratios are the upper bound of
the ones a client sees.

    .venv/bin/python bench/usage.py                 # SQLite and PostgreSQL
    .venv/bin/python bench/usage.py --db postgres --calls 2000 --agents 32 --seconds 10
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

import common
from sql import per_call


def measure(database: common.Database, calls: int, agents: int, seconds: float) -> None:
    os.environ.update(database.env())
    import django

    django.setup()
    from django.db import connection, connections, transaction

    from arenas import agents as agent_store
    from arenas.management.commands.verify_arenas import verify
    from arenas.manager import ArenaManager
    from arenas.models import Arena, Event
    from arenas.usage import Totals

    manager = ArenaManager()
    names = [f"bench-{uuid.uuid4().hex[:6]}-{n:02d}" for n in range(max(agents, 1))]
    for name in names:
        agent_store.create_agent(name)
    lead = names[0]
    members = [{"agent_id": name, "role": "worker"} for name in names[1:]]

    def arena(**config: Any) -> Any:
        arena_id = manager.create(
            {"goal": "Measure usage", "total_steps": 0, "participants": members, **config},
            created_by=lead,
        )
        manager.handle(arena_id, lead).act("activate")
        return arena_id

    plain, budgeted = arena(), arena(budget={"cost_usd": "1000000", "tokens": 10**15})
    handle, limited = manager.handle(plain, lead), manager.handle(budgeted, lead)
    cases: list[tuple[str, Callable[[], Any]]] = [
        ("post a message", lambda: handle.post_message("hello")),
        (
            "report usage, cost given",
            lambda: handle.report_usage(
                {
                    "model": "house-model",
                    "input_tokens": 900,
                    "output_tokens": 80,
                    "cost_usd": "0.001234",
                }
            ),
        ),
        (
            "report usage, priced",
            lambda: handle.report_usage(
                {
                    "model": "gpt-4o",
                    "input_tokens": 900,
                    "output_tokens": 80,
                    "cached_input_tokens": 300,
                }
            ),
        ),
        ("claim next, no budget", lambda: handle.claim_next()),
        ("claim next, with a budget", lambda: limited.claim_next()),
    ]
    timings = {}
    print(f"   {'operation':<28} {'µs/call':>9}   {calls} calls, median of 5 rounds")
    for name, call in cases:
        with transaction.atomic():
            timings[name] = per_call(call, calls)
            transaction.set_rollback(True)
        print(f"   {name:<28} {timings[name]:9.0f}")
    message = timings["post a message"]
    print(
        f"   usage report / message: {timings['report usage, cost given'] / message:.2f} "
        f"(cost given), {timings['report usage, priced'] / message:.2f} (priced)"
    )
    print(
        "   claim with a budget / without: "
        f"{timings['claim next, with a budget'] / timings['claim next, no budget']:.2f}"
    )

    if agents:
        crowd = arena(budget={"cost_usd": "1000"})
        stop = time.monotonic() + seconds
        counts = [0] * agents

        def reporter(index: int) -> None:
            try:
                mine = manager.handle(crowd, names[index])
                while time.monotonic() < stop:
                    mine.report_usage(
                        {
                            "model": "m",
                            "input_tokens": 7,
                            "output_tokens": 3,
                            "cost_usd": "0.000013",
                        }
                    )
                    counts[index] += 1
            finally:
                connections.close_all()

        threads = [threading.Thread(target=reporter, args=(i,)) for i in range(agents)]
        started = time.monotonic()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        elapsed = time.monotonic() - started
        reports = sum(counts)
        totals = Totals.of(Arena.objects.get(pk=crowd).usage)
        expected = Totals(7 * reports, 3 * reports, 0, reports, 13 * reports, 0)
        seqs = list(
            Event.objects.filter(arena_id=crowd).order_by("seq").values_list("seq", flat=True)
        )
        problems = verify(crowd)
        print(
            f"   {agents} agents reporting for {seconds:.0f} s: {reports} reports, "
            f"{reports / elapsed:.0f}/s; totals exact: {totals == expected} "
            f"(${totals.wire()['cost_usd']}); log gapless: {seqs == list(range(1, len(seqs) + 1))}"
            f"; verify_arenas: {problems or 'ok'}"
        )
    connection.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--agents", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=10.0)
    args = parser.parse_args()
    if args.db == "both":
        for kind in ("sqlite", "postgres"):
            command = [
                sys.executable,
                __file__,
                "--db",
                kind,
                "--calls",
                str(args.calls),
                "--agents",
                str(args.agents),
                "--seconds",
                str(args.seconds),
            ]
            subprocess.run(command, check=True)
        return
    common.banner(f"usage.py: usage reports and budgets on the write path, {args.db}")
    database = common.fresh_database(args.db)
    try:
        measure(database, args.calls, args.agents, args.seconds)
    finally:
        database.drop()


if __name__ == "__main__":
    main()
