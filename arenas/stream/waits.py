"""Waiting for an arena's next events in one request and its response (the MCP tool
`wait_for_events`), for clients that follow an arena without a websocket.

The event log in the database is the truth and the channel layer only a doorbell, as for
the websocket feed (`consumers.py`). A wait:

1. follows the arena in the process's hub (`hub.Hub`), as the websocket feeds do: one
   channel of the channel layer per process and one group membership per arena, however
   many calls and feeds follow it;
2. only then reads the log past `after`: events there answer at once;
3. else sleeps until a doorbell rings. A doorbell whose event is the next `seq` answers with
   that event as the layer carried it, with no database read, so one commit wakes a thousand
   waits cheaply: they share one answer (`Bell.answer`, whose tool result is built once).
   One that skips ahead means a doorbell went missing, and the wait reads the log again. So
   does a wait the hub's catch-up poll finds behind the arena's committed head: a doorbell
   the layer lost, or a channel layer that is down, costs at most about one poll interval
   (`ALEPH_LIVE_POLL_SECONDS`), never an event.

Following before reading means an event committed while the wait starts is either in that
read or rings afterwards. Between reads a wait holds no database connection: the reads close
(or return to the pool) their connection after each one. Group memberships are changed by
the hub's `Doorbells` alone, in order, so a call that is cancelled mid-way leaves none
behind.
"""

from __future__ import annotations

import asyncio
import uuid
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass
from typing import Any

from arenas import metrics, validation
from arenas.errors import Invalid
from arenas.models import EventType

from .doorbells import Bell, Shared
from .hub import hub
from .log import PAGE

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


@dataclass(frozen=True)
class WaitRequest:
    """A wait's validated parameters."""

    after: int
    timeout: float
    types: frozenset[str] | None

    @classmethod
    def parse(cls, after: Any, timeout_seconds: Any, types: Any) -> WaitRequest:
        after = validation.integer(after, "after", minimum=0, maximum=SEQ_MAX)
        timeout = validation.number(
            timeout_seconds, "timeout_seconds", minimum=0, maximum=WAIT_MAX_SECONDS
        )
        if types is None:
            return cls(after, timeout, None)
        if not isinstance(types, list) or not types or len(types) > len(EventType.values):
            raise Invalid.field(
                "types", f"Must be a list of 1 to {len(EventType.values)} event types."
            )
        return cls(
            after,
            timeout,
            frozenset(validation.choice(t, "types", EventType.values) for t in types),
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
    async with _following(wait):
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

    writes = False  # ringing it only wakes its call (`hub.RING_SLICE`)

    def __init__(self, arena_id: uuid.UUID, request: WaitRequest) -> None:
        self.key = str(arena_id)
        self.request = request
        self.after = request.after
        self.stale = False
        self._rung: deque[Bell] = deque()
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

    def take_rung(self) -> Shared | None:
        """Look at the doorbells rung since the last look, in seq order: an answer when
        they continue the sequence and one matches; a gap makes the wait stale."""
        rung = sorted(self._rung, key=lambda bell: bell.seq)
        self._rung.clear()
        for bell in rung:
            if bell.seq > self.after + 1:
                self.stale = True
                return None
            if self._advance([bell.event]) is not None:
                return bell.answer  # what `_advance` answered: this event alone
        return None

    # --- the hub (`hub.Follower`) -------------------------------------------------------

    def ring(self, bell: Bell) -> None:
        """A doorbell of this wait's arena (called on the event loop)."""
        if bell.seq <= self.after:
            return
        if len(self._rung) < RUNG_MAX:
            self._rung.append(bell)
        else:
            self.stale = True
        self._bell.set()

    def observe_head(self, head: int) -> bool:
        return head > self.after

    async def catch_up(self, since: float) -> None:
        self.stale = True
        self._bell.set()


@asynccontextmanager
async def _following(wait: _Wait) -> AsyncIterator[None]:
    """While inside, doorbells of the wait's arena ring it (once the process's channel is
    in the arena's group, which this waits for; if the layer cannot be joined, the hub's
    poll alone wakes it) and the hub polls for it."""
    joined = hub().follow(wait)
    try:
        await asyncio.shield(joined)
        yield
    finally:
        hub().unfollow(wait)
