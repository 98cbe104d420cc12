"""Step completions through the REST API of a live server, beside the same server's floor.

N agents, each on its own keep-alive connection, complete steps as fast as the server
answers (a closed loop): first each in an arena of its own, then all in one shared arena
(where every write queues for the same row lock). The floor is `GET /api/health/` at the
same concurrency on the same server in the same run, measured before and after the writes;
the ratio says how much of the framework's throughput a step completion keeps.

    .venv/bin/python bench/writes.py   # SQLite, PostgreSQL+Redis; daphne, uvicorn
    .venv/bin/python bench/writes.py --db postgres --server uvicorn --workers 2
    .venv/bin/python bench/writes.py --db postgres --server granian-wsgi,granian --workers 2
    .venv/bin/python bench/writes.py --db sqlite --server daphne --source /tmp/before,.

`granian-wsgi` serves aleph_site.wsgi (HTTP only; the HTTP side of docs/deploy.md's
production layout). Every phase prints the CPU per request of the server, PostgreSQL, Redis
and this client. On PostgreSQL each configuration is also measured against the ceiling
(`bench/write_ceiling.py`'s `statements` shape: the same writes' SQL and publishes with no
web stack, as many connections as agents), run before and after the server's phases in the
same run; `--no-ceiling` leaves it out.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import common
import write_ceiling


@dataclass
class Phase:
    name: str
    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    error_samples: list[str] = field(default_factory=list)
    seconds: float = 0.0
    server_cpu: float = 0.0
    client_cpu: float = 0.0
    database_cpu: float = 0.0
    redis_cpu: float = 0.0

    @property
    def rate(self) -> float:
        return len(self.latencies) / self.seconds if self.seconds else 0.0

    def line(self) -> str:
        count = max(len(self.latencies), 1)
        per_request = (
            f"CPU µs/req: server {self.server_cpu / count * 1e6:5.0f}, "
            f"database {self.database_cpu / count * 1e6:4.0f}, "
            f"redis {self.redis_cpu / count * 1e6:3.0f}, "
            f"client {self.client_cpu / count * 1e6:3.0f}"
        )
        return (
            f"   {self.name:<22} {self.rate:8.0f} req/s  {common.summary_ms(self.latencies)}"
            f"  errors {self.errors}  ({per_request})"
        )


@dataclass
class Agent:
    """One agent of a closed loop: what it sends, and what a success looks like."""

    token: str | None
    method: str
    path: str
    body: object = None  # a payload, or an iterator of payloads (one per request)
    expected: int = 200  # the status of a success
    headers: dict[str, str] | None = None
    # A success's body, when the status is not enough.
    succeeded: Callable[[bytes], bool] | None = None


async def closed_loop(
    name: str, server: common.LiveServer, agents: list[Agent], seconds: float, warmup: float
) -> Phase:
    """Every agent sends its requests one after another on a keep-alive connection of its
    own until the time is up; only the measured window (after `warmup`) counts."""
    phase = Phase(name)
    start = time.perf_counter()
    measure_from = start + warmup
    stop_at = measure_from + seconds
    pids = server.worker_pids()
    marks: dict[str, float] = {}

    async def agent(one: Agent) -> None:
        conn = common.HttpConnection(server.port, one.token)
        try:
            while True:
                now = time.perf_counter()
                if now >= stop_at:
                    return
                payload = next(one.body) if hasattr(one.body, "__next__") else one.body
                try:
                    status, content = await conn.request(one.method, one.path, payload, one.headers)
                except Exception as exc:  # a failed request is an error, not a crash
                    status, content = 0, repr(exc).encode()
                done = time.perf_counter()
                if now >= measure_from and done <= stop_at:
                    if status == one.expected and (not one.succeeded or one.succeeded(content)):
                        phase.latencies.append(done - now)
                    else:
                        phase.errors += 1
                        if len(phase.error_samples) < 3:
                            phase.error_samples.append(f"{status} {content[:200]!r}")
        finally:
            await conn.close()

    async def marker() -> None:
        await asyncio.sleep(max(0.0, measure_from - time.perf_counter()))
        # PostgreSQL's and Redis's processes on this machine, listed once the warm-up has
        # opened the pools' connections (other databases' too, if busy).
        database_pids, redis_pids = common.pids_named("postgres"), common.pids_named("redis-server")
        marks["server"], marks["client"] = common.cpu_seconds(pids), common.own_cpu_seconds()
        marks["database"] = common.cpu_seconds(database_pids)
        marks["redis"] = common.cpu_seconds(redis_pids)
        await asyncio.sleep(max(0.0, stop_at - time.perf_counter()))
        phase.server_cpu = common.cpu_seconds(pids) - marks["server"]
        phase.client_cpu = common.own_cpu_seconds() - marks["client"]
        phase.database_cpu = common.cpu_seconds(database_pids) - marks["database"]
        phase.redis_cpu = common.cpu_seconds(redis_pids) - marks["redis"]

    await asyncio.gather(marker(), *(agent(one) for one in agents))
    phase.seconds = seconds
    return phase


def completing_own_steps(seed: dict, first_step: int = 1) -> list[Agent]:
    """One agent per seeded arena (`in_tree.py arenas`), completing that arena's steps from
    `first_step` on (open-ended arenas: each phase of a run may take a range of its own)."""
    return [
        Agent(
            seed["tokens"][arena["agent"]],
            "POST",
            f"/api/arenas/{arena['id']}/steps/",
            ({"step": step} for step in range(first_step, first_step + 10_000_000)),
            201,
        )
        for arena in seed["arenas"]
    ]


def add_closed_loop_options(parser, agents: int = 16) -> None:
    """--workers, --agents, --seconds and --warmup: the options of a closed-loop run."""
    parser.add_argument("--workers", type=int, default=1, help="server processes")
    parser.add_argument(
        "--agents", type=int, default=agents, help="concurrent agents (connections)"
    )
    parser.add_argument("--seconds", type=float, default=10.0, help="measured time per phase")
    parser.add_argument("--warmup", type=float, default=2.0, help="unmeasured time per phase")


def _steps(agent_index: int, stride: int):
    step = agent_index + 1
    while True:
        yield {"step": step}
        step += stride


async def _measure(
    server: common.LiveServer, seed: dict, agents: int, seconds: float, warmup: float
):
    tokens = seed["tokens"]
    health = [Agent(None, "GET", "/api/health/") for _ in range(agents)]
    distinct = [
        Agent(tokens[a["agent"]], "POST", f"/api/arenas/{a['id']}/steps/", _steps(0, 1), 201)
        for a in seed["arenas"]
    ]
    shared_path = f"/api/arenas/{seed['shared']}/steps/"
    shared = [
        Agent(tokens[agent_id], "POST", shared_path, _steps(i, agents), 201)
        for i, agent_id in enumerate(list(tokens)[:agents])
    ]
    floor_before = await closed_loop("floor GET /api/health/", server, health, seconds, warmup)
    across = await closed_loop("steps, own arenas", server, distinct, seconds, warmup)
    one = await closed_loop("steps, one shared arena", server, shared, seconds, warmup)
    floor_after = await closed_loop("floor GET /api/health/", server, health, seconds, warmup)
    return floor_before, across, one, floor_after


def bench(config: common.Configuration, args) -> dict:
    with_ceiling = args.ceiling and config.db == "postgres"
    if with_ceiling:
        ceiling_before = write_ceiling.ceiling(args.agents, args.seconds, args.warmup)
    database = config.database()
    try:
        seed = common.run_in_tree(
            database, "arenas", count=args.agents, agents=args.agents, shared_members=args.agents
        )
        with config.server_on(database, workers=args.workers) as server:
            print(f"-- {server.describe()}: {args.agents} agents, {args.seconds:.0f} s per phase")
            print(f"   load average: {common.load_average()}")
            phases = common.run(_measure(server, seed, args.agents, args.seconds, args.warmup))
            for phase in phases:
                print(phase.line())
                for sample in phase.error_samples:
                    print(f"      error: {sample}")
            floor = (phases[0].rate + phases[3].rate) / 2
            across, one = phases[1], phases[2]
            print(
                f"   ratio to floor ({floor:.0f} req/s): own arenas {across.rate / floor:.0%}, "
                f"shared arena {one.rate / floor:.0%}"
            )
            result = {
                "config": server.describe(),
                "floor": floor,
                "own": across.rate,
                "shared": one.rate,
                "own_p99_ms": common.percentile(across.latencies, 99) * 1000,
                "ceiling": None,
            }
    finally:
        database.drop()
    if with_ceiling:
        ceiling_after = write_ceiling.ceiling(args.agents, args.seconds, args.warmup)
        result["ceiling"] = (ceiling_before + ceiling_after) / 2
        print(
            f"   ratio to the ceiling ({result['ceiling']:.0f} writes/s, mean of before and "
            f"after): own arenas {across.rate / result['ceiling']:.0%}, "
            f"shared arena {one.rate / result['ceiling']:.0%}"
        )
    return result


def main() -> None:
    parser = common.argument_parser(__doc__, "daphne,uvicorn", settings=True)
    add_closed_loop_options(parser)
    parser.add_argument(
        "--no-ceiling",
        dest="ceiling",
        action="store_false",
        help="on PostgreSQL, do not measure bench/write_ceiling.py beside each configuration",
    )
    args = common.begin(
        parser, "writes: step completions through REST vs the same server's GET /api/health/"
    )
    results = [bench(config, args) for config in common.configurations(args)]
    common.print_summary(
        "(req/s; ratio = step completions / floor in the same run)",
        (
            f"{r['config']:<38} floor {r['floor']:6.0f}  own arenas {r['own']:6.0f} "
            f"({r['own'] / r['floor']:.0%}, p99 {r['own_p99_ms']:.0f} ms)  "
            f"shared {r['shared']:6.0f} ({r['shared'] / r['floor']:.0%})"
            + (
                f"  ceiling {r['ceiling']:5.0f}: own {r['own'] / r['ceiling']:.0%}"
                if r["ceiling"]
                else ""
            )
            for r in results
        ),
    )


if __name__ == "__main__":
    main()
