"""Replay and rebuild: catching a reconnecting client up, and rebuilding an aggregate.

Replay: an arena gets `--missed` step events (bulk-inserted through the ORM's connection,
with the counters `complete_step` would leave), then a client reconnects to its feed with
`?after=<seq before them>` and the time until it holds every missed event (exactly once, in
order) is measured from the start of the handshake. The reference, in the same run on the
same server: reading the same events through `GET /api/arenas/{id}/events/` page by page.

Rebuild: an arena gets `--events` events the same way, then `arenas.aggregate.rebuild`
replays them (the work `verify_arenas` does per arena), in a process of its own on the same
database; the reference is a bare SQL scan of the same rows, and the rebuilt aggregate must
equal the stored one.

    .venv/bin/python bench/replay.py                       # SQLite and PostgreSQL+Redis, daphne
    .venv/bin/python bench/replay.py --db postgres --events 1000000 --missed 10000
"""

from __future__ import annotations

import json
import statistics
import time

import common


async def _reconnect(server: common.LiveServer, arena_id: str, token: str, after: int, missed: int):
    """Seconds from the handshake until `missed` events after `after` are in, and whether
    they came exactly once, in order."""
    start = time.perf_counter()
    ws, _ = await common.open_feed(server, arena_id, token, after=after)
    snapshot_at = time.perf_counter() - start
    expected = after + 1
    ok = True
    try:
        while expected <= after + missed:
            message = json.loads(await ws.recv())
            if message.get("type") != "event":
                continue
            ok = ok and message["event"]["seq"] == expected
            expected = message["event"]["seq"] + 1
    finally:
        took = time.perf_counter() - start
        await ws.close()
    return took, snapshot_at, ok


async def _rest_pages(
    server: common.LiveServer, arena_id: str, token: str, after: int, missed: int
):
    client = common.HttpConnection(server.port, token)
    start = time.perf_counter()
    got = 0
    cursor = after
    while got < missed:
        status, body = await client.request(
            "GET", f"/api/arenas/{arena_id}/events/?after={cursor}&limit=500"
        )
        if status != 200:
            raise RuntimeError(f"events page: {status} {body[:200]!r}")
        page = json.loads(body)
        if not page["events"]:
            break
        got += len(page["events"])
        cursor = page["events"][-1]["seq"]
    await client.close()
    return time.perf_counter() - start, got


async def _replay_rounds(server: common.LiveServer, arena_id: str, token: str, after: int, args):
    rounds = []
    for _ in range(args.rounds):
        took, snapshot_at, ok = await _reconnect(server, arena_id, token, after, args.missed)
        rest, got = await _rest_pages(server, arena_id, token, after, args.missed)
        rounds.append((took, snapshot_at, ok, rest, got))
    return rounds


def replay(config: common.Configuration, args) -> dict:
    database = config.database()
    try:
        seed = common.run_in_tree(database, "arenas", agents=1, shared_members=1)
        arena_id, (agent, token) = seed["shared"], next(iter(seed["tokens"].items()))
        with config.server_on(database) as server:
            after = common.run_in_tree(database, "last_seq", arena_id=arena_id)
            common.run_in_tree(
                database, "step_events", arena_id=arena_id, agent_id=agent, count=args.missed
            )
            load = common.load_average()
            print(f"-- replay {args.missed} missed events, {server.describe()}; load {load}")
            rounds = common.run(_replay_rounds(server, arena_id, token, after, args))
        for took, snapshot_at, ok, rest, got in rounds:
            print(
                f"   websocket ?after={after}: {took * 1000:7.0f} ms for {args.missed} events "
                f"(snapshot after {snapshot_at * 1000:.0f} ms; exactly once in order: {ok}); "
                f"REST pages: {rest * 1000:.0f} ms for {got}"
            )
        best = min(r[0] for r in rounds)
        median = statistics.median(r[0] for r in rounds)
        rest_median = statistics.median(r[3] for r in rounds)
        return {
            "config": server.describe(),
            "median_ms": median * 1000,
            "best_ms": best * 1000,
            "rest_ms": rest_median * 1000,
            "ok": all(r[2] for r in rounds),
        }
    finally:
        database.drop()


def rebuild(db_kind: str, tree: common.Tree, args) -> dict:
    database = common.fresh_database(db_kind, tree)
    config = ", ".join(part for part in (db_kind, tree.label) if part)
    try:
        seed = common.run_in_tree(database, "arenas", agents=1, shared_members=1)
        arena_id, agent = seed["shared"], next(iter(seed["tokens"]))
        start = time.perf_counter()
        common.run_in_tree(
            database, "step_events", arena_id=arena_id, agent_id=agent, count=args.events
        )
        print(
            f"-- rebuild of {args.events} events, {config} "
            f"(bulk insert took {time.perf_counter() - start:.0f} s); load {common.load_average()}"
        )
        figures = common.run_in_tree(database, "rebuild", arena_id=arena_id, rounds=args.rounds)
        for took, scan in zip(figures["rebuild"], figures["scan"], strict=True):
            print(f"   rebuild {took:6.2f} s   (bare SQL scan of the same rows {scan:5.2f} s)")
        print(f"   rebuilt aggregate equals the stored one: {figures['equal']}")
        return {
            "config": config,
            "rebuild_s": statistics.median(figures["rebuild"]),
            "scan_s": statistics.median(figures["scan"]),
            "equal": figures["equal"],
        }
    finally:
        database.drop()


def main() -> None:
    parser = common.argument_parser(__doc__, "daphne")
    parser.add_argument("--missed", type=int, default=10_000, help="events replayed on reconnect")
    parser.add_argument("--events", type=int, default=1_000_000, help="events rebuilt")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--skip-replay", action="store_true")
    parser.add_argument("--skip-rebuild", action="store_true")
    args = common.begin(
        parser, "replay: catching up a reconnecting feed; rebuilding an aggregate from its log"
    )
    replays, rebuilds = [], []
    for db_kind in common.database_kinds(args):
        if not args.skip_replay:
            replays += [replay(c, args) for c in common.configurations(args) if c.db == db_kind]
        if not args.skip_rebuild:
            rebuilds += [rebuild(db_kind, tree, args) for tree in common.trees(args)]
    common.print_summary(
        "",
        [
            *(
                f"replay {args.missed} events, {r['config']:<38} median {r['median_ms']:6.0f} ms "
                f"(best {r['best_ms']:.0f}; REST pages {r['rest_ms']:.0f} ms)  "
                f"exactly once: {r['ok']}"
                for r in replays
            ),
            *(
                f"rebuild {args.events} events, {r['config']:<9} median {r['rebuild_s']:6.2f} s "
                f"(bare scan {r['scan_s']:.2f} s)  equal to stored: {r['equal']}"
                for r in rebuilds
            ),
        ],
    )


if __name__ == "__main__":
    main()
