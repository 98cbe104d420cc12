"""The arena event log: event types and their fields, appending the next `seq`, and
announcing committed events on the channel layer.

`append` must run inside the transaction that makes the change, with the arena's row locked
(`sql.lock_arena`: `FOR UPDATE` on PostgreSQL, SQLite's IMMEDIATE transaction), so `seq` is
gapless and in commit order. The announcement happens in `transaction.on_commit`: a
rolled-back change never announces itself. The channel layer is only a doorbell; a lost
announcement is recovered by consumers from this log.
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
import time
import weakref
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any, TypeVar

from asgiref.sync import SyncToAsync, async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction
from django.utils import timezone

from . import metrics, sql
from .models import Arena, Event, EventType

logger = logging.getLogger(__name__)
T = TypeVar("T")

FIELDS: dict[str, tuple[str, ...]] = {
    EventType.ARENA_CREATED: ("goal", "strategy", "total_steps", "created_by", "forked_from"),
    EventType.AGENT_JOINED: ("agent_id", "role", "permissions"),
    EventType.AGENT_LEFT: ("agent_id",),
    EventType.STEP_COMPLETED: ("step", "agent_id", "completed_steps", "total_steps"),
    EventType.GOAL_UPDATED: ("new_goal",),
    EventType.STATUS_CHANGED: ("from_status", "to_status"),
    EventType.PROGRESS_UPDATED: ("agent_id", "current", "slot_status"),
    EventType.ARTIFACT_PUBLISHED: ("agent_id", "artifact_id", "kind", "title"),
    EventType.ARTIFACTS_MERGED: ("agent_id", "artifact_id", "sources"),
    EventType.FACT_SHARED: ("agent_id", "fact_id"),
    EventType.MESSAGE_POSTED: ("agent_id", "to", "text"),
    EventType.ARENA_SETTLED: ("facts_persisted", "artifacts_archived", "events_cleared"),
    EventType.STEP_CLAIMED: ("step", "agent_id", "claim_id", "expires_at"),
    EventType.CLAIM_RELEASED: ("step", "agent_id", "claim_id"),
    EventType.CLAIM_EXPIRED: ("step", "agent_id", "claim_id"),
    EventType.INPUT_REQUESTED: ("request_id", "agent_id", "kind", "text", "choices", "step"),
    EventType.INPUT_PROVIDED: ("request_id", "agent_id", "by", "choice", "text"),
    EventType.INPUT_CANCELLED: ("request_id", "agent_id"),
    EventType.USAGE_REPORTED: (
        "agent_id",
        "model",
        "input_tokens",
        "output_tokens",
        "cached_input_tokens",
        "calls",
        "cost_usd",
        "priced",
        "step",
        "totals",
    ),
    EventType.BUDGET_CHANGED: ("budget", "previous"),
    EventType.BUDGET_WARNING: ("scope", "limit", "spent"),
    EventType.BUDGET_EXHAUSTED: ("scope", "limit", "spent"),
    EventType.ARENA_FORKED: ("fork_id", "at"),
}

DASHBOARD_GROUP = "dashboard"
# How long the channel layer is given to answer (a doorbell's publish, a group join) in time
# the event loop was free to hear it, before it is taken for down.
ANNOUNCE_TIMEOUT_SECONDS = 2.0
# A layer that failed or did not answer (Redis stopped, or its host down or cut off) is left
# alone for this long: otherwise every doorbell would wait out the timeout or fail again.
# Feeds and waits read the events it did not carry from the log.
SILENT_LAYER_SKIP_SECONDS = 10.0
# How often the event loop's attention is checked while the layer is awaited.
LOOP_TICK_SECONDS = 0.1


def arena_group(arena_id: Any) -> str:
    """The channel-layer group that hears about every event of one arena."""
    return f"arena.{arena_id}"


def timestamp(value: datetime) -> str:
    """ISO 8601 in UTC with microseconds and a Z, as in every wire format."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def to_wire(event: Event) -> dict[str, Any]:
    """The event as every door sends it. Its fields come in the order of FIELDS, whether
    the event was just appended or read back (PostgreSQL's jsonb stores keys in an order of
    its own), so the same event encodes to the same text on every path."""
    data = event.data
    ordered = {name: data[name] for name in FIELDS.get(event.type, ()) if name in data}
    return {
        "arena_id": str(event.arena_id),
        "seq": event.seq,
        "type": event.type,
        "timestamp": timestamp(event.timestamp),
        "actor": event.actor,
        **ordered,
        **data,
    }


def append(
    arena: Arena, type: str, actor: str | None, *, now: datetime | None = None, **fields: Any
) -> Event:
    """Append the next event of `arena`, and save the arena with it: every change the
    caller made to the instance (its counters, status, goal, ...) is stored together with
    the new `last_seq`. `now` is the event's timestamp: a caller that stores the time of
    the change on a row (joined_at, completed_at, ...) passes the same instant, so the
    state at any seq (arenas/history/) shows the times the rows do.

    The caller holds the arena's row lock (`sql.lock_arena`) inside `transaction.atomic()`.
    """
    expected = FIELDS[type]
    if set(fields) != set(expected):
        raise ValueError(f"{type} takes fields {expected}, got {sorted(fields)}")
    now = now or timezone.now()
    arena.last_seq += 1
    arena.last_activity_at = now
    event = sql.insert_event(
        Event(
            arena_id=arena.pk,
            seq=arena.last_seq,
            type=type,
            timestamp=now,
            actor=actor,
            data={name: fields[name] for name in expected},
        )
    )
    sql.save_arena(arena)
    wire = to_wire(event)
    transaction.on_commit(lambda: committed(wire))
    return event


def append_all(
    arena: Arena, appended: list[tuple[str, str | None, dict[str, Any]]], now: datetime
) -> list[Event]:
    """Append many events of `arena` at once, all at time `now`: `(type, actor, fields)`
    each, in order, inserted in bulk, with the arena saved once. For a write that
    establishes a whole state in one go (a fork's log); the same rules as `append`. Once
    committed, every event is counted and the newest rings the doorbell: a follower reads
    the ones before it from the log, as after any missed doorbell."""
    made = []
    for type, actor, fields in appended:
        expected = FIELDS[type]
        if set(fields) != set(expected):
            raise ValueError(f"{type} takes fields {expected}, got {sorted(fields)}")
        arena.last_seq += 1
        made.append(
            Event(
                arena_id=arena.pk,
                seq=arena.last_seq,
                type=type,
                timestamp=now,
                actor=actor,
                data={name: fields[name] for name in expected},
            )
        )
    if not made:
        return made
    Event.objects.bulk_create(made, batch_size=1000)
    arena.last_activity_at = now
    sql.save_arena(arena)
    types = [event.type for event in made]
    newest = to_wire(made[-1])

    def announce_all() -> None:
        for type in types[:-1]:
            metrics.event_committed(type)
        committed(newest)

    transaction.on_commit(announce_all)
    return made


def on_committed(listener: Callable[[], None]) -> None:
    """Call `listener` (no arguments, from any thread) after each committed event is counted
    and before its doorbell rings; once however often it is registered. The webhooks'
    deliverer listens (registered when the app is ready, `arenas/apps.py`): the log does
    not know who reads it."""
    if listener not in _listeners:
        _listeners.append(listener)


_listeners: list[Callable[[], None]] = []


def committed(wire: dict[str, Any]) -> None:
    """An event is committed: count it, tell the listeners (`on_committed`: this process's
    webhook deliverer), and ring the doorbell."""
    metrics.event_committed(wire["type"])
    for listener in _listeners:
        listener()
    announce(wire)


def announce(wire: dict[str, Any]) -> None:
    """Ring the doorbell for a committed event: the arena's group gets the event, the
    dashboard group the arena id. Never raises and never waits for the channel layer: the
    write is committed, and whatever the layer does not carry feeds and waits read from the
    log.

    Called after the commit in the thread that wrote. Under ASGI that thread was started by
    the server's event loop, and the ringing is handed to that loop and left to it (in call
    order, so one thread's doorbells ring in commit order); a process without an event loop
    (WSGI, `announce_from_own_loop`) hands it to its own loop thread. Elsewhere (a
    management command) the ringing runs here, on a loop of its own."""
    layer = get_channel_layer()
    if layer is None:
        return
    loop = _own_loop or _caller_loop()
    if loop is None:
        async_to_sync(ring)(layer, wire)
    else:
        loop.call_soon_threadsafe(_ring_soon, layer, wire)


def _caller_loop() -> asyncio.AbstractEventLoop | None:
    """The running event loop that called into this thread through `sync_to_async` (which
    records it, as `async_to_sync` finds it), if any."""
    threadlocal = SyncToAsync.threadlocal
    if getattr(threadlocal, "main_event_loop_pid", None) != os.getpid():
        return None
    loop = getattr(threadlocal, "main_event_loop", None)
    return loop if loop is not None and loop.is_running() else None


def _ring_soon(layer: Any, wire: dict[str, Any]) -> None:
    task = asyncio.get_running_loop().create_task(ring(layer, wire))
    _ringing.add(task)
    task.add_done_callback(_ringing.discard)


_ringing: set[asyncio.Task[None]] = set()


async def ring(layer: Any, wire: dict[str, Any]) -> None:
    """Publish the event's doorbells, unless the layer is being left alone after failing;
    a failure is logged once per outage (`LayerHealth`), never raised."""
    health = layer_health(layer)
    if health.skipping():
        return
    try:
        await answered_within(_send_both(layer, wire), ANNOUNCE_TIMEOUT_SECONDS)
    except Exception as error:
        health.failed("announcing an event", error)
    else:
        health.answered()


async def _send_both(layer: Any, wire: dict[str, Any]) -> None:
    await layer.group_send(arena_group(wire["arena_id"]), {"type": "arena.event", "event": wire})
    await layer.group_send(
        DASHBOARD_GROUP,
        {"type": "arena.changed", "arena_id": wire["arena_id"], "seq": wire["seq"]},
    )


def announce_from_own_loop() -> asyncio.AbstractEventLoop:
    """Announce from an event loop this process runs in a thread of its own; that loop.

    For a process that serves HTTP without an event loop (WSGI, `aleph_site/wsgi.py`):
    `async_to_sync` would otherwise start a new loop for every announcement, and the Redis
    layer would open a new connection for each. Under ASGI announcements use the server's
    loop and this is not called."""
    global _own_loop
    with _own_loop_lock:
        if _own_loop is None:
            loop = asyncio.new_event_loop()
            threading.Thread(
                target=loop.run_forever, name="aleph-announcements", daemon=True
            ).start()
            _own_loop = loop
        return _own_loop


_own_loop: asyncio.AbstractEventLoop | None = None
_own_loop_lock = threading.Lock()


# --- the channel layer's health, as one process sees it ------------------------------------


async def answered_within(awaitable: Awaitable[T], seconds: float) -> T:
    """Await `awaitable`; TimeoutError once it has had `seconds` of the event loop's attention
    without finishing.

    The attention is counted in ticks of LOOP_TICK_SECONDS, and a tick that comes late (the
    loop was running other work: a thousand feeds to write to, a burst of requests) counts
    only its own length: an answer that had arrived meanwhile would have been read within
    a pass or two of the loop. So an overloaded process waits longer in wall-clock time, and
    is never taken for a dead layer."""
    task = asyncio.ensure_future(awaitable)
    given = 0.0
    try:
        while True:
            done, _ = await asyncio.wait((task,), timeout=LOOP_TICK_SECONDS)
            if done:
                return task.result()
            given += LOOP_TICK_SECONDS
            if given >= seconds:
                raise TimeoutError(f"no answer within {seconds}s")
    finally:
        task.cancel()


class LayerHealth:
    """Whether this process leaves its channel layer alone after a failure, and the log of
    it: one line when an outage starts (no traceback: Redis being down is expected), one
    when the layer answers again, with the count of doorbells not rung meanwhile."""

    def __init__(self) -> None:
        self.silent_until = 0.0
        self.down_since: float | None = None
        self.missed = 0

    def skipping(self) -> bool:
        """True while the layer is left alone (counted as a doorbell not rung)."""
        if time.monotonic() < self.silent_until:
            self.missed += 1
            return True
        return False

    def silent(self) -> bool:
        return time.monotonic() < self.silent_until

    def failed(self, doing: str, error: BaseException) -> None:
        now = time.monotonic()
        self.silent_until = now + SILENT_LAYER_SKIP_SECONDS
        self.missed += 1
        if self.down_since is not None:
            return
        self.down_since = now
        expected = isinstance(error, (OSError, TimeoutError, *_REDIS_ERRORS))
        logger.warning(
            "The channel layer failed %s (%s): leaving it alone for %ss at a time until it "
            "answers; feeds and waits read events from the log meanwhile",
            doing,
            _describe(error),
            SILENT_LAYER_SKIP_SECONDS,
            exc_info=None if expected else error,
        )

    def answered(self) -> None:
        self.silent_until = 0.0
        if self.down_since is None:
            return
        logger.warning(
            "The channel layer answers again after %.0fs; %d doorbell(s) were not rung "
            "meanwhile (their events were read from the log)",
            time.monotonic() - self.down_since,
            self.missed,
        )
        self.down_since = None
        self.missed = 0


def _describe(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}" if str(error) else type(error).__name__


try:
    from redis.exceptions import RedisError

    _REDIS_ERRORS: tuple[type[BaseException], ...] = (RedisError,)
except ImportError:  # pragma: no cover - redis comes with channels_redis
    _REDIS_ERRORS = ()


_health: weakref.WeakKeyDictionary[Any, LayerHealth] = weakref.WeakKeyDictionary()


def layer_health(layer: Any) -> LayerHealth:
    """This process's view of a channel layer (its announcements and doorbells share it)."""
    health = _health.get(layer)
    if health is None:
        health = _health[layer] = LayerHealth()
    return health
