"""The ceiling for step completions on this machine: a step completion's database and Redis
work alone, with no web stack.

N connections each run, in a closed loop, what a write costs PostgreSQL and Redis, from bare
psycopg (prepared statements, as the server uses them) and redis-py on one asyncio loop: no
Django, no HTTP, no JSON rendering, no domain rules. Two shapes:

- `statements`: exactly the statements a step completion sends (`bench/write_cost.py` lists
  them): the token lookup, BEGIN, the arena's row locked with the caller's participation, the
  completion check, the completion and event inserts, the arena's update, the participants
  read, COMMIT; then the two Redis publishes that announce the event.
- `one-statement`: the token lookup, then lock, inserts, update and participants as one SQL
  statement (a data-modifying CTE), then the two publishes. The server does not write this
  way (its rules run in Python between the lock and the inserts, on SQLite too); this is the
  bound for a write path rewritten into SQL.

No server running the same writes through Django can go faster than its shape does here; the
CPU per write printed for PostgreSQL and Redis is paid by the server's writes on top of its own.

    .venv/bin/python bench/write_ceiling.py
    .venv/bin/python bench/write_ceiling.py --shape statements --connections 32
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import time
import uuid
from datetime import UTC, datetime

import common

AUTH = (
    'SELECT a."agent_id", a."display_name", a."is_active", a."created_at", a."owner_id", '
    't."id", t."last_used_at" FROM "arenas_agenttoken" t JOIN "arenas_agent" a '
    'ON a."agent_id" = t."agent_id" WHERE t."digest" = %s AND t."revoked_at" IS NULL '
    'AND a."is_active" = %s'
)
LOCK = (
    'SELECT a."id", a."goal", a."status", a."strategy", a."total_steps", a."completed_steps", '
    'a."created_by_id", a."created_at", a."activated_at", a."settling_at", a."archived_at", '
    'a."last_seq", a."last_activity_at", a."settle_report", p."id", p."arena_id", '
    'p."agent_id", p."role", p."can_write_own_slot", p."can_read_other_slots", '
    'p."can_write_shared_memory", p."can_merge", p."joined_at", p."left_at", '
    'p."slot_status", p."current" FROM "arenas_arena" a LEFT JOIN "arenas_participant" p '
    'ON p."arena_id" = a."id" AND p."agent_id" = %s AND p."left_at" IS NULL '
    'WHERE a."id" = %s FOR UPDATE OF a'
)
COMPLETED = (
    'SELECT c."step" FROM "arenas_stepcompletion" c WHERE c."arena_id" = %s AND c."step" IN (%s)'
)
INSERT_COMPLETION = (
    'INSERT INTO "arenas_stepcompletion" ("arena_id", "step", "agent_id", "completed_at") '
    'VALUES (%s, %s, %s, %s) RETURNING "id"'
)
INSERT_EVENT = (
    'INSERT INTO "arenas_event" ("arena_id", "seq", "type", "timestamp", "actor", "data") '
    'VALUES (%s, %s, %s, %s, %s, %s) RETURNING "id"'
)
UPDATE_ARENA = (
    'UPDATE "arenas_arena" SET "last_seq" = %s, "last_activity_at" = %s, '
    '"completed_steps" = %s WHERE "id" = %s'
)
PARTICIPANTS = (
    'SELECT "agent_id" FROM "arenas_participant" WHERE "arena_id" = %s AND "left_at" IS NULL'
)
ONE_STATEMENT = """
WITH a AS (
    SELECT "id", "completed_steps" + 1 AS step, "last_seq" + 1 AS seq
    FROM "arenas_arena" WHERE "id" = %(arena)s FOR UPDATE
), c AS (
    INSERT INTO "arenas_stepcompletion" ("arena_id", "step", "agent_id", "completed_at")
    SELECT "id", step, %(agent)s, %(now)s FROM a RETURNING "id"
), e AS (
    INSERT INTO "arenas_event" ("arena_id", "seq", "type", "timestamp", "actor", "data")
    SELECT "id", seq, 'step_completed', %(now)s, %(agent)s, jsonb_build_object(
        'step', step, 'agent_id', %(agent)s::text, 'completed_steps', step, 'total_steps', 0
    ) FROM a RETURNING "id"
), u AS (
    UPDATE "arenas_arena" r SET "last_seq" = a.seq, "completed_steps" = a.step,
        "last_activity_at" = %(now)s
    FROM a WHERE r."id" = a."id" RETURNING r."id"
)
SELECT a.step, a.seq, (SELECT count(*) FROM c) + (SELECT count(*) FROM e)
    + (SELECT count(*) FROM u), ARRAY(
        SELECT "agent_id" FROM "arenas_participant"
        WHERE "arena_id" = %(arena)s AND "left_at" IS NULL
    )
FROM a
"""
SHAPES = ("statements", "one-statement")


async def _statements(conn, digest: str, agent: str, arena: uuid.UUID) -> tuple[int, int]:
    from psycopg.types.json import Jsonb

    await (await conn.execute(AUTH, [digest, True])).fetchone()
    async with conn.transaction():
        row = await (await conn.execute(LOCK, [agent, arena])).fetchone()
        step, seq, now = row[5] + 1, row[11] + 1, datetime.now(UTC)
        await (await conn.execute(COMPLETED, [arena, step])).fetchall()
        await conn.execute(INSERT_COMPLETION, [arena, step, agent, now])
        data = {"step": step, "agent_id": agent, "completed_steps": step, "total_steps": 0}
        await conn.execute(INSERT_EVENT, [arena, seq, "step_completed", now, agent, Jsonb(data)])
        await conn.execute(UPDATE_ARENA, [seq, now, step, arena])
        await (await conn.execute(PARTICIPANTS, [arena])).fetchall()
    return step, seq


async def _one_statement(conn, digest: str, agent: str, arena: uuid.UUID) -> tuple[int, int]:
    await (await conn.execute(AUTH, [digest, True])).fetchone()
    params = {"arena": arena, "agent": agent, "now": datetime.now(UTC)}
    # One statement in autocommit is its own transaction: no BEGIN or COMMIT round trip.
    step, seq, written, _participants = await (await conn.execute(ONE_STATEMENT, params)).fetchone()
    assert written == 3, "the completion, the event and the arena's update"
    return step, seq


async def _write(shape: str, conn, redis, prefix: str, digest: str, agent: str, arena) -> None:
    write = _statements if shape == "statements" else _one_statement
    step, seq = await write(conn, digest, agent, arena)
    data = {"step": step, "agent_id": agent, "completed_steps": step, "total_steps": 0}
    wire = json.dumps({"arena_id": str(arena), "seq": seq, "type": "step_completed", **data})
    await redis.publish(f"{prefix}arena.{arena.hex}", wire)
    await redis.publish(f"{prefix}dashboard", json.dumps({"arena_id": str(arena), "seq": seq}))


async def _measure(
    shape: str, database: common.Database, seed: dict, seconds: float, warmup: float
) -> float:
    import psycopg
    import redis.asyncio as aioredis

    prefix = f"aleph-ceiling-{uuid.uuid4().hex[:8]}:"
    redis = aioredis.from_url(common.REDIS_URL, max_connections=len(seed["arenas"]))
    latencies: list[float] = []
    start = time.perf_counter()
    measure_from, stop_at = start + warmup, start + warmup + seconds
    marks: dict[str, float] = {}

    async def agent(entry: dict) -> None:
        token = seed["tokens"][entry["agent"]]
        digest = hashlib.sha256(token.encode()).hexdigest()  # as arenas.agents.digest
        arena = uuid.UUID(entry["id"])
        # Autocommit, as Django connects: BEGIN and COMMIT only around the transaction.
        conn = await psycopg.AsyncConnection.connect(
            database.url, autocommit=True, prepare_threshold=2
        )
        try:
            while (now := time.perf_counter()) < stop_at:
                await _write(shape, conn, redis, prefix, digest, entry["agent"], arena)
                done = time.perf_counter()
                if now >= measure_from and done <= stop_at:
                    latencies.append(done - now)
        finally:
            await conn.close()

    async def marker() -> None:
        await asyncio.sleep(max(0.0, measure_from - time.perf_counter()))
        pg, rd = common.pids_named("postgres"), common.pids_named("redis-server")
        marks.update(
            pg=common.cpu_seconds(pg), rd=common.cpu_seconds(rd), me=common.own_cpu_seconds()
        )
        await asyncio.sleep(max(0.0, stop_at - time.perf_counter()))
        marks.update(
            pg=common.cpu_seconds(pg) - marks["pg"],
            rd=common.cpu_seconds(rd) - marks["rd"],
            me=common.own_cpu_seconds() - marks["me"],
        )

    await asyncio.gather(marker(), *(agent(entry) for entry in seed["arenas"]))
    await redis.aclose()
    count = max(len(latencies), 1)
    total = marks["pg"] + marks["rd"] + marks["me"]
    print(
        f"   {len(latencies) / seconds:8.0f} writes/s  {common.summary_ms(latencies)}\n"
        f"   CPU µs per write: PostgreSQL {marks['pg'] / count * 1e6:5.0f}, "
        f"Redis {marks['rd'] / count * 1e6:4.0f}, this client {marks['me'] / count * 1e6:4.0f}; "
        f"all together {total / seconds:.2f} cores busy"
    )
    return len(latencies) / seconds


def ceiling(connections: int, seconds: float, warmup: float, shape: str = "statements") -> float:
    """One measurement of `shape` on a fresh PostgreSQL database of its own (printed); its
    writes/s. `bench/writes.py --ceiling` runs it beside a server's writes."""
    database = common.fresh_database("postgres")
    try:
        seed = common.run_in_tree(database, "arenas", count=connections, agents=connections)
        print(
            f"-- ceiling ({shape}): PostgreSQL + Redis, {connections} connections, "
            f"{seconds:.0f} s; load average {common.load_average()}"
        )
        return asyncio.run(_measure(shape, database, seed, seconds, warmup))
    finally:
        database.drop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--connections", type=int, default=16, help="concurrent writers")
    parser.add_argument("--seconds", type=float, default=10.0, help="measured time")
    parser.add_argument("--warmup", type=float, default=2.0, help="unmeasured time first")
    parser.add_argument("--shape", default=",".join(SHAPES), help=f"comma list of {SHAPES}")
    args = parser.parse_args()
    common.banner("write ceiling: a step completion's SQL and Redis publishes, no web stack")
    for shape in args.shape.split(","):
        if shape not in SHAPES:
            parser.error(f"unknown shape {shape!r}")
        ceiling(args.connections, args.seconds, args.warmup, shape)


if __name__ == "__main__":
    main()
