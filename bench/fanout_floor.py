"""Fan-out against its floor: one arena's events to M websocket subscribers, beside a bare ASGI
broadcaster (bench/floor_app.py) under the same server, client and writer, in alternating
rounds.

Each round starts a server, connects M subscribers (each gets its snapshot), lets a writer in
a process of its own post a warm-up burst and then `--events` back-to-back step completions
(`POST /api/arenas/{id}/steps/`; the floor takes the same request and broadcasts a frame of
the same shape), and stops the server. Deliveries/s is the events every subscriber received
over the time from the first write sent to the last arrival (as bench/fanout.py counts them);
every subscriber must see every event exactly once and in order. The rounds alternate floor,
arena (each `--source` tree in turn), floor, ..., and each arena figure is printed with its
ratio to the floor's mean; the summary gives each configuration's mean and ratio.

    .venv/bin/python bench/fanout_floor.py                      # SQLite, PostgreSQL+Redis; daphne
    .venv/bin/python bench/fanout_floor.py --db sqlite --subscribers 200 --rounds 2
    .venv/bin/python bench/fanout_floor.py --source /tmp/before,.
    .venv/bin/python bench/fanout_floor.py --db postgres --writes-to granian-wsgi

`--writes-to KIND` measures the production layout (docs/deploy.md): the arena's writes go to
a server of that kind over the same database and Redis (HTTP under granian over WSGI), while
the subscribers' feeds stay on the measured server, which then does nothing but fan out (and
is told of each event by Redis). The floor takes its writes itself, as ever. The server CPU
per delivery counts the feed's server only; the write server's is printed beside it.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import multiprocessing
import statistics
from collections import defaultdict
from dataclasses import dataclass, replace

import common
from fanout import MEMBERS, Feed, Result, Subscribers, _round, _writer_main

FLOOR_APP = "bench.floor_app:application"


@dataclass(frozen=True)
class Target:
    """What a round serves: the floor, or one source tree's arena feed."""

    name: str
    config: common.Configuration | None  # None: the floor


async def _measure(server: common.LiveServer, tokens: list[str], arena_id: str, writer, args):
    subs = Subscribers()

    async def opener(i: int):
        return await common.open_feed(server, arena_id, tokens[1 + i % (len(tokens) - 1)])

    opened, errors, took = await common.open_many(args.subscribers_now, opener)
    sockets = [o[0] for o in opened if o is not None]
    subs.feeds = [Feed() for _ in sockets]
    tasks = [
        asyncio.create_task(subs.listen(ws, feed))
        for ws, feed in zip(sockets, subs.feeds, strict=True)
    ]
    try:
        if args.warmup:
            await _round("warm-up", subs, writer, server, args.warmup, 0)
        result = await _round("burst", subs, writer, server, args.events, 0)
    finally:
        for ws in sockets:
            await ws.close()
        await asyncio.gather(*tasks, return_exceptions=True)
    refused = f", {len(errors)} refused: {errors[0]}" if errors else ""
    return result, f"{len(sockets)} connected in {took:.1f} s{refused}"


def _serve(target: Target, database: common.Database, seed: dict | None, step: int, args):
    """One round of `target`: (Result, note)."""
    writes = None  # the server that takes the writes, when it is not the measured one
    if target.config is None:
        server = common.LiveServer(database, kind=args.server_now, app=FLOOR_APP, label="floor")
        tokens, arena_id = ["-", "-"], "floor"
    else:
        server = target.config.server_on(database)
        tokens, arena_id = list(seed["tokens"].values()), seed["shared"]
        if args.writes_to:
            writes = replace(target.config, server=args.writes_to).server_on(database)
    with server, writes or contextlib.nullcontext():
        parent, child = multiprocessing.Pipe()
        port = (writes or server).port
        writer = multiprocessing.get_context("fork").Process(
            target=_writer_main, args=(child, port, tokens[0], arena_id, step)
        )
        writer.start()
        cpu_before = common.cpu_seconds(writes.worker_pids()) if writes else 0.0
        try:
            result, note = common.run(_measure(server, tokens, arena_id, parent, args))
        finally:
            parent.send(("stop",))
            writer.join(timeout=10)
        if writes:
            per_write = (common.cpu_seconds(writes.worker_pids()) - cpu_before) / max(
                args.events + args.warmup, 1
            )
            note += f"; writes to {writes.kind}: {per_write * 1000:.1f} ms of its CPU per write"
        return result, note


def _line(name: str, result: Result, floor: float | None, note: str) -> str:
    ratio = f"  = {result.deliveries_per_s / floor:4.0%} of the floor" if floor else ""
    per = max(len(result.latencies), 1)
    return (
        f"   {name:<34} {result.deliveries_per_s:8.0f} deliveries/s{ratio}  "
        f"server CPU {result.server_cpu / per * 1e6:4.0f} µs/delivery  "
        f"writes p50 {common.percentile(result.write_times, 50) * 1000:4.0f} ms  "
        f"missing {result.missing} dup {result.duplicates} order {result.out_of_order}  "
        f"({note})"
    )


def bench(group: list[common.Configuration], args) -> list[tuple[str, int, str, list[float]]]:
    """Every round of one database and server: the floor and each tree, alternating."""
    first = group[0]
    floor_db = common.fresh_database("sqlite")
    databases = {config.tree.label: config.database() for config in group}
    seeds = {
        label: common.run_in_tree(db, "arenas", agents=MEMBERS + 1, shared_members=MEMBERS + 1)
        for label, db in databases.items()
    }
    targets = [Target("floor", None)] + [
        Target(config.tree.label or "arena feed", config) for config in group
    ]
    out = []
    try:
        steps = itertools.count(1, args.events + args.warmup)
        for count in args.subscribers:
            args.subscribers_now = count
            print(
                f"-- {first.server}, {first.db}, {'redis' if first.redis else 'in-memory layer'}: "
                f"{count} subscribers, {args.events} events; load {common.load_average()}",
                flush=True,
            )
            rates: dict[str, list[float]] = defaultdict(list)
            for number in range(1, args.rounds + 1):
                for target in targets:
                    label = target.config.tree.label if target.config else ""
                    database = databases[label] if target.config else floor_db
                    result, note = _serve(target, database, seeds.get(label), next(steps), args)
                    floor = statistics.mean(rates["floor"]) if target.config else None
                    rates[target.name].append(result.deliveries_per_s)
                    print(_line(f"round {number}: {target.name}", result, floor, note), flush=True)
            for target in targets:
                out.append((target.name, count, f"{first.server}, {first.db}", rates[target.name]))
    finally:
        floor_db.drop()
        for db in databases.values():
            db.drop()
    return out


def main() -> None:
    parser = common.argument_parser(__doc__, "daphne")
    parser.add_argument(
        "--subscribers",
        type=lambda v: [int(x) for x in v.split(",")],
        default=[200, 1000],
        help="comma list of subscriber counts",
    )
    parser.add_argument("--events", type=int, default=50, help="measured events per round")
    parser.add_argument("--warmup", type=int, default=5, help="unmeasured events first")
    parser.add_argument("--rounds", type=int, default=3, help="rounds of each target")
    parser.add_argument(
        "--writes-to",
        choices=common.KINDS,
        help="send the arena's writes to a server of this kind (needs Redis: the layout of "
        "docs/deploy.md is --db postgres --writes-to granian-wsgi)",
    )
    args = common.begin(parser, "fan-out beside its floor: a bare ASGI broadcaster")
    if args.writes_to and not all(
        common.uses_redis(args, kind) for kind in common.database_kinds(args)
    ):
        parser.error("--writes-to needs the Redis layer (--layer redis, or --db postgres)")
    groups: dict[tuple, list[common.Configuration]] = defaultdict(list)
    for config in common.configurations(args):
        groups[(config.db, config.redis, config.server)].append(config)
    results = []
    for group in groups.values():
        args.server_now = group[0].server
        results += bench(group, args)
    lines = []
    floors = {
        (setup, count): statistics.mean(rates)
        for name, count, setup, rates in results
        if name == "floor"
    }
    for name, count, setup, rates in results:
        mean = statistics.mean(rates)
        floor = floors[(setup, count)]
        lines.append(
            f"{setup:<18} M={count:<5} {name:<34} {mean:8.0f} deliveries/s "
            f"(rounds {', '.join(f'{r:.0f}' for r in rates)})"
            + ("" if name == "floor" else f"  = {mean / floor:4.0%} of the floor")
        )
    common.print_summary("(mean deliveries/s of the rounds; ratio to the floor's mean)", lines)


if __name__ == "__main__":
    main()
