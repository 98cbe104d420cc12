"""Waiting for an arena's next events in one request and its response (the MCP tool
`wait_for_events`), for clients that follow an arena without a websocket.

The event log in the database is the truth and the channel layer only a doorbell, as for
the websocket feed (`consumers.py`). A wait:

1. joins the arena's group, through the process's `Doorbells`: one channel of the channel
   layer per process and one group membership per arena, however many calls wait on it;
2. only then reads the log past `after`: events there answer at once;
3. else sleeps until a doorbell rings. A doorbell whose event is the next `seq` answers with
   that event as the layer carried it, with no database read, so one commit wakes a thousand
   waits cheaply: they share one answer (`Shared`, whose tool result is built once). One
   that skips ahead means a doorbell went missing, and the wait reads the log again. So
   does a wait the process's catch-up poll (`hub.Hub`) finds behind the arena's committed
   head: a doorbell the layer lost, or a channel layer that is down, costs at most about
   one poll interval (`ALEPH_LIVE_POLL_SECONDS`), never an event.

Joining before reading means an event committed while the wait starts is either in that
read or rings afterwards. Between reads a wait holds no database connection: the reads run
through `database_sync_to_async`, which closes (or returns to the pool) the connection after
each one. Group memberships are changed by tasks of the `Doorbells` alone, in order, so a
call that is cancelled mid-way leaves none behind.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
import weakref
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass
from typing import Any

from channels.layers import get_channel_layer

from arenas import metrics, text
from arenas.errors import Invalid
from arenas.events import ANNOUNCE_TIMEOUT_SECONDS, SILENT_LAYER_SKIP_SECONDS, arena_group
from arenas.models import EventType

from .hub import hub
from .log import PAGE

logger = logging.getLogger(__name__)

WAIT_DEFAULT_SECONDS = 20
WAIT_MAX_SECONDS = 60
EVENTS_MAX = 100
SEQ_MAX = 2**63 - 1
# Doorbells kept for one wait between two looks; past that the wait reads the log instead.
RUNG_MAX = 1000

Wire = dict[str, Any]
# Reads the log: the wire dicts of the arena's events with `seq > after`, in seq order, at
# most `log.PAGE` of them (fewer only at the end of the log).
LogReader = Callable[[int], Awaitable[list[Wire]]]


class Shared(dict[str, Any]):
    """The answer of every wait that a doorbell answers with its event alone: one object
    for all of them, which its readers must not change, so that what is made of it (the MCP
    tool's result) can be made once."""


@dataclass(frozen=True)
class WaitRequest:
    """A wait's validated parameters."""

    after: int
    timeout: float
    types: frozenset[str] | None

    @classmethod
    def parse(cls, after: Any, timeout_seconds: Any, types: Any) -> WaitRequest:
        after = text.integer(after, "after", minimum=0, maximum=SEQ_MAX)
        timeout = text.number(
            timeout_seconds, "timeout_seconds", minimum=0, maximum=WAIT_MAX_SECONDS
        )
        if types is None:
            return cls(after, timeout, None)
        if not isinstance(types, list) or not types or len(types) > len(EventType.values):
            raise Invalid.field(
                "types", f"Must be a list of 1 to {len(EventType.values)} event types."
            )
        return cls(
            after, timeout, frozenset(text.choice(t, "types", EventType.values) for t in types)
        )

    def matches(self, event: Wire) -> bool:
        return self.types is None or event["type"] in self.types


async def wait_for_events(arena_id: uuid.UUID, request: WaitRequest, read: LogReader) -> Wire:
    """`{"events": [...], "next_after": n}`: the arena's first events with `seq > after` (of
    `types`, when given), at most EVENTS_MAX, in seq order, as soon as there are any; or no
    events once `timeout` seconds have passed. `next_after` is the `after` of the next call:
    past every event returned or skipped by the filter."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + request.timeout
    wait = _Wait(arena_id, request)
    if request.timeout == 0:
        return await wait.read_log(read, deadline) or wait.answer([])
    with metrics.mcp_waiting():
        return await _wait(wait, read, deadline)


async def _wait(wait: _Wait, read: LogReader, deadline: float) -> Wire:
    loop = asyncio.get_running_loop()
    async with doorbells().ringing(wait):
        answer = await wait.read_log(read, deadline)
        while answer is None:
            remaining = deadline - loop.time()
            if remaining <= 0:
                return wait.answer([])
            await wait.sleep(remaining)
            answer = wait.take_rung()
            if answer is None and wait.stale:
                answer = await wait.read_log(read, deadline)
        return answer


class _Wait:
    """One waiting call: where it stands in the log, and the doorbells rung for it."""

    def __init__(self, arena_id: uuid.UUID, request: WaitRequest) -> None:
        self.arena_id = arena_id
        self.key = str(arena_id)
        self.request = request
        self.after = request.after
        self.stale = False
        self._rung: deque[tuple[Wire, Shared]] = deque()
        self._bell = asyncio.Event()

    def answer(self, events: list[Wire]) -> Wire:
        return {"events": events, "next_after": self.after}

    def _advance(self, batch: list[Wire]) -> Wire | None:
        """Step over the events of `batch` that continue the sequence from `after`, keeping
        those that match; an answer once any did. Stops at a gap, and at EVENTS_MAX."""
        found = []
        for event in batch:
            if event["seq"] <= self.after:
                continue
            if event["seq"] != self.after + 1 or len(found) == EVENTS_MAX:
                break
            self.after = event["seq"]
            if self.request.matches(event):
                found.append(event)
        return self.answer(found) if found else None

    async def read_log(self, read: LogReader, deadline: float) -> Wire | None:
        """Read the log past `after`: page after page while pages come back full, none
        matched and time is left."""
        self.stale = False
        loop = asyncio.get_running_loop()
        while True:
            batch = await read(self.after)
            answer = self._advance(batch)
            if answer is not None or len(batch) < PAGE or loop.time() >= deadline:
                return answer

    async def sleep(self, timeout: float) -> None:
        with suppress(TimeoutError):
            async with asyncio.timeout(timeout):
                await self._bell.wait()
        self._bell.clear()

    def take_rung(self) -> Wire | None:
        """Look at the doorbells rung since the last look, in seq order: an answer when
        they continue the sequence and one matches; a gap makes the wait stale."""
        rung = sorted(self._rung, key=lambda bell: bell[0]["seq"])
        self._rung.clear()
        for event, shared in rung:
            if event["seq"] > self.after + 1:
                self.stale = True
                return None
            if self._advance([event]) is not None:
                return shared  # what `_advance` answered: this event alone
        return None

    def ring(self, event: Wire, shared: Shared) -> None:
        """A doorbell of this wait's arena (called on the event loop), with the answer it
        brings (`shared`: `event` alone, `next_after` its seq)."""
        if event["seq"] <= self.after:
            return
        if len(self._rung) < RUNG_MAX:
            self._rung.append((event, shared))
        else:
            self.stale = True
        self._bell.set()

    # --- the hub's catch-up poll (`hub.Follower`) ----------------------------------------

    def observe_head(self, head: int) -> bool:
        return head > self.after

    async def catch_up(self) -> None:
        self.stale = True
        self._bell.set()


class Doorbells:
    """One event loop's doorbells for waits: one channel of the channel layer, in the group
    of each arena that has a wait, and a task that hands each doorbell to the waits of its
    arena.

    Memberships change only in `_sync`, one call at a time, which brings the layer in line
    with the waits there are now (a group is joined while its arena has a wait). So however
    waits come and go, and whatever happens to the calls meanwhile, the layer ends with the
    memberships the current waits need and no other."""

    def __init__(self) -> None:
        self.waits: dict[str, set[_Wait]] = {}
        self._joins: dict[str, asyncio.Future[bool]] = {}
        self._members: set[str] = set()
        self._lock = asyncio.Lock()
        self._channel: str | None = None
        self._receiver: asyncio.Task[None] | None = None
        self._silent_until = 0.0
        self._tasks: set[asyncio.Task[Any]] = set()

    @asynccontextmanager
    async def ringing(self, wait: _Wait) -> AsyncIterator[None]:
        """While inside, doorbells of the wait's arena ring it (once the arena's group is
        joined, which this waits for; if the layer cannot be joined, the hub's poll alone
        wakes it) and the hub polls for it."""
        self.waits.setdefault(wait.key, set()).add(wait)
        hub().watch_feed(wait)
        try:
            await asyncio.shield(self._joined(wait.key))
            yield
        finally:
            hub().unwatch_feed(wait)
            waiting = self.waits.get(wait.key)
            if waiting is not None:
                waiting.discard(wait)
                if not waiting:
                    del self.waits[wait.key]
                    self._joins.pop(wait.key, None)
                    self._spawn(self._sync(wait.key))

    def _joined(self, key: str) -> asyncio.Future[bool]:
        """The arena's join: True once its group is joined, False if it could not be."""
        join = self._joins.get(key)
        if join is None or (join.done() and not join.result() and not self._silent()):
            join = self._joins[key] = self._spawn(self._sync(key))
        return join

    def _silent(self) -> bool:
        return time.monotonic() < self._silent_until

    def _spawn(self, coroutine: Any) -> asyncio.Task[Any]:
        task = asyncio.get_running_loop().create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def _sync(self, key: str) -> bool:
        """Join or leave the arena's group as its waits now need; True when joined. A layer
        that fails or does not answer is left alone for SILENT_LAYER_SKIP_SECONDS, as
        announcements do (`events.announce`)."""
        async with self._lock:
            layer = get_channel_layer()
            wanted = key in self.waits
            try:
                if wanted and key not in self._members and layer is not None:
                    if self._silent():
                        return False
                    async with asyncio.timeout(ANNOUNCE_TIMEOUT_SECONDS):
                        if self._channel is None:
                            self._channel = await layer.new_channel()
                            self._receiver = self._spawn(self._receive(layer, self._channel))
                        await layer.group_add(arena_group(key), self._channel)
                    self._members.add(key)
                elif not wanted and key in self._members:
                    self._members.discard(key)
                    async with asyncio.timeout(ANNOUNCE_TIMEOUT_SECONDS):
                        await layer.group_discard(arena_group(key), self._channel)
            except Exception:
                self._silent_until = time.monotonic() + SILENT_LAYER_SKIP_SECONDS
                logger.warning(
                    "The channel layer failed for the doorbells of arena %s: waits poll the "
                    "log for %ss",
                    key,
                    SILENT_LAYER_SKIP_SECONDS,
                    exc_info=True,
                )
            finally:
                if not self.waits and not self._members and self._receiver is not None:
                    self._receiver.cancel()
                    self._receiver = self._channel = None
            return key in self._members

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
            event = message.get("event") if message.get("type") == "arena.event" else None
            if isinstance(event, dict):
                shared = Shared(events=[event], next_after=event.get("seq"))
                for wait in list(self.waits.get(str(event.get("arena_id")), ())):
                    wait.ring(event, shared)


_doorbells: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Doorbells] = (
    weakref.WeakKeyDictionary()
)


def doorbells() -> Doorbells:
    """The doorbells of the running event loop."""
    loop = asyncio.get_running_loop()
    current = _doorbells.get(loop)
    if current is None:
        current = _doorbells[loop] = Doorbells()
    return current
