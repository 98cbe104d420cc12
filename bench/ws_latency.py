"""Latency of the live feed: from a REST write's response to its event on a subscribed
websocket, median and worst of N writes.

    .venv/bin/python bench/ws_latency.py                  # one Daphne process
    REDIS_URL=redis://127.0.0.1:6379/0 .venv/bin/python bench/ws_latency.py --processes 2
    .venv/bin/python bench/ws_latency.py --source /tmp/before,.

With `--processes 2` (Redis required) the client subscribes on one process and the writes go
through the other's REST API, so each event crosses Redis. Servers, database (SQLite, or
PostgreSQL when DATABASE_URL says so) and agents are made fresh and removed afterwards; they
run with the test suite's settings (tests/support/liveserver.py's TESTS profile), as when
these figures were first taken. `--source` measures each source tree in turn.
Figures are given from the response and from the request's start: the event is announced
on commit, before the response is written, so the first is usually negative (the event
arrived before the client had read the response).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import common
import httpx
from websockets.asyncio.client import connect

TIMEOUT = 30.0


async def measure(
    watched: common.LiveServer, written: common.LiveServer, tokens: dict, count: int
) -> list:
    alice = {"Authorization": f"Bearer {tokens['alice']}"}
    bob = {"Authorization": f"Bearer {tokens['bob']}"}
    async with httpx.AsyncClient(base_url=written.url, timeout=TIMEOUT) as http:
        config = {
            "goal": "Measure the live feed",
            "total_steps": 1,
            "participants": [{"agent_id": "bob", "role": "worker"}],
        }
        arena = (await http.post("/api/arenas/", json=config, headers=alice)).json()
        await http.post(f"/api/arenas/{arena['id']}/activate/", headers=alice)
        url = f"{watched.ws_url}/ws/arenas/{arena['id']}/"
        async with connect(url, additional_headers=alice, open_timeout=TIMEOUT) as ws:
            json.loads(await ws.recv())
            arrivals: dict[int, float] = {}
            responses: dict[int, float] = {}
            requests: dict[int, float] = {}

            async def read() -> None:
                while len(arrivals) < count:
                    frame = json.loads(await ws.recv())
                    arrivals[frame["event"]["seq"]] = time.perf_counter()

            reader = asyncio.ensure_future(read())
            for number in range(count):
                sent = time.perf_counter()
                response = await http.post(
                    f"/api/arenas/{arena['id']}/messages/",
                    json={"text": f"message {number}"},
                    headers=bob,
                )
                answered = time.perf_counter()
                response.raise_for_status()
                seq = response.json()["seq"]
                responses[seq] = answered
                requests[seq] = sent
                while seq not in arrivals:
                    await asyncio.sleep(0.001)
            await asyncio.wait_for(reader, TIMEOUT)
    return [
        ((arrivals[seq] - responses[seq]) * 1000, (arrivals[seq] - requests[seq]) * 1000)
        for seq in sorted(responses)
    ]


def measure_tree(tree: common.Tree, processes: int, redis_url: str | None, count: int) -> list:
    with tempfile.TemporaryDirectory() as tmp:
        database = common.Database.fresh(source=tree.path, directory=Path(tmp))
        servers = [
            common.LiveServer(database, redis_url=redis_url, log_path=Path(tmp) / f"daphne{n}.log")
            for n in range(processes)
        ]
        try:
            for server in servers:
                server.start()
            tokens = {name: database.create_agent(name) for name in ("alice", "bob")}
            return asyncio.run(measure(servers[0], servers[-1], tokens, count))
        finally:
            for server in servers:
                server.stop()
            database.drop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--processes", type=int, choices=(1, 2), default=1)
    parser.add_argument("--count", type=int, default=100)
    common.add_source_option(parser)
    args = parser.parse_args()
    redis_url = os.environ.get("REDIS_URL") or None
    if args.processes == 2 and not redis_url:
        sys.exit("--processes 2 needs REDIS_URL")
    layer = "Redis" if redis_url else "in-memory"
    for tree in common.trees(args):
        latencies = measure_tree(tree, args.processes, redis_url, args.count)
        source = f", {tree.label}" if tree.label else ""
        print(f"{args.processes} process(es), {layer} layer{source}, {len(latencies)} writes:")
        for index, start in enumerate(("response", "request")):
            figures = [pair[index] for pair in latencies]
            print(
                f"  event arrival after the REST {start}: median "
                f"{statistics.median(figures):.1f} ms, worst {max(figures):.1f} ms"
            )


if __name__ == "__main__":
    main()
