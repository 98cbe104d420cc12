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
import threading
import time
from datetime import UTC, datetime
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction
from django.utils import timezone

from . import metrics, sql
from .models import Arena, Event, EventType

logger = logging.getLogger(__name__)

FIELDS: dict[str, tuple[str, ...]] = {
    EventType.ARENA_CREATED: ("goal", "strategy", "total_steps", "created_by"),
    EventType.AGENT_JOINED: ("agent_id", "role"),
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
}

DASHBOARD_GROUP = "dashboard"
# An unreachable channel layer must not hold a committed write's response for long.
ANNOUNCE_TIMEOUT_SECONDS = 2.0
# A layer that did not answer within the timeout (a Redis host that is down or cut off) is
# skipped for this long: otherwise every write would wait out the timeout, holding its
# response and its database connection. Feeds make up skipped doorbells from the log.
SILENT_LAYER_SKIP_SECONDS = 10.0
_skip_layer_until = 0.0


def arena_group(arena_id: Any) -> str:
    """The channel-layer group that hears about every event of one arena."""
    return f"arena.{arena_id}"


def timestamp(value: datetime) -> str:
    """ISO 8601 in UTC with microseconds and a Z, as in every wire format."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def to_wire(event: Event) -> dict[str, Any]:
    return {
        "arena_id": str(event.arena_id),
        "seq": event.seq,
        "type": event.type,
        "timestamp": timestamp(event.timestamp),
        "actor": event.actor,
        **event.data,
    }


def append(arena: Arena, type: str, actor: str | None, **fields: Any) -> Event:
    """Append the next event of `arena`, and save the arena with it: every change the
    caller made to the instance (its counters, status, goal, ...) is stored together with
    the new `last_seq`.

    The caller holds the arena's row lock (`sql.lock_arena`) inside `transaction.atomic()`.
    """
    expected = FIELDS[type]
    if set(fields) != set(expected):
        raise ValueError(f"{type} takes fields {expected}, got {sorted(fields)}")
    now = timezone.now()
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


def committed(wire: dict[str, Any]) -> None:
    """An event is committed: count it, wake this process's webhook deliverer, and ring the
    doorbell."""
    from arenas.webhooks import deliverer  # it imports the domain, which imports this module

    metrics.event_committed(wire["type"])
    deliverer.nudge()
    announce(wire)


def announce(wire: dict[str, Any]) -> None:
    """Ring the doorbell for a committed event: the arena's group gets the event, the
    dashboard group the arena id. Failures are logged, never raised: the write is already
    committed and consumers recover missed events from the log. After a timeout the layer
    is left alone for SILENT_LAYER_SKIP_SECONDS, so a hung Redis delays one write, not all."""
    global _skip_layer_until
    layer = get_channel_layer()
    if layer is None or time.monotonic() < _skip_layer_until:
        return
    try:
        if _own_loop is None:
            async_to_sync(_send)(layer, wire)
        else:
            asyncio.run_coroutine_threadsafe(_send(layer, wire), _own_loop).result()
    except TimeoutError:
        _skip_layer_until = time.monotonic() + SILENT_LAYER_SKIP_SECONDS
        logger.warning(
            "The channel layer did not answer within %ss for event %s/%s: "
            "not announcing events for %ss",
            ANNOUNCE_TIMEOUT_SECONDS,
            wire["arena_id"],
            wire["seq"],
            SILENT_LAYER_SKIP_SECONDS,
        )
    except Exception:
        logger.warning(
            "Could not announce event %s/%s", wire["arena_id"], wire["seq"], exc_info=True
        )


def announce_from_own_loop() -> None:
    """Announce from an event loop this process runs in a thread of its own.

    For a process that serves HTTP without an event loop (WSGI, `aleph_site/wsgi.py`):
    `async_to_sync` would otherwise start a new loop for every announcement, and the Redis
    layer would open a new connection for each. Under ASGI announcements use the server's
    loop and this is not called."""
    global _own_loop
    with _own_loop_lock:
        if _own_loop is not None:
            return
        loop = asyncio.new_event_loop()
        threading.Thread(target=loop.run_forever, name="aleph-announcements", daemon=True).start()
        _own_loop = loop


_own_loop: asyncio.AbstractEventLoop | None = None
_own_loop_lock = threading.Lock()


async def _send(layer, wire: dict[str, Any]) -> None:
    await asyncio.wait_for(_send_both(layer, wire), timeout=ANNOUNCE_TIMEOUT_SECONDS)


async def _send_both(layer, wire: dict[str, Any]) -> None:
    await layer.group_send(arena_group(wire["arena_id"]), {"type": "arena.event", "event": wire})
    await layer.group_send(
        DASHBOARD_GROUP,
        {"type": "arena.changed", "arena_id": wire["arena_id"], "seq": wire["seq"]},
    )
