"""Idle websockets: how many one server process holds, at what memory and idle CPU.

One server process (never several: the figure is per process), one arena, and N agents'
feeds opened on it (each handshake authenticates, joins the arena's group and gets its
snapshot). The server's resident memory (VmRSS from /proc) is read after a warm-up and again
with every feed open and idle; the difference over N is the memory per connection. The idle
CPU is the server's CPU time over an idle window (it includes the server's own keep-alive
pings). At the end each feed sends `{"type": "ping"}` and must get its pong: the connections
were held, not merely counted.

    .venv/bin/python bench/connections.py                  # SQLite and PostgreSQL+Redis, daphne
    .venv/bin/python bench/connections.py --db postgres --server uvicorn --connections 8000
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import Counter

import common

MEMBERS = 10
WARMUP_CONNECTIONS = 100


async def _open(
    server: common.LiveServer, arena_id: str, tokens: list[str], count: int, concurrency: int
):
    async def opener(i: int):
        ws, _ = await common.open_feed(server, arena_id, tokens[i % len(tokens)], timeout=120)
        return ws

    return await common.open_many(count, opener, concurrency)


async def _ping_all(sockets: list) -> tuple[int, Counter]:
    """How many feeds answer a ping with a pong, and why the others did not."""
    failures: Counter = Counter()

    async def ping(ws) -> bool:
        try:
            await ws.send(json.dumps({"type": "ping"}))
            while True:
                message = json.loads(await asyncio.wait_for(ws.recv(), 60))
                if message.get("type") == "pong":
                    return True
        except Exception as exc:
            failures[repr(exc)[:120]] += 1
            return False

    answers = await asyncio.gather(*(ping(ws) for ws in sockets))
    return sum(answers), failures


async def _measure(server: common.LiveServer, seed: dict, args) -> dict:
    tokens = list(seed["tokens"].values())[1:]
    arena_id = seed["shared"]
    pid = server.worker_pids()
    warm, _, _ = await _open(server, arena_id, tokens, WARMUP_CONNECTIONS, args.concurrency)
    for ws in warm:
        if ws is not None:
            await ws.close()
    await asyncio.sleep(2)
    rss_before = common.rss_bytes(pid)
    sockets, errors, took = await _open(
        server, arena_id, tokens, args.connections, args.concurrency
    )
    sockets = [ws for ws in sockets if ws is not None]
    print(
        f"   opened {len(sockets)} of {args.connections} in {took:.1f} s "
        f"({len(sockets) / took:.0f}/s), {len(errors)} failed"
        + (f": {errors[0]}" if errors else "")
    )
    await asyncio.sleep(3)
    rss_after = common.rss_bytes(pid)
    cpu_start, wall_start = common.cpu_seconds(pid), time.perf_counter()
    await asyncio.sleep(args.idle)
    idle_cpu = (common.cpu_seconds(pid) - cpu_start) / (time.perf_counter() - wall_start)
    alive, failures = await _ping_all(sockets)
    for ws in sockets:
        await ws.close()
    per_connection = (rss_after - rss_before) / max(len(sockets), 1)
    print(
        f"   RSS {rss_before / 2**20:.0f} MiB before, {rss_after / 2**20:.0f} MiB with "
        f"{len(sockets)} open: {per_connection / 1024:.1f} KiB per connection"
    )
    print(
        f"   idle CPU over {args.idle:.0f} s: {idle_cpu:.1%} of one core; {alive} answered a ping"
    )
    for reason, count in failures.most_common(3):
        print(f"      {count} did not: {reason}")
    if failures:
        print("      server log, last lines:\n" + server.log_tail(3000))
    return {
        "config": server.describe(),
        "held": len(sockets),
        "alive": alive,
        "kib": per_connection / 1024,
        "idle_cpu": idle_cpu,
    }


def bench(config: common.Configuration, args) -> dict:
    database = config.database()
    try:
        seed = common.run_in_tree(
            database, "arenas", agents=MEMBERS + 1, shared_members=MEMBERS + 1
        )
        with config.server_on(database) as server:
            load = common.load_average()
            print(f"-- {server.describe()}: {args.connections} idle feeds; load {load}")
            return common.run(_measure(server, seed, args))
    finally:
        database.drop()


def main() -> None:
    parser = common.argument_parser(__doc__, "daphne")
    parser.add_argument("--connections", type=int, default=5000)
    parser.add_argument("--concurrency", type=int, default=100, help="handshakes at a time")
    parser.add_argument("--idle", type=float, default=30.0, help="idle window, seconds")
    args = parser.parse_args()
    limit = common.raise_open_files_limit(2 * args.connections + 1000)
    if limit < args.connections + 500:
        parser.error(f"the open-files limit is {limit}: too low for {args.connections} sockets")
    common.banner(
        f"connections: idle websocket feeds held by one server process (fd limit {limit})"
    )
    results = [bench(config, args) for config in common.configurations(args)]
    common.print_summary(
        "",
        (
            f"{r['config']:<38} held {r['held']} ({r['alive']} answered)  "
            f"{r['kib']:.1f} KiB each  idle CPU {r['idle_cpu']:.1%}"
            for r in results
        ),
    )


if __name__ == "__main__":
    main()
