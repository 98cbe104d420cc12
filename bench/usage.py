"""What usage reports and budgets cost, through the REST API of a live server:

- a usage report (`POST …/usage/`, with its cost, and priced from the model's name) against a
  message post (`POST …/messages/`), on the same server in the same run;
- claiming the next step (`POST …/claims/next/`) in an arena with a budget against one
  without;
- `--crowd` agents reporting usage into one arena with a budget for `--crowd-seconds`:
  reports/s, and the check that the totals are exact to the micro-dollar, the log gapless
  and `verify_arenas` clean.

Each operation is a closed loop of `--agents` agents, each on its own keep-alive connection
and in an arena of its own; the operations alternate, `--rounds` times, and each figure is
the median over the rounds. The figure to compare is the server's CPU per request (from
/proc), which other work on the machine moves far less than the rate.

    .venv/bin/python bench/usage.py                  # SQLite, PostgreSQL+Redis; daphne
    .venv/bin/python bench/usage.py --db postgres --rounds 5 --seconds 3
    .venv/bin/python bench/usage.py --source /tmp/before,.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from collections.abc import Iterator
from typing import Any

import common
from writes import Agent, Phase, closed_loop

MESSAGE = {"text": "hello"}
COST_GIVEN = {
    "model": "house-model",
    "input_tokens": 900,
    "output_tokens": 80,
    "cost_usd": "0.001234",
}
PRICED = {"model": "gpt-4o", "input_tokens": 900, "output_tokens": 80, "cached_input_tokens": 300}
CROWD_REPORT = {"model": "m", "input_tokens": 7, "output_tokens": 3, "cost_usd": "0.000013"}


def _same(body: Any) -> Iterator[Any]:
    while True:
        yield body


def _operations(seed: dict, agents: list[str]) -> dict[str, list[Agent]]:
    tokens = seed["tokens"]

    def loop(arenas: str, path: str, body: Any, expected: int = 201) -> list[Agent]:
        return [
            Agent(tokens[a], "POST", f"/api/arenas/{seed[arenas][a]}/{path}/", body, expected)
            for a in agents
        ]

    return {
        "post a message": loop("plain", "messages", MESSAGE),
        "report usage, cost given": loop("plain", "usage", COST_GIVEN),
        "report usage, priced": loop("plain", "usage", PRICED),
        "report usage, budget set": loop("budgeted", "usage", COST_GIVEN),
        "claim next, no budget": loop("plain", "claims/next", {}),
        "claim next, budget set": loop("budgeted", "claims/next", {}),
    }


def _cpu_us(phase: Phase) -> float:
    return phase.server_cpu / max(len(phase.latencies), 1) * 1e6


async def _rounds(server, operations, rounds, seconds, warmup) -> dict[str, list[Phase]]:
    phases: dict[str, list[Phase]] = {name: [] for name in operations}
    for number in range(rounds):
        for name, agents in operations.items():
            phase = await closed_loop(name, server, agents, seconds, warmup)
            phases[name].append(phase)
            print(f"   round {number + 1}: {phase.line().strip()}")
            for sample in phase.error_samples:
                print(f"      error: {sample}")
    return phases


async def _crowd(server, seed: dict, agents: list[str], seconds: float) -> int:
    """Every agent reports into the crowd arena until the time is up; the reports answered
    201 (every request is counted, none is in flight at the end)."""
    path = f"/api/arenas/{seed['crowd']}/usage/"
    stop_at = time.perf_counter() + seconds
    counts = [0] * len(agents)

    async def reporter(index: int, agent_id: str) -> None:
        conn = common.HttpConnection(server.port, seed["tokens"][agent_id])
        try:
            while time.perf_counter() < stop_at:
                status, content = await conn.request("POST", path, CROWD_REPORT)
                if status != 201:
                    raise RuntimeError(f"crowd report: {status} {content[:200]!r}")
                counts[index] += 1
        finally:
            await conn.close()

    await asyncio.gather(*(reporter(i, a) for i, a in enumerate(agents)))
    return sum(counts)


def bench(config: common.Configuration, args) -> dict:
    database = config.database()
    try:
        seed = common.run_in_tree(database, "usage", agents=max(args.agents, args.crowd, 1))
        ids = list(seed["tokens"])
        operations = _operations(seed, ids[: args.agents])
        with config.server_on(database, workers=args.workers) as server:
            print(
                f"-- {server.describe()}: {args.agents} agents, {args.rounds} rounds of "
                f"{args.seconds:.0f} s per operation; load average {common.load_average()}"
            )
            phases = common.run(_rounds(server, operations, args.rounds, args.seconds, args.warmup))
            cpu = {name: statistics.median(_cpu_us(p) for p in ps) for name, ps in phases.items()}
            rate = {name: statistics.median(p.rate for p in ps) for name, ps in phases.items()}
            errors = sum(p.errors for ps in phases.values() for p in ps)
            print(f"   {'operation (median of rounds)':<30} {'server CPU µs/req':>18} {'req/s':>7}")
            for name in operations:
                print(f"   {name:<30} {cpu[name]:18.0f} {rate[name]:7.0f}")
            message = cpu["post a message"]
            result = {
                "config": server.describe(),
                "report": cpu["report usage, cost given"] / message,
                "priced": cpu["report usage, priced"] / message,
                "budgeted": cpu["report usage, budget set"] / message,
                "claim": cpu["claim next, budget set"] / cpu["claim next, no budget"],
                "errors": errors,
                "crowd": None,
            }
            print(
                f"   usage report / message (server CPU): {result['report']:.2f} (cost given), "
                f"{result['priced']:.2f} (priced), {result['budgeted']:.2f} (budget set); "
                f"claim with a budget / without: {result['claim']:.2f}; errors {errors}"
            )
            if args.crowd:
                crowd = ids[: args.crowd]
                started = time.perf_counter()
                reports = common.run(_crowd(server, seed, crowd, args.crowd_seconds))
                elapsed = time.perf_counter() - started
        if args.crowd:
            check = common.run_in_tree(database, "check_usage", arena_id=seed["crowd"])
            expected = {
                "input_tokens": 7 * reports,
                "output_tokens": 3 * reports,
                "cached_input_tokens": 0,
                "calls": reports,
                "cost_micro_usd": 13 * reports,
                "unpriced_calls": 0,
            }
            exact = check["usage"] == expected
            result["crowd"] = (
                f"{reports / elapsed:.0f}/s, exact {exact}, gapless {check['gapless']}"
            )
            print(
                f"   {len(crowd)} agents reporting for {args.crowd_seconds:.0f} s: {reports} "
                f"reports, {reports / elapsed:.0f}/s; totals exact: {exact} "
                f"({check['usage']['cost_micro_usd']} µ$); log gapless: {check['gapless']}; "
                f"verify_arenas: {check['problems'] or 'ok'}"
            )
    finally:
        database.drop()
    return result


def main() -> None:
    parser = common.argument_parser(__doc__, "daphne")
    parser.add_argument("--workers", type=int, default=1, help="server processes")
    parser.add_argument("--agents", type=int, default=4, help="concurrent agents per operation")
    parser.add_argument("--rounds", type=int, default=3, help="rounds of every operation")
    parser.add_argument("--seconds", type=float, default=3.0, help="measured time per phase")
    parser.add_argument("--warmup", type=float, default=1.0, help="unmeasured time per phase")
    parser.add_argument("--crowd", type=int, default=32, help="agents of the crowd (0: none)")
    parser.add_argument("--crowd-seconds", type=float, default=10.0)
    args = common.begin(parser, "usage: usage reports and budgets through REST, server CPU")
    results = [bench(config, args) for config in common.configurations(args)]
    common.print_summary(
        "(server CPU per request, median of rounds; report = usage report / message post)",
        (
            f"{r['config']:<40} report {r['report']:.2f} (priced {r['priced']:.2f}, budget "
            f"set {r['budgeted']:.2f})  claim budget/none {r['claim']:.2f}  "
            f"errors {r['errors']}" + (f"  crowd {r['crowd']}" if r["crowd"] else "")
            for r in results
        ),
    )


if __name__ == "__main__":
    main()
