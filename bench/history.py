"""History: the state of an arena at a seq, and a fork from it.

An active open-ended arena of four agents gets `--mixed` writes through the domain (claims,
progress, messages, completions, artifacts and facts), then step events in bulk up to
`--events` (the 10,000-event arena) and on to `--large` (the 100,000-event arena). Timed in
a process of its own on the database, through `ArenaHandle.state(at)` encoded to JSON (the
work of GET /api/arenas/{id}/state/?at= without HTTP) and `ArenaHandle.fork(at)`:

- the state at the middle of the `--events` arena, `--rounds` calls: p50 / p99;
- a fork of that arena at its middle;
- the state at the end of the `--large` arena, 5 calls.

    .venv/bin/python bench/history.py --db postgres
"""

from __future__ import annotations

import statistics

import common


def measure(db_kind: str, tree: common.Tree, args) -> dict:
    database = common.fresh_database(db_kind, tree)
    config = ", ".join(part for part in (db_kind, tree.label) if part)
    try:
        seed = common.run_in_tree(database, "mixed", writes=args.mixed)
        arena_id, agent = seed["arena_id"], seed["agent"]

        def grow_to(total: int) -> int:
            have = common.run_in_tree(database, "last_seq", arena_id=arena_id)
            if total > have:
                common.run_in_tree(
                    database, "step_events", arena_id=arena_id, agent_id=agent, count=total - have
                )
            return common.run_in_tree(database, "last_seq", arena_id=arena_id)

        last = grow_to(args.events)
        print(f"-- {config}: {last} events ({seed['last_seq']} written through the domain)")
        print(f"   load {common.load_average()}")
        middle = last // 2
        state = common.run_in_tree(
            database, "state", arena_id=arena_id, at=middle, rounds=args.rounds
        )
        mid, mid_cpu = state["seconds"], state["cpu"]
        print(f"   state at seq {middle}: {common.summary_ms(mid)}  ({state['bytes']} bytes)")
        print(f"     CPU time of this process per call: {common.summary_ms(mid_cpu)}")
        fork = common.run_in_tree(database, "fork", arena_id=arena_id, at=middle)
        print(
            f"   fork at seq {middle}: {fork['seconds'] * 1000:.0f} ms, CPU "
            f"{fork['cpu'] * 1000:.0f} ms (the fork's log: {fork['fork_last_seq']} events)"
        )
        large = grow_to(args.large)
        end = common.run_in_tree(database, "state", arena_id=arena_id, at=large, rounds=5)
        print(f"   state at seq {large} (the end): {common.summary_ms(end['seconds'])}")
        print(f"     CPU time of this process per call: {common.summary_ms(end['cpu'])}")
        return {
            "config": config,
            "events": last,
            "mid_p50": common.percentile(mid, 50),
            "mid_p99": common.percentile(mid, 99),
            "mid_cpu_p50": common.percentile(mid_cpu, 50),
            "mid_cpu_p99": common.percentile(mid_cpu, 99),
            "fork": fork["seconds"],
            "fork_cpu": fork["cpu"],
            "large": large,
            "end_p50": statistics.median(end["seconds"]),
            "end_cpu_p50": statistics.median(end["cpu"]),
        }
    finally:
        database.drop()


def main() -> None:
    parser = common.argument_parser(__doc__, "daphne")
    parser.add_argument("--mixed", type=int, default=2_000, help="writes through the domain")
    parser.add_argument(
        "--events", type=int, default=10_000, help="the arena of the state and fork"
    )
    parser.add_argument("--large", type=int, default=100_000, help="the arena of the last state")
    parser.add_argument("--rounds", type=int, default=50)
    args = common.begin(parser, "history: the state at a seq, and a fork from it")
    results = [
        measure(db_kind, tree, args)
        for db_kind in common.database_kinds(args)
        for tree in common.trees(args)
    ]
    common.print_summary(
        "",
        [
            f"{r['config']:<12} state at the middle of {r['events']} events: p50 "
            f"{r['mid_p50'] * 1000:.0f} ms, p99 {r['mid_p99'] * 1000:.0f} ms (CPU p50 "
            f"{r['mid_cpu_p50'] * 1000:.0f}, p99 {r['mid_cpu_p99'] * 1000:.0f}); fork there "
            f"{r['fork'] * 1000:.0f} ms (CPU {r['fork_cpu'] * 1000:.0f}); state at the end of "
            f"{r['large']} events: p50 {r['end_p50'] * 1000:.0f} ms (CPU "
            f"{r['end_cpu_p50'] * 1000:.0f})"
            for r in results
        ],
    )


if __name__ == "__main__":
    main()
