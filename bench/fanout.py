"""Fan-out: M websocket subscribers on one arena, events written through the REST API.

For each M (10, 100, 1000 by default) the subscribers connect (each gets its snapshot), then
a writer in a process of its own completes steps through `POST /api/arenas/{id}/steps/`:
first paced (`--events` at `--rate` per second: the latency an event sees on a quiet feed),
then a burst (`--burst` back-to-back: the deliveries per second the server sustains).
Latency is the time from the moment the writer has the write's response to the moment a
subscriber has the event (wall clock, same machine); it can be negative, as the server rings
the doorbell before it answers the writer. Every subscriber must see every written event
exactly once and in order: missing, duplicated and out-of-order counts must be 0.

    .venv/bin/python bench/fanout.py   # SQLite, PostgreSQL+Redis; daphne, uvicorn
    .venv/bin/python bench/fanout.py --db postgres --server daphne --subscribers 1000
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import multiprocessing
import time
from collections import Counter
from dataclasses import dataclass, field

import common

MEMBERS = 10


def _writer_main(conn, port: int, token: str, arena_id: str, first_step: int = 1) -> None:
    """The writer process: on ("write", count, interval) complete `count` steps (the first
    `first_step`), one every `interval` seconds (0: back to back); answer
    [(seq, sent, answered, status), ...]."""

    async def write(count: int, interval: float, first_step: int) -> list[tuple]:
        client = common.HttpConnection(port, token)
        done = []
        start = time.perf_counter()
        for i in range(count):
            if interval:
                await asyncio.sleep(max(0.0, start + i * interval - time.perf_counter()))
            sent = time.time()
            status, body = await client.request(
                "POST", f"/api/arenas/{arena_id}/steps/", {"step": first_step + i}
            )
            answered = time.time()
            seq = json.loads(body)["event"]["seq"] if status == 201 else None
            done.append((seq, sent, answered, status))
        await client.close()
        return done

    step = first_step
    while True:
        message = conn.recv()
        if message[0] == "stop":
            return
        _, count, interval = message
        conn.send(common.run(write(count, interval, step)))
        step += count


@dataclass
class Feed:
    """What one subscriber saw."""

    arrivals: dict[int, float] = field(default_factory=dict)
    duplicates: int = 0
    out_of_order: int = 0
    last: int = 0


class Subscribers:
    """Every subscriber's feed, and an event set once each has every expected event."""

    def __init__(self) -> None:
        self.feeds: list[Feed] = []
        self.received = Counter()
        self.wanted: set[int] = set()
        self.got = 0
        self.target = 0
        self.complete = asyncio.Event()

    def expect(self, seqs: list[int]) -> None:
        self.wanted = set(seqs)
        self.target = len(seqs) * len(self.feeds)
        self.got = sum(self.received[s] for s in self.wanted)
        self.complete.clear()
        self._check()

    def _check(self) -> None:
        if self.target and self.got >= self.target:
            self.complete.set()

    async def listen(self, ws, feed: Feed) -> None:
        try:
            async for message in ws:
                now = time.time()
                data = json.loads(message)
                if data.get("type") != "event":
                    continue
                seq = data["event"]["seq"]
                if seq in feed.arrivals:
                    feed.duplicates += 1
                    continue
                if seq < feed.last:
                    feed.out_of_order += 1
                feed.last = max(feed.last, seq)
                feed.arrivals[seq] = now
                self.received[seq] += 1
                if seq in self.wanted:
                    self.got += 1
                    self._check()
        except Exception:  # a dropped feed shows as missing events
            return


@dataclass
class Result:
    name: str
    latencies: list[float]
    from_request: list[float]
    missing: int
    duplicates: int
    out_of_order: int
    errors: int
    deliveries_per_s: float
    server_cpu: float
    client_cpu: float
    write_times: list[float]

    def line(self) -> str:
        return (
            f"   {self.name:<8} after response {common.summary_ms(self.latencies)}\n"
            f"   {'':<8} after request  {common.summary_ms(self.from_request)}\n"
            f"   {'':<8} {self.deliveries_per_s:8.0f} deliveries/s  missing {self.missing}  "
            f"duplicated {self.duplicates}  out of order {self.out_of_order}  "
            f"write errors {self.errors}\n"
            f"   {'':<8} writes answered in {common.summary_ms(self.write_times)}; "
            "CPU per delivery: "
            f"server {self.server_cpu / max(len(self.latencies), 1) * 1e6:.0f} µs, "
            f"subscribers' client {self.client_cpu / max(len(self.latencies), 1) * 1e6:.0f} µs"
        )


async def _round(
    name: str, subs: Subscribers, writer, server: common.LiveServer, count: int, interval: float
) -> Result:
    pids = server.worker_pids()
    cpu_before, client_before = common.cpu_seconds(pids), common.own_cpu_seconds()
    writer.send(("write", count, interval))
    writes = await asyncio.get_running_loop().run_in_executor(None, writer.recv)
    ok = [w for w in writes if w[3] == 201]
    subs.expect([w[0] for w in ok])
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(subs.complete.wait(), timeout=60)
    await asyncio.sleep(0.5)  # late duplicates would arrive now
    server_cpu = common.cpu_seconds(pids) - cpu_before
    client_cpu = common.own_cpu_seconds() - client_before
    latencies, from_request, missing = [], [], 0
    last_arrival = 0.0
    for feed in subs.feeds:
        for seq, sent, answered, _ in ok:
            arrived = feed.arrivals.get(seq)
            if arrived is None:
                missing += 1
                continue
            latencies.append(arrived - answered)
            from_request.append(arrived - sent)
            last_arrival = max(last_arrival, arrived)
    delivered = len(latencies)
    span = last_arrival - ok[0][1] if ok and delivered else float("inf")
    return Result(
        name,
        latencies,
        from_request,
        missing,
        sum(f.duplicates for f in subs.feeds),
        sum(f.out_of_order for f in subs.feeds),
        len(writes) - len(ok),
        delivered / span,
        server_cpu,
        client_cpu,
        [answered - sent for _, sent, answered, _ in ok],
    )


async def _measure(server: common.LiveServer, seed: dict, writer, count: int, args) -> list[Result]:
    tokens = list(seed["tokens"].values())
    arena_id = seed["shared"]
    subs = Subscribers()

    async def opener(i: int):
        return await common.open_feed(server, arena_id, tokens[1 + i % (len(tokens) - 1)])

    opened, errors, took = await common.open_many(count, opener)
    sockets = [o[0] for o in opened if o is not None]
    print(
        f"   {len(sockets)} subscribers connected in {took:.1f} s "
        f"({len(sockets) / took:.0f}/s), {len(errors)} refused"
        + (f": {errors[0]}" if errors else "")
    )
    subs.feeds = [Feed() for _ in sockets]
    tasks = [
        asyncio.create_task(subs.listen(ws, feed))
        for ws, feed in zip(sockets, subs.feeds, strict=True)
    ]
    results = [
        await _round("paced", subs, writer, server, args.events, 1 / args.rate),
        await _round("burst", subs, writer, server, args.burst, 0),
    ]
    for ws in sockets:
        await ws.close()
    await asyncio.gather(*tasks, return_exceptions=True)
    return results


def bench(config: common.Configuration, args) -> list[tuple[str, int, Result]]:
    out = []
    for count in args.subscribers:
        database = config.database()
        try:
            seed = common.run_in_tree(
                database, "arenas", agents=MEMBERS + 1, shared_members=MEMBERS + 1
            )
            with config.server_on(database, workers=args.workers) as server:
                print(f"-- {server.describe()}: {count} subscribers; load {common.load_average()}")
                parent, child = multiprocessing.Pipe()
                token = seed["tokens"]["agent-00000"]
                writer = multiprocessing.get_context("fork").Process(
                    target=_writer_main, args=(child, server.port, token, seed["shared"])
                )
                writer.start()
                try:
                    for result in common.run(_measure(server, seed, parent, count, args)):
                        print(result.line())
                        out.append((server.describe(), count, result))
                finally:
                    parent.send(("stop",))
                    writer.join(timeout=10)
        finally:
            database.drop()
    return out


def main() -> None:
    parser = common.argument_parser(__doc__, "daphne,uvicorn", settings=True)
    parser.add_argument("--workers", type=int, default=1, help="server processes (Redis only)")
    parser.add_argument(
        "--subscribers",
        type=lambda v: [int(x) for x in v.split(",")],
        default=[10, 100, 1000],
        help="comma list of subscriber counts",
    )
    parser.add_argument("--events", type=int, default=20, help="paced events per round")
    parser.add_argument("--rate", type=float, default=4.0, help="paced events per second")
    parser.add_argument("--burst", type=int, default=50, help="back-to-back events per round")
    args = common.begin(parser, "fan-out: one arena's events to M websocket subscribers")
    chosen = common.configurations(args)
    if args.workers > 1 and not all(config.redis for config in chosen):
        parser.error("several server processes share a feed only through Redis")
    results = [result for config in chosen for result in bench(config, args)]
    paced = [(config, count, r) for config, count, r in results if r.name == "paced"]
    burst = [(config, count, r) for config, count, r in results if r.name == "burst"]
    common.print_summary(
        "(latency after the write's response; paced round)",
        (
            f"{config:<38} M={count:<5} {common.summary_ms(r.latencies)}  "
            f"missing {r.missing} dup {r.duplicates}"
            for config, count, r in paced
        ),
    )
    common.print_summary(
        "(burst round)",
        (
            f"{config:<38} M={count:<5} {r.deliveries_per_s:8.0f} deliveries/s  "
            f"{common.summary_ms(r.latencies)}  missing {r.missing} dup {r.duplicates}"
            for config, count, r in burst
        ),
    )


if __name__ == "__main__":
    main()
