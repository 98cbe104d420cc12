"""The MCP server beside the REST API: step completions through both in one run, and many
`wait_for_events` calls held by one server process.

Throughput: N agents, each on its own keep-alive connection, complete steps in an arena of
their own as fast as the server answers (a closed loop), through `POST
/api/arenas/{id}/steps/` and through the MCP tool `complete_step` (`POST /mcp/`, the
handshake-era protocol most MCP hosts speak, and the 2026-07-28 one), then through REST
again. The ratio MCP/REST is the figure (target: at least 50%).

Waits: W calls of `wait_for_events` on one arena, each on a connection of its own, held by
one server process, in two rounds. Once every call waits (the server is idle), the script
reads the server's resident memory and, on PostgreSQL, the database's connections, open and
in use, beside the same before the calls (target: none more in use). The first round's
memory is the figure (the second reuses what the first freed). Then one step is completed
through REST, and each call's answer time after the event's commit is the wake-up latency
(the second round's is the figure, warm; target: p99 at most 200 ms). It is measured from the
event's `timestamp` (taken in its transaction just before the commit, on this machine's
clock), and also from the write's response and from its request. Every call must answer with
exactly that event.

    .venv/bin/python bench/mcp.py   # SQLite, PostgreSQL+Redis; daphne
    .venv/bin/python bench/mcp.py --db postgres --agents 16 --seconds 10 --waits 1000
    .venv/bin/python bench/mcp.py --db sqlite --agents 2 --seconds 1 --warmup 0.5 --waits 20
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import common
from common import Database, HttpConnection, LiveServer
from writes import Agent, Phase, closed_loop

MCP = "/mcp/"
HANDSHAKE = "2025-11-25"
MODERN = "2026-07-28"
MCP_HEADERS = {"Accept": "application/json, text/event-stream"}


def tool_call(name: str, arguments: dict[str, Any], era: str) -> tuple[dict, dict[str, str]]:
    """A `tools/call` of the MCP server as the SDK's client sends it in that protocol era:
    (body, headers) of a POST to /mcp/."""
    params: dict[str, Any] = {"name": name, "arguments": arguments}
    headers = {**MCP_HEADERS, "MCP-Protocol-Version": era}
    if era == MODERN:
        params["_meta"] = {
            "io.modelcontextprotocol/protocolVersion": MODERN,
            "io.modelcontextprotocol/clientInfo": {"name": "bench", "version": "0"},
            "io.modelcontextprotocol/clientCapabilities": {},
        }
        headers.update({"Mcp-Method": "tools/call", "Mcp-Name": name})
    return {"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": params}, headers


def tool_succeeded(body: bytes) -> bool:
    return b'"isError":false' in body


async def _throughput(server: LiveServer, seed: dict, args) -> list[Phase]:
    """REST, MCP (2025-11-25), MCP (2026-07-28), REST: each agent completes the next steps
    of its own arena."""
    arenas = seed["arenas"][: args.agents]
    steps: dict[str, Iterator[int]] = {a["id"]: itertools.count(1) for a in arenas}
    tokens = seed["tokens"]

    def rest(arena: dict) -> Agent:
        path = f"/api/arenas/{arena['id']}/steps/"
        payloads = ({"step": step} for step in steps[arena["id"]])
        return Agent(tokens[arena["agent"]], "POST", path, payloads, 201)

    def mcp(era: str) -> Callable[[dict], Agent]:
        def agent(arena: dict) -> Agent:
            headers = tool_call("complete_step", {}, era)[1]
            payloads = (
                tool_call("complete_step", {"arena_id": arena["id"], "step": step}, era)[0]
                for step in steps[arena["id"]]
            )
            return Agent(
                tokens[arena["agent"]], "POST", MCP, payloads, 200, headers, tool_succeeded
            )

        return agent

    plans = [
        ("REST POST steps/", rest),
        ("MCP complete_step (2025)", mcp(HANDSHAKE)),
        ("MCP complete_step (2026)", mcp(MODERN)),
        ("REST POST steps/", rest),
    ]
    phases = []
    for name, plan in plans:
        agents = [plan(arena) for arena in arenas]
        phase = await closed_loop(name, server, agents, args.seconds, args.warmup)
        print(phase.line(), flush=True)
        for sample in phase.error_samples:
            print(f"      error: {sample}")
        phases.append(phase)
    return phases


# --- waits ------------------------------------------------------------------------------------


def _connections(database: Database) -> tuple[int, int] | None:
    """The database's client connections (open, in use), other than this one; None on
    SQLite."""
    if database.kind != "postgres":
        return None
    import psycopg

    with psycopg.connect(database.url, autocommit=True) as conn:
        opened, busy = conn.execute(
            "SELECT count(*), count(*) FILTER (WHERE state <> 'idle') FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid() "
            "AND backend_type = 'client backend'"
        ).fetchone()
    return opened, busy


def _sampled_connections(database: Database, samples: int = 10) -> tuple[int, int] | None:
    """The most connections seen (open, in use) over `samples` readings 50 ms apart."""
    readings = []
    for _ in range(samples):
        reading = _connections(database)
        if reading is None:
            return None
        readings.append(reading)
        time.sleep(0.05)
    return max(r[0] for r in readings), max(r[1] for r in readings)


@dataclass
class WaitRound:
    count: int
    rss_before: int
    rss_waiting: int
    connections_before: tuple[int, int] | None
    connections_waiting: tuple[int, int] | None
    answered_early: int
    latencies: list[float]
    from_response: list[float]
    from_request: list[float]
    wrong: list[str]
    wake_cpu: float

    def lines(self) -> list[str]:
        per_call = (self.rss_waiting - self.rss_before) / max(self.count, 1) / 1024
        out = [
            f"   {self.count} waiting calls: server RSS {self.rss_before / 2**20:.1f} MiB before, "
            f"{self.rss_waiting / 2**20:.1f} MiB while waiting: {per_call:.1f} KiB per call",
        ]
        if self.connections_before is not None:
            out.append(
                f"   database connections (open, in use): before {self.connections_before}, "
                f"while waiting {self.connections_waiting}"
            )
        out += [
            f"   wake-up after the commit:           {common.summary_ms(self.latencies)}; "
            f"server CPU {self.wake_cpu / max(self.count, 1) * 1e6:.0f} µs per woken call",
            f"   wake-up after the write's response: {common.summary_ms(self.from_response)}",
            f"   wake-up after the write's request:  {common.summary_ms(self.from_request)}",
            f"   answered before the write {self.answered_early}, wrong or missing answers "
            f"{len(self.wrong)}" + (f": {self.wrong[0]}" if self.wrong else ""),
        ]
        return out


async def _wait_round(
    server: LiveServer,
    database: Database,
    token: str,
    arena_id: str,
    step: int,
    conns: list[HttpConnection],
    era: str,
    args,
) -> WaitRound:
    pids = server.worker_pids()
    writer = HttpConnection(server.port, token)
    status, body = await writer.request("GET", f"/api/arenas/{arena_id}/")
    after = json.loads(body)["last_seq"]
    rss_before = common.rss_bytes(pids)
    connections_before = await asyncio.to_thread(_sampled_connections, database)
    arrivals: list[float | None] = [None] * len(conns)
    body, headers = tool_call(
        "wait_for_events", {"arena_id": arena_id, "after": after, "timeout_seconds": 60}, era
    )

    async def wait(index: int, conn: HttpConnection) -> tuple[int, bytes]:
        answer = await conn.request("POST", MCP, body, headers)
        arrivals[index] = time.time()
        return answer

    calls = [asyncio.create_task(wait(i, conn)) for i, conn in enumerate(conns)]
    started = time.perf_counter()
    await _quiet(pids, args.settle)
    print(f"   calls started waiting in {time.perf_counter() - started:.1f} s", flush=True)
    rss_waiting = common.rss_bytes(pids)
    connections_waiting = await asyncio.to_thread(_sampled_connections, database)
    answered_early = sum(call.done() for call in calls)
    cpu_before = common.cpu_seconds(pids)
    sent = time.time()
    status, body = await writer.request("POST", f"/api/arenas/{arena_id}/steps/", {"step": step})
    answered = time.time()
    await writer.close()
    if status != 201:
        raise RuntimeError(f"the write was refused: {status} {body[:300]!r}")
    written = json.loads(body)["event"]
    results = await asyncio.gather(*calls, return_exceptions=True)
    wake_cpu = common.cpu_seconds(pids) - cpu_before
    wrong = []
    for result in results:
        if isinstance(result, BaseException):
            wrong.append(repr(result)[:200])
            continue
        status, content = result
        events = json.loads(content)["result"]["structuredContent"]["events"]
        if status != 200 or events != [written]:
            wrong.append(f"{status} {content[:200]!r}")
    ok = [a for a in arrivals if a is not None]
    committed = _epoch(written["timestamp"])
    return WaitRound(
        len(conns),
        rss_before,
        rss_waiting,
        connections_before,
        connections_waiting,
        answered_early,
        [a - committed for a in ok],
        [a - answered for a in ok],
        [a - sent for a in ok],
        wrong,
        wake_cpu,
    )


async def _quiet(pids: list[int], longest: float, window: float = 0.25) -> None:
    """Return once the server has been nearly idle (under 5% of a core) for two windows in
    a row: every call has started waiting. At most `longest` seconds."""
    deadline = time.perf_counter() + longest
    calm = 0
    while calm < 2 and time.perf_counter() < deadline:
        before = common.cpu_seconds(pids)
        await asyncio.sleep(window)
        calm = calm + 1 if common.cpu_seconds(pids) - before < 0.05 * window else 0


def _sockets(pid: int) -> int:
    """How many sockets process `pid` holds (its clients' connections, and a few of its own)."""
    count = 0
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        with contextlib.suppress(OSError):
            count += str(fd.readlink()).startswith("socket:")
    return count


def _epoch(timestamp: str) -> float:
    """An event's `timestamp` (taken in its transaction, just before the commit; the server
    runs on this machine's clock) in seconds since the epoch."""
    return datetime.strptime(timestamp, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC).timestamp()


async def _waits(
    server: LiveServer, database: Database, seed: dict, era: str, args
) -> tuple[WaitRound, WaitRound]:
    arena = seed["arenas"][0]
    token = seed["tokens"][arena["agent"]]
    conns = [HttpConnection(server.port, token) for _ in range(args.waits)]
    opened, errors, took = await common.open_many(
        len(conns), lambda i: conns[i].request("GET", "/api/health/")
    )
    print(f"   {len(conns) - len(errors)} connections opened in {took:.1f} s", flush=True)
    if len(server.worker_pids()) > 1:
        held = [_sockets(pid) for pid in server.worker_pids()]
        print(f"   sockets held by each server process: {', '.join(map(str, held))}", flush=True)
    step = 10**6 + 10 * (era == MODERN)  # far from the throughput phases' steps
    rounds = []
    for name in ("first round (its memory counts)", "second round (its wake-up counts)"):
        print(f"   {name}:", flush=True)
        rounds.append(
            await _wait_round(server, database, token, arena["id"], step, conns, era, args)
        )
        for line in rounds[-1].lines():
            print(line, flush=True)
        step += 1
    for conn in conns:
        await conn.close()
    return rounds[0], rounds[1]


def bench(config: common.Configuration, args) -> list[dict]:
    """The throughput phases on one server, then the waits of each protocol era on a fresh
    server each (so that each era's first round starts from a process that held no wait)."""
    database = config.database()
    try:
        seed = common.run_in_tree(database, "arenas", count=args.agents, agents=args.agents)
        with config.server_on(database, workers=args.workers) as server:
            described = server.describe()
            print(f"-- {described}: {args.agents} agents, {args.seconds:.0f} s per phase")
            print(f"   load average: {common.load_average()}", flush=True)
            phases = common.run(_throughput(server, seed, args))
        rest = (phases[0].rate + phases[3].rate) / 2
        results = []
        for era, phase in ((HANDSHAKE, phases[1]), (MODERN, phases[2])):
            print(f"   MCP {era} / REST: {phase.rate / rest:.0%} of {rest:.0f} req/s", flush=True)
            with config.server_on(database, workers=args.workers) as server:
                print(f"-- {described}: {args.waits} waits, protocol {era}", flush=True)
                waits = common.run(_waits(server, database, seed, era, args))
            results.append(
                {"config": described, "era": era, "rest": rest, "mcp": phase.rate, "waits": waits}
            )
        return results
    finally:
        database.drop()


def main() -> None:
    parser = common.argument_parser(__doc__, "daphne")
    parser.add_argument("--agents", type=int, default=16, help="concurrent agents (connections)")
    parser.add_argument("--seconds", type=float, default=10.0, help="measured time per phase")
    parser.add_argument("--warmup", type=float, default=2.0, help="unmeasured time per phase")
    parser.add_argument("--waits", type=int, default=1000, help="wait_for_events calls held")
    parser.add_argument(
        "--workers",
        type=int,
        default=1,
        help="server processes (Daphne: sharing one listening socket; needs Redis for more "
        "than one, as the production layout has two)",
    )
    parser.add_argument(
        "--settle",
        type=float,
        default=30.0,
        help="at most this many seconds for the calls to start waiting (until the server idles)",
    )
    args = common.begin(
        parser, "MCP: complete_step through MCP beside REST; wait_for_events calls held"
    )
    results = [r for config in common.configurations(args) for r in bench(config, args)]
    lines = []
    for r in results:
        first, second = r["waits"]
        per_call = (first.rss_waiting - first.rss_before) / max(first.count, 1) / 1024
        in_use = [
            None if c is None else c[1]
            for c in (first.connections_before, first.connections_waiting)
        ]
        lines.append(
            f"{r['config']:<38} {r['era']}  MCP {r['mcp']:5.0f}/s = {r['mcp'] / r['rest']:4.0%} "
            f"of REST {r['rest']:5.0f}/s  W={first.count}: {per_call:5.1f} KiB each, "
            f"connections in use {in_use[0]} -> {in_use[1]}, wake-up p99 "
            f"{common.percentile(second.latencies, 99) * 1000:.0f} ms, "
            f"wrong {len(first.wrong) + len(second.wrong)}"
        )
    common.print_summary(
        "(MCP protocol era: complete_step/s beside REST's; W waiting calls)", lines
    )


if __name__ == "__main__":
    main()
