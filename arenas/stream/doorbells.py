"""The process's doorbells: one subscription to the channel layer, shared by every websocket
feed, `wait_for_events` call and dashboard the process serves.

One event loop holds one channel of the channel layer. That channel is in the group of each
arena that something in the process follows, and in the dashboard group while a dashboard
is open here: one membership per arena per process, however many subscribers (with Redis:
one SUBSCRIBE per arena per process). One task receives what rings on it and hands it on,
in the order the layer delivers it:
- an arena's event (`arena.event`) becomes one `Bell`, given to `on_event` (the hub, which
  rings every local follower of the arena with it);
- an arena's change (`arena.changed`) goes to `on_changed` (the hub's dashboards).

A `Bell` is made once per event per process, and what each kind of subscriber sends is made
of it once, however many receive it: the websocket frame (encoded to its text once, and the
same ASGI message written to every feed) and the answer of the waits it answers.

Memberships change only in `_sync`, one call at a time, which brings the layer in line with
what is wanted now. A join that fails (the layer is down or does not answer) leaves its
followers to the hub's poll of the log; it is tried again by the next follower of the arena
and by the hub's poll, unless the layer is being left alone after failing
(`events.LayerHealth`, shared with announcements).
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

from channels.layers import get_channel_layer

from arenas import metrics
from arenas.events import ANNOUNCE_TIMEOUT_SECONDS, answered_within, layer_health
from arenas.models import EventType

logger = logging.getLogger(__name__)

Wire = dict[str, Any]


class Shared(dict[str, Any]):
    """The answer of every wait that a doorbell answers with its event alone: one object
    for all of them, which its readers must not change, so that what is made of it (the MCP
    tool's result) can be made once."""


class Bell:
    """One event as every subscriber of this process gets it: its wire dict (as the layer
    carried it or the log holds it; read-only), when it was rung or read (`at`, a
    `time.monotonic()`: the event was committed before), and what is made of it once."""

    __slots__ = ("event", "seq", "at", "departure", "_message", "_answer", "_committed")

    def __init__(self, event: Wire) -> None:
        self.event = event
        self.seq: int = event["seq"]
        self.at = time.monotonic()
        self.departure = event["type"] == EventType.AGENT_LEFT  # a viewer may lose sight
        self._message: dict[str, str] | None = None
        self._answer: Shared | None = None
        self._committed: float | None = None

    @property
    def message(self) -> dict[str, str]:
        """The ASGI message that sends the feed's frame `{"type": "event", "event": ...}`."""
        if self._message is None:
            text = json.dumps({"type": "event", "event": self.event})
            self._message = {"type": "websocket.send", "text": text}
        return self._message

    @property
    def committed(self) -> float:
        """When the event was committed, in seconds since the epoch (parsed once)."""
        if self._committed is None:
            self._committed = metrics.committed_at(self.event["timestamp"])
        return self._committed

    @property
    def answer(self) -> Shared:
        """The answer `{"events": [event], "next_after": seq}` of a wait."""
        if self._answer is None:
            self._answer = Shared(events=[self.event], next_after=self.seq)
        return self._answer


def start_now(coroutine: Coroutine[Any, Any, Any]) -> asyncio.Future[Any] | None:
    """Run `coroutine` at once, up to its first suspension: None if it finished (an ASGI
    server's send usually does: Daphne's always, uvicorn's unless the socket's buffer is
    full), else a task that carries it on from there (an exception it raised at once is
    raised here).

    This is how one task writes a frame to a thousand sockets at the cost of a thousand
    direct calls, while a socket whose client stops reading holds up only itself. (Python
    3.12's eager tasks do the same.)"""
    try:
        suspended = coroutine.send(None)
    except StopIteration:
        return None
    return asyncio.ensure_future(_carry_on(coroutine, suspended))


async def _carry_on(coroutine: Coroutine[Any, Any, Any], suspended: Any) -> Any:
    """Drive `coroutine` on from where it suspended on `suspended`, as a task would."""
    while True:
        try:
            if suspended is None:
                await asyncio.sleep(0)
            else:
                await suspended
        except BaseException as error:
            if isinstance(suspended, asyncio.Future) and suspended.done():
                resume = coroutine.send  # its own await reads the outcome
                argument: Any = None
            else:
                resume, argument = coroutine.throw, error  # this task was cancelled
        else:
            resume, argument = coroutine.send, None
        try:
            suspended = resume(argument)
        except StopIteration as stop:
            return stop.value


class Doorbells:
    """One event loop's subscription to the channel layer (see the module's docstring)."""

    def __init__(
        self,
        on_event: Callable[[Bell], Awaitable[None]],
        on_changed: Callable[[str, int], None],
    ) -> None:
        self._on_event = on_event
        self._on_changed = on_changed
        self._wanted: Counter[str] = Counter()
        self._joins: dict[str, asyncio.Future[bool]] = {}
        self._members: set[str] = set()
        self._lock = asyncio.Lock()
        self._channel: str | None = None
        self._receiver: asyncio.Task[None] | None = None
        self._tasks: set[asyncio.Task[Any]] = set()

    @property
    def members(self) -> frozenset[str]:
        """The groups this process's channel is in."""
        return frozenset(self._members)

    def want(self, group: str) -> asyncio.Future[bool]:
        """Count one more wish for `group`'s doorbells; the join, done (True) once the
        process's channel is in the group, False if the layer cannot be reached now. Each
        call is matched by one `unwant`, whether or not the join is awaited."""
        self._wanted[group] += 1
        join = self._joins.get(group)
        if join is None or (join.done() and not join.result() and not self._silent()):
            join = self._joins[group] = self._spawn(self._sync(group))
        return join

    def unwant(self, group: str) -> None:
        self._wanted[group] -= 1
        if self._wanted[group] <= 0:
            del self._wanted[group]
            self._joins.pop(group, None)
            self._spawn(self._sync(group))

    def rejoin(self, group: str) -> None:
        """Join `group` again if it is wanted: the layer may have dropped this channel from
        it (the in-memory layer does when a message expires), or never joined it."""
        if group in self._wanted:
            self._members.discard(group)
            self._joins[group] = self._spawn(self._sync(group))

    def retry(self) -> None:
        """Try again to join the wanted groups a failed join left out, unless the layer is
        being left alone after failing."""
        if self._silent():
            return
        for group in self._wanted:
            join = self._joins.get(group)
            if group not in self._members and (join is None or join.done()):
                self._joins[group] = self._spawn(self._sync(group))

    def _silent(self) -> bool:
        layer = get_channel_layer()
        return layer is not None and layer_health(layer).silent()

    def _spawn(self, coroutine: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
        task = asyncio.get_running_loop().create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def _sync(self, group: str) -> bool:
        """Join or leave `group` as it is now wanted; True when joined."""
        async with self._lock:
            layer = get_channel_layer()
            wanted = group in self._wanted
            health = layer_health(layer) if layer is not None else None
            try:
                if wanted and group not in self._members and layer is not None:
                    await answered_within(self._add(layer, group), ANNOUNCE_TIMEOUT_SECONDS)
                    self._members.add(group)
                    health.answered()
                elif not wanted and group in self._members:
                    self._members.discard(group)
                    await answered_within(
                        layer.group_discard(group, self._channel), ANNOUNCE_TIMEOUT_SECONDS
                    )
            except Exception as error:
                health.failed(f"joining the group {group}", error)
            finally:
                if not self._wanted and not self._members and self._receiver is not None:
                    self._receiver.cancel()
                    self._receiver = self._channel = None
            return group in self._members

    async def _add(self, layer: Any, group: str) -> None:
        if self._channel is None:
            self._channel = await layer.new_channel()
            self._receiver = self._spawn(self._receive(layer, self._channel))
        await layer.group_add(group, self._channel)

    async def _receive(self, layer: Any, channel: str) -> None:
        while True:
            try:
                message = await layer.receive(channel)
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.warning("Receiving doorbells failed", exc_info=True)
                await asyncio.sleep(1.0)
                continue
            try:
                kind = message.get("type")
                if kind == "arena.event":
                    await self._on_event(Bell(message["event"]))
                elif kind == "arena.changed":
                    self._on_changed(str(message["arena_id"]), int(message["seq"]))
            except Exception:
                logger.exception("A doorbell could not be handed on: %r", message)
