"""The benchmarks' work inside the measured tree: seeding through its domain, and timing its
aggregate rebuild. Run in a subprocess by `common.run_in_tree(database, command, **params)`:

    python bench/in_tree.py <command> '<json params>'     # prints one line of JSON

with the database's environment (DATABASE_URL, settings) and the tree's directory first on
PYTHONPATH, so `arenas` is the tree's own (`--source`), not necessarily this checkout's. It
imports nothing from the harness, which another tree may not have.
"""

from __future__ import annotations

import json
import sys
import time
from typing import Any


def seed_agents(count: int, prefix: str = "agent") -> dict[str, str]:
    """Create `count` agents, each with one token: {agent_id: token}."""
    from arenas.agents import create_agent, issue_token

    tokens = {}
    for i in range(count):
        agent = create_agent(f"{prefix}-{i:05d}")
        tokens[agent.agent_id], _ = issue_token(agent)
    return tokens


def seed_arenas(
    count: int = 0,
    agents: int = 0,
    shared_members: int = 0,
    total_steps: int = 0,
    prefix: str = "agent",
) -> dict[str, Any]:
    """`agents` agents with tokens (ids starting with `prefix`); `count` active arenas,
    arena i created by agent i % agents; and, when `shared_members` > 0, one more active
    arena whose creator is agent 0 and whose other members are agents 1..shared_members-1
    as workers."""
    from arenas.manager import ArenaManager

    manager = ArenaManager()
    tokens = seed_agents(agents, prefix)
    ids = list(tokens)
    arenas = []
    for i in range(count):
        creator = ids[i % len(ids)]
        arena_id = manager.create(
            {"goal": f"bench arena {i}", "total_steps": total_steps}, created_by=creator
        )
        manager.handle(arena_id, creator).act("activate")
        arenas.append({"id": str(arena_id), "agent": creator})
    shared = None
    if shared_members:
        members = [{"agent_id": a, "role": "worker"} for a in ids[1:shared_members]]
        arena_id = manager.create(
            {"goal": "bench shared arena", "total_steps": total_steps, "participants": members},
            created_by=ids[0],
        )
        manager.handle(arena_id, ids[0]).act("activate")
        shared = str(arena_id)
    return {"tokens": tokens, "arenas": arenas, "shared": shared}


def seed_step_events(arena_id: str, agent_id: str, count: int) -> dict[str, Any]:
    """Append `count` step_completed events (steps last+1 …) to an active open-ended arena in
    bulk, with their StepCompletion rows and the arena's counters, as `complete_step` would
    leave them: the stored aggregate still equals the replayed one. COPY on PostgreSQL,
    executemany on SQLite, in batches of one transaction each."""
    from django.db import connection, transaction
    from django.utils import timezone

    from arenas.events import FIELDS
    from arenas.models import Arena, Event, EventType, StepCompletion

    assert FIELDS[EventType.STEP_COMPLETED] == (
        "step",
        "agent_id",
        "completed_steps",
        "total_steps",
    )
    event_table = Event._meta.db_table
    completion_table = StepCompletion._meta.db_table
    batch = 50_000
    done = 0
    while done < count:
        size = min(batch, count - done)
        with transaction.atomic():
            arena = Arena.objects.select_for_update().get(pk=arena_id)
            now = timezone.now()
            first_seq = arena.last_seq + 1
            first_step = arena.completed_steps + 1
            arena_hex = arena.id.hex if connection.vendor == "sqlite" else str(arena.id)
            event_rows = []
            completion_rows = []
            for i in range(size):
                step = first_step + i
                data = json.dumps(
                    {
                        "step": step,
                        "agent_id": agent_id,
                        "completed_steps": step,
                        "total_steps": arena.total_steps,
                    }
                )
                event_rows.append(
                    (arena_hex, first_seq + i, EventType.STEP_COMPLETED, now, agent_id, data)
                )
                completion_rows.append((arena_hex, step, agent_id, now))
            event_columns = "arena_id, seq, type, timestamp, actor, data"
            completion_columns = "arena_id, step, agent_id, completed_at"
            with connection.cursor() as cursor:
                if connection.vendor == "postgresql":
                    raw = cursor.cursor
                    with raw.copy(f"COPY {event_table} ({event_columns}) FROM STDIN") as copy:
                        for row in event_rows:
                            copy.write_row(row)
                    with raw.copy(
                        f"COPY {completion_table} ({completion_columns}) FROM STDIN"
                    ) as copy:
                        for row in completion_rows:
                            copy.write_row(row)
                else:
                    stamp = connection.ops.adapt_datetimefield_value(now)
                    cursor.executemany(
                        f"INSERT INTO {event_table} ({event_columns}) "
                        "VALUES (%s, %s, %s, %s, %s, %s)",
                        [(*r[:3], stamp, *r[4:]) for r in event_rows],
                    )
                    cursor.executemany(
                        f"INSERT INTO {completion_table} ({completion_columns}) "
                        "VALUES (%s, %s, %s, %s)",
                        [(*r[:3], stamp) for r in completion_rows],
                    )
            fields = ["last_seq", "completed_steps", "last_activity_at"]
            if getattr(arena, "completed_prefix", None) == first_step - 1:
                # In order from the prefix, as complete_step keeps it (trees with claims).
                arena.completed_prefix = first_step + size - 1
                fields.append("completed_prefix")
            arena.last_seq += size
            arena.completed_steps += size
            arena.last_activity_at = now
            arena.save(update_fields=fields)
        done += size
    arena = Arena.objects.get(pk=arena_id)
    return {"last_seq": arena.last_seq, "completed_steps": arena.completed_steps}


def seed_mixed(writes: int) -> dict[str, Any]:
    """An active open-ended arena of four agents with `writes` writes through the domain,
    in turn: a claim, progress, a message, the claimed step's completion, and every tenth
    round an artifact and a fact. Its id, the agent that coordinates it, its last seq."""
    from arenas.manager import ArenaManager

    manager = ArenaManager()
    ids = list(seed_agents(4, "hist"))
    members = [{"agent_id": a, "role": "worker"} for a in ids[1:]]
    arena_id = manager.create(
        {"goal": "history bench", "total_steps": 0, "participants": members},
        created_by=ids[0],
    )
    manager.handle(arena_id, ids[0]).act("activate")
    step = 0
    done = 0
    while done < writes:
        step += 1
        handle = manager.handle(arena_id, ids[step % 4])
        claim, _event = handle.claim_step(step)
        handle.report_progress(f"step {step}", "working")
        handle.post_message(f"on step {step}")
        handle.complete_step(step, claim.claim_id)
        done += 4
        if step % 10 == 0:
            handle.publish_artifact("text", f"notes {step}", "x" * 200)
            handle.share_fact(f"fact {step}", 0.9, ["bench"])
            done += 2
    return {"arena_id": str(arena_id), "agent": ids[0], "last_seq": last_seq(str(arena_id))}


def time_state(arena_id: str, at: int, rounds: int) -> dict[str, Any]:
    """Seconds per `ArenaHandle.state(at)` (a coordinator's) encoded to JSON, `rounds`
    times: the work of GET /api/arenas/{id}/state/?at= without HTTP; wall clock and this
    process's CPU time (the database's own work is in the first, not the second)."""
    from arenas.manager import ArenaManager
    from arenas.models import Participant

    coordinator = Participant.objects.filter(arena_id=arena_id, role="coordinator").first()
    handle = ArenaManager().handle(arena_id, coordinator.agent_id)
    took, cpu = [], []
    size = 0
    for _ in range(rounds):
        start, start_cpu = time.perf_counter(), time.process_time()
        size = len(json.dumps(handle.state(at)))
        took.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
    return {"seconds": took, "cpu": cpu, "bytes": size}


def time_fork(arena_id: str, at: int) -> dict[str, Any]:
    """Seconds for `ArenaHandle.fork(at)` by a coordinator (wall clock and this process's
    CPU time); the fork's last seq."""
    from arenas.manager import ArenaManager
    from arenas.models import Participant

    coordinator = Participant.objects.filter(arena_id=arena_id, role="coordinator").first()
    handle = ArenaManager().handle(arena_id, coordinator.agent_id)
    start, start_cpu = time.perf_counter(), time.process_time()
    fork = handle.fork(at)
    took = time.perf_counter() - start
    cpu = time.process_time() - start_cpu
    return {"seconds": took, "cpu": cpu, "fork_last_seq": fork.last_seq}


def last_seq(arena_id: str) -> int:
    from arenas.models import Arena

    return Arena.objects.get(pk=arena_id).last_seq


def time_rebuild(arena_id: str, rounds: int) -> dict[str, Any]:
    """Time `arenas.aggregate.rebuild` of the arena and a bare SQL scan of the same rows,
    `rounds` times each; whether the rebuilt aggregate equals the stored one."""
    from django.db import connection

    from arenas.aggregate import ArenaAggregate, rebuild
    from arenas.models import Arena, Event

    rebuilds, scans, rebuilt = [], [], None
    table = Event._meta.db_table
    key = arena_id.replace("-", "") if connection.vendor == "sqlite" else arena_id
    for _ in range(rounds):
        start = time.perf_counter()
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT seq, type, data FROM {table} WHERE arena_id = %s ORDER BY seq", [key]
            )
            while cursor.fetchmany(5000):
                pass
        scans.append(time.perf_counter() - start)
        start = time.perf_counter()
        rebuilt = rebuild(arena_id)
        rebuilds.append(time.perf_counter() - start)
    stored = ArenaAggregate.of(Arena.objects.get(pk=arena_id))
    return {"rebuild": rebuilds, "scan": scans, "equal": rebuilt == stored}


def subscribe(url: str, arenas: list[str] | None = None) -> dict[str, Any]:
    """A webhook subscription of a staff user to `url` (every arena when `arenas` is None):
    its id and secret."""
    from django.contrib.auth import get_user_model

    from arenas.webhooks import subscriptions

    staff, _ = get_user_model().objects.get_or_create(username="bench-staff", is_staff=True)
    created = subscriptions.create(staff, url, arenas)
    return {"id": str(created.id), "secret": created.secret}


def unsubscribe(subscription_id: str) -> None:
    from arenas.models import WebhookSubscription

    WebhookSubscription.objects.filter(pk=subscription_id).delete()


def seed_usage(agents: int) -> dict[str, Any]:
    """For bench/usage.py: `agents` agents with tokens; per agent an active open-ended arena
    of its own without a budget and one with a budget it never reaches (`plain`,
    `budgeted`); and one arena of all of them with a budget (`crowd`)."""
    from arenas.manager import ArenaManager

    manager = ArenaManager()
    tokens = seed_agents(agents, "spender")
    ids = list(tokens)
    huge = {"cost_usd": "1000000", "tokens": 10**15, "per_agent_cost_usd": "1000000"}

    def arena(creator: str, members: list[str], **config: Any) -> str:
        arena_id = manager.create(
            {
                "goal": "bench usage",
                "total_steps": 0,
                "participants": [{"agent_id": a, "role": "worker"} for a in members],
                **config,
            },
            created_by=creator,
        )
        manager.handle(arena_id, creator).act("activate")
        return str(arena_id)

    return {
        "tokens": tokens,
        "plain": {a: arena(a, []) for a in ids},
        "budgeted": {a: arena(a, [], budget=huge) for a in ids},
        "crowd": arena(ids[0], ids[1:], budget={"cost_usd": "1000"}),
    }


def check_usage(arena_id: str) -> dict[str, Any]:
    """The arena's stored usage totals, whether its log is gapless, and what
    `verify_arenas` finds in it."""
    from arenas.management.commands.verify_arenas import verify
    from arenas.models import Arena, Event

    seqs = list(
        Event.objects.filter(arena_id=arena_id).order_by("seq").values_list("seq", flat=True)
    )
    return {
        "usage": Arena.objects.get(pk=arena_id).usage,
        "gapless": seqs == list(range(1, len(seqs) + 1)),
        "problems": [str(p) for p in verify(arena_id)],
    }


COMMANDS = {
    "agents": seed_agents,
    "usage": seed_usage,
    "check_usage": check_usage,
    "arenas": seed_arenas,
    "step_events": seed_step_events,
    "last_seq": last_seq,
    "rebuild": time_rebuild,
    "mixed": seed_mixed,
    "state": time_state,
    "fork": time_fork,
    "subscribe": subscribe,
    "unsubscribe": unsubscribe,
}


if __name__ == "__main__":
    if len(sys.argv) != 3 or sys.argv[1] not in COMMANDS:
        sys.exit(f"usage: python bench/in_tree.py <{'|'.join(COMMANDS)}> '<json>'")
    import django

    django.setup()
    print(json.dumps(COMMANDS[sys.argv[1]](**json.loads(sys.argv[2]))))
