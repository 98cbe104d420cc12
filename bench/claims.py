"""Claims through the REST API of a live server: the claim → complete cycle beside plain step
completions on the same server in the same run, and claims/next on a very large plan.

N agents, each on its own keep-alive connection, in a closed loop:
- plain: `POST …/steps/` with the agent's next step, as bench/writes.py does;
- cycle: `POST …/claims/next/`, then `POST …/steps/` with the claim's step and `claim_id`;
first each agent in an arena of its own, then all in one shared arena (every write queues
for the same row lock); the cycle phase continues the plain phase's arenas. A cycle is two
requests; the target is a cycle costing at most 2.2× a plain completion (completions/s ÷
cycles/s ≤ 2.2).

Then claims/next alone, one agent calling it one request after another, on an arena of
1,000,000 untitled steps whose first 100,000 are completed (seeded in bulk as
`complete_step` would leave them): latency p50/p99 (target p99 ≤ 20 ms).

    .venv/bin/python bench/claims.py                       # PostgreSQL + Redis, daphne
    .venv/bin/python bench/claims.py --server uvicorn --agents 32 --seconds 20
"""

from __future__ import annotations

import asyncio
import json
import time

import common
from writes import Agent, Phase, _steps, closed_loop


async def _cycles(
    name: str,
    server: common.LiveServer,
    agents: list[tuple[str, str]],
    seconds: float,
    warmup: float,
) -> Phase:
    """Each agent (token, arena id) claims the next step and completes it with its claim,
    in a loop; a cycle's latency is both requests."""
    phase = Phase(name)
    measure_from = time.perf_counter() + warmup
    stop_at = measure_from + seconds
    pids = server.worker_pids()
    marks: dict[str, float] = {}

    async def agent(token: str, arena_id: str) -> None:
        conn = common.HttpConnection(server.port, token)
        path = f"/api/arenas/{arena_id}"
        try:
            while (began := time.perf_counter()) < stop_at:
                try:
                    status, body = await conn.request("POST", f"{path}/claims/next/", {})
                    if status == 201:
                        claim = json.loads(body)["claim"]
                        done = {"step": claim["step"], "claim_id": claim["claim_id"]}
                        status, body = await conn.request("POST", f"{path}/steps/", done)
                except Exception as exc:  # a failed request is an error, not a crash
                    status, body = 0, repr(exc).encode()
                ended = time.perf_counter()
                if began >= measure_from and ended <= stop_at:
                    if status == 201:
                        phase.latencies.append(ended - began)
                    else:
                        phase.errors += 1
                        if len(phase.error_samples) < 3:
                            phase.error_samples.append(f"{status} {body[:200]!r}")
        finally:
            await conn.close()

    async def marker() -> None:
        await asyncio.sleep(max(0.0, measure_from - time.perf_counter()))
        database = common.pids_named("postgres")
        marks["server"], marks["client"] = common.cpu_seconds(pids), common.own_cpu_seconds()
        marks["database"] = common.cpu_seconds(database)
        await asyncio.sleep(max(0.0, stop_at - time.perf_counter()))
        phase.server_cpu = common.cpu_seconds(pids) - marks["server"]
        phase.client_cpu = common.own_cpu_seconds() - marks["client"]
        phase.database_cpu = common.cpu_seconds(database) - marks["database"]

    await asyncio.gather(marker(), *(agent(*a) for a in agents))
    phase.seconds = seconds
    return phase


async def _next_latencies(
    server: common.LiveServer, token: str, arena_id: str, calls: int
) -> list[float]:
    """claims/next, one call after another on one connection: each call's latency."""
    conn = common.HttpConnection(server.port, token)
    latencies = []
    try:
        for _ in range(calls):
            began = time.perf_counter()
            status, body = await conn.request("POST", f"/api/arenas/{arena_id}/claims/next/", {})
            assert status == 201, (status, body[:200])
            latencies.append(time.perf_counter() - began)
    finally:
        await conn.close()
    return latencies


async def _measure(server: common.LiveServer, seed: dict, big: dict, args) -> dict:
    tokens, agents = seed["tokens"], args.agents
    own = [(tokens[a["agent"]], a["id"]) for a in seed["arenas"]]
    members = list(tokens)[:agents]
    shared = seed["shared"]
    plain_own = [Agent(t, "POST", f"/api/arenas/{a}/steps/", _steps(0, 1), 201) for t, a in own]
    plain_shared = [
        Agent(tokens[m], "POST", f"/api/arenas/{shared}/steps/", _steps(i, agents), 201)
        for i, m in enumerate(members)
    ]
    seconds, warmup = args.seconds, args.warmup
    phases = [
        await closed_loop("plain, own arenas", server, plain_own, seconds, warmup),
        await _cycles("cycles, own arenas", server, own, seconds, warmup),
        await closed_loop("plain, shared arena", server, plain_shared, seconds, warmup),
        await _cycles(
            "cycles, shared arena", server, [(tokens[m], shared) for m in members], seconds, warmup
        ),
    ]
    latencies = await _next_latencies(server, big["token"], big["arena"], args.next_calls)
    return {"phases": phases, "next": latencies}


def bench(config: common.Configuration, args) -> dict:
    database = config.database()
    try:
        seed = common.run_in_tree(
            database, "arenas", count=args.agents, agents=args.agents, shared_members=args.agents
        )
        big_seed = common.run_in_tree(
            database, "arenas", count=1, agents=1, total_steps=args.big_steps, prefix="big"
        )
        [big_arena] = big_seed["arenas"]
        common.run_in_tree(
            database,
            "step_events",
            arena_id=big_arena["id"],
            agent_id=big_arena["agent"],
            count=args.big_completed,
        )
        big = {"token": big_seed["tokens"][big_arena["agent"]], "arena": big_arena["id"]}
        with config.server_on(database, workers=args.workers) as server:
            print(f"-- {server.describe()}: {args.agents} agents, {args.seconds:.0f} s per phase")
            print(f"   load average: {common.load_average()}")
            measured = common.run(_measure(server, seed, big, args))
            plain_own, cycles_own, plain_shared, cycles_shared = measured["phases"]
            for phase in measured["phases"]:
                print(phase.line().replace("req/s", "ops/s"))
                for sample in phase.error_samples:
                    print(f"      error: {sample}")
            own = plain_own.rate / max(cycles_own.rate, 1e-9)
            shared = plain_shared.rate / max(cycles_shared.rate, 1e-9)
            print(
                f"   a cycle costs {own:.2f}× a plain completion in own arenas, {shared:.2f}× "
                "in the shared one (target ≤ 2.2×)"
            )
            latencies = measured["next"]
            print(
                f"   claims/next on {args.big_steps:,} steps, {args.big_completed:,} completed: "
                f"{common.summary_ms(latencies)} over {len(latencies)} calls (target p99 ≤ 20 ms)"
            )
            return {
                "config": server.describe(),
                "plain_own": plain_own.rate,
                "cycles_own": cycles_own.rate,
                "plain_shared": plain_shared.rate,
                "cycles_shared": cycles_shared.rate,
                "own": own,
                "shared": shared,
                "next_p50": common.percentile(latencies, 50) * 1000,
                "next_p99": common.percentile(latencies, 99) * 1000,
            }
    finally:
        database.drop()


def main() -> None:
    parser = common.argument_parser(__doc__, "daphne")
    parser.set_defaults(db="postgres")
    parser.add_argument("--workers", type=int, default=1, help="server processes")
    parser.add_argument("--agents", type=int, default=32, help="concurrent agents (connections)")
    parser.add_argument("--seconds", type=float, default=10.0, help="measured time per phase")
    parser.add_argument("--warmup", type=float, default=2.0, help="unmeasured time per phase")
    parser.add_argument("--big-steps", type=int, default=1_000_000, help="steps of the big plan")
    parser.add_argument("--big-completed", type=int, default=100_000, help="of them completed")
    parser.add_argument("--next-calls", type=int, default=1000, help="claims/next calls timed")
    args = common.begin(
        parser, "claims: claim → complete cycles vs plain completions; claims/next on a big plan"
    )
    results = [bench(config, args) for config in common.configurations(args)]
    common.print_summary(
        "(ops/s; cost = plain completions/s ÷ cycles/s, target ≤ 2.2; claims/next p99 ≤ 20 ms)",
        (
            f"{r['config']:<38} own: {r['plain_own']:5.0f} vs {r['cycles_own']:5.0f} "
            f"({r['own']:.2f}×)  shared: {r['plain_shared']:5.0f} vs {r['cycles_shared']:5.0f} "
            f"({r['shared']:.2f}×)  next p50 {r['next_p50']:.1f} ms, p99 {r['next_p99']:.1f} ms"
            for r in results
        ),
    )


if __name__ == "__main__":
    main()
