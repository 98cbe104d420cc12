"""The websocket consumers of the live feed: one arena's events, and the dashboard.

The event log in the database is the truth; the channel layer is only a doorbell that may
drop messages. No consumer has a channel of the layer: the process's hub (`hub.py`) holds
one, in the group of each followed arena, and rings every feed of the arena with each
doorbell. An arena feed therefore:

1. authorises the handshake (4401 / 4403 / 4404 / 4400 after accepting),
2. follows the arena in the hub (which has the process's channel join the arena's group, if
   it is not in it already), and only then
3. reads the snapshot and replays the log from the starting point (`after`, or the
   snapshot's `last_seq`), remembering the last `seq` it sent;
4. is rung with live events: a doorbell whose event is the next `seq` is written at once,
   as the frame the hub encoded once for every feed of the process (no database read, no
   task, no queue); one already sent is dropped; one that skips ahead is kept while
   everything missing is read from the log (a page read once for every feed that needs it).
5. A doorbell that never arrives is made up by the hub's poll, which compares each arena's
   committed `last_seq` with what its feeds sent and has a feed that stayed behind for a
   whole poll interval read the rest from the log.

While a feed is busy (opening, reading the log, asking whether its viewer still sees the
arena, or waiting for a write its client is slow to take), doorbells are kept in order and
worked through by one task of its own. So each client gets every event after its starting
point exactly once, in order, with no gap; the last event before a silence arrives at most
about two poll intervals late when its doorbell was lost.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
import uuid
from collections import deque
from typing import Any
from urllib.parse import parse_qs

from channels.consumer import get_handler_name
from channels.exceptions import StopConsumer
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from arenas import inputs, metrics
from arenas.errors import NotFound
from arenas.manager import ArenaManager
from arenas.models import EventType
from arenas.stream import log
from arenas.stream.db import in_thread
from arenas.stream.doorbells import Bell, start_now
from arenas.stream.hub import Line, hub

from .auth import FORBIDDEN, INVALID, NOT_FOUND, Refusal, Viewer, identify

AFTER_RE = re.compile(r"[0-9]{1,19}")
UNKNOWN_MESSAGE = {
    "type": "error",
    "error": "invalid",
    "detail": 'Unknown message: the feed understands {"type": "ping"} only.',
}
# Frames a client may leave unread (where the server holds writes back: uvicorn, granian)
# before its connection is closed with 1013 ("try again later"; it reconnects with `after`).
# Daphne buffers every write, so there this is never reached.
OUTBOX_MAX = 1000
# Doorbells a busy feed keeps; past that it reads the log instead.
HELD_MAX = 1000


class LiveConsumer(AsyncJsonWebsocketConsumer):
    """Common ground of the feeds: accept, then `open()` or close with the refusal's code;
    ping and pong; an error frame for anything else a client sends; writes in order.

    Writes go out at once, as direct calls into the server (`doorbells.start_now`); one that
    the server holds back (a client slow to read, on a server with backpressure) is followed
    by the next ones in order, at most OUTBOX_MAX of them."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.closed = False
        self.counted = False
        self._raw_send: Any = None
        self._writing: asyncio.Future[Any] | None = None
        self._outbox: deque[dict[str, Any]] = deque()
        self._idle: asyncio.Event | None = None

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        # Channels' AsyncConsumer.__call__ without a channel of the layer per socket, and
        # without its per-message database clean-up (every database call here runs through
        # `db.in_thread`, which closes its connection itself).
        self.scope = scope
        self.channel_layer = None
        self._raw_send = send
        self.base_send = self._send_in_order
        try:
            while True:
                await self.dispatch(await receive())
        except StopConsumer:
            pass
        finally:
            self.closed = True
            self.leave()

    async def dispatch(self, message: dict[str, Any]) -> None:
        handler = getattr(self, get_handler_name(message), None)
        if handler is None:
            raise ValueError(f"No handler for message type {message['type']}")
        await handler(message)

    async def websocket_disconnect(self, message: dict[str, Any]) -> None:
        await self.disconnect(message.get("code", 1000))
        raise StopConsumer()

    # --- writing ------------------------------------------------------------------------

    def write(self, message: dict[str, Any]) -> None:
        """Send `message` now, or after the writes still under way."""
        if self.closed and message.get("type") == "websocket.send":
            return
        if self._writing is not None:
            if len(self._outbox) >= OUTBOX_MAX:
                self._too_slow()
            else:
                self._outbox.append(message)
            return
        try:
            self._writing = start_now(self._raw_send(message))
        except Exception:
            self.closed = True
            return
        if self._writing is not None:
            self._writing.add_done_callback(self._written)

    def _written(self, future: asyncio.Future[Any]) -> None:
        self._writing = None
        if future.cancelled() or future.exception() is not None:
            self.closed = True
            self._outbox.clear()
        while self._outbox and self._writing is None:
            self.write(self._outbox.popleft())
        if self._writing is None and self._idle is not None:
            self._idle.set()

    def _too_slow(self) -> None:
        self.closed = True
        self._outbox.clear()
        self._outbox.append({"type": "websocket.close", "code": 1013})

    async def sent(self) -> None:
        """Return once every write so far has been handed to the server."""
        while self._writing is not None:
            if self._idle is None:
                self._idle = asyncio.Event()
            self._idle.clear()
            await self._idle.wait()

    async def _send_in_order(self, message: dict[str, Any]) -> None:
        self.write(message)
        await self.sent()

    # --- the protocol -------------------------------------------------------------------

    async def open(self) -> None:
        raise NotImplementedError

    def leave(self) -> None:
        """Stop following whatever `open` followed (called once the socket is done)."""

    async def connect(self) -> None:
        await self.accept()
        metrics.websocket_opened()
        self.counted = True
        try:
            await self.open()
        except Refusal as refusal:
            await self.refuse(refusal)

    async def refuse(self, refusal: Refusal) -> None:
        self.closed = True
        await self.close(code=refusal.code, reason=refusal.reason)

    async def disconnect(self, code: int) -> None:
        self.closed = True
        if self.counted:
            metrics.websocket_closed()
            self.counted = False

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None):
        if self.closed:
            return
        try:
            message = json.loads(text_data) if text_data is not None else None
        except ValueError:
            message = None
        if isinstance(message, dict) and message.get("type") == "ping":
            await self.send_json({"type": "pong"})
        else:
            await self.send_json(UNKNOWN_MESSAGE)


def parse_after(scope: dict[str, Any]) -> int | None:
    """The `after` query parameter: None when absent, else a seq from 0 to 2**63 - 1."""
    query = parse_qs(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True)
    values = query.get("after")
    if values is None:
        return None
    if len(values) != 1 or not AFTER_RE.fullmatch(values[0]) or int(values[0]) > inputs.SEQ_MAX:
        raise Refusal(INVALID, "invalid")
    return int(values[0])


def snapshot(viewer: Viewer, arena_id: uuid.UUID) -> dict[str, Any]:
    """The arena as GET /api/arenas/{id}/ shows it to this viewer; NotFound if not visible."""
    manager = ArenaManager()
    if viewer.is_agent:
        return manager.handle(arena_id, viewer.agent_id).detail()
    return manager.user_handle(arena_id, viewer.user).detail()


class ArenaFeedConsumer(LiveConsumer):
    """`/ws/arenas/{id}/?after=N`: snapshot, replay, then live events, exactly once each.

    Sight is re-checked when it may have ended: after sending an `agent_left` of the viewing
    agent (for a non-staff person: of any agent) the feed asks the hub whether the viewer
    still sees the arena (one read per departure for the whole process), and if not closes
    with 4404 right after that event.
    """

    viewer: Viewer
    writes = True  # ringing it writes the frame to its socket (`hub.RING_SLICE`)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.key = ""
        self.last_sent = 0
        self.expected: int | None = None
        self.working = True  # until `open` is done: doorbells are kept
        self.held: deque[Bell] = deque()
        self.fill_since: float | None = None
        self._following = False

    async def open(self) -> None:
        self.viewer = await identify(self.scope)
        try:
            arena_id = inputs.arena_id(self.scope["url_route"]["kwargs"]["arena_id"])
        except NotFound:
            raise Refusal(NOT_FOUND, "not_found") from None
        after = parse_after(self.scope)
        self.key = str(arena_id)
        self._following = True
        await asyncio.shield(hub().follow(self))
        since = time.monotonic()
        try:
            arena = await in_thread(snapshot, self.viewer, arena_id)
        except NotFound:
            raise Refusal(NOT_FOUND, "not_found") from None
        await self.send_json({"type": "snapshot", "arena": arena})
        self.last_sent = arena["last_seq"] if after is None else after
        self.fill_since = since
        await self._work_through()

    def leave(self) -> None:
        if self._following:
            self._following = False
            hub().unfollow(self)

    # --- doorbells (`hub.Follower`) -------------------------------------------------------

    def ring(self, bell: Bell) -> None:
        """The hot path: the next event goes out at once; anything else waits its turn."""
        seq = bell.seq
        if (
            seq != self.last_sent + 1
            or self.working
            or self.closed
            or self._writing is not None
            or (bell.departure and self.may_lose_sight(bell.event))
        ):
            if not self.closed and seq > self.last_sent:
                self._hold(bell)
            return
        self.last_sent = seq
        self.write(bell.message)

    def observe_head(self, head: int) -> bool:
        """Told by the hub each poll the arena's committed `last_seq`; True when this feed
        is still behind the head seen one poll earlier, i.e. a doorbell went missing."""
        lagging = self.expected is not None and self.last_sent < self.expected
        self.expected = head if head > self.last_sent else None
        return lagging

    async def catch_up(self, since: float) -> None:
        """Send whatever the log holds past the last sent event."""
        if self.closed:
            return
        self.fill_since = max(self.fill_since or 0.0, since)
        self._work()

    # --- the feed's own task, while it is busy ------------------------------------------

    def _hold(self, bell: Bell) -> None:
        if len(self.held) < HELD_MAX:
            self.held.append(bell)
        else:
            self.held.clear()
            self.fill_since = max(self.fill_since or 0.0, bell.at)
        self._work()

    def _work(self) -> None:
        if not self.working:
            self.working = True
            hub().spawn(self._work_through())

    async def _work_through(self) -> None:
        """Fill from the log and deliver the kept doorbells in order until nothing is left;
        then doorbells are delivered as they ring again."""
        try:
            while not self.closed:
                if self.fill_since is not None:
                    since, self.fill_since = self.fill_since, None
                    await self._fill(since)
                    continue
                if not self.held:
                    return
                bell = self.held.popleft()
                if bell.seq <= self.last_sent:
                    continue
                if bell.seq == self.last_sent + 1:
                    await self._deliver(bell)
                    continue
                # A doorbell went missing before this one: everything up to it is in the
                # log by now (it was committed before it rang).
                await self._fill(bell.at)
                if bell.seq > self.last_sent + 1:
                    self.held.clear()  # not in the log after all: the hub's poll will see
                else:
                    self.held.appendleft(bell)
        finally:
            self.working = False

    async def _fill(self, since: float) -> None:
        """Send every logged event after the last one sent, page by page (pages read at or
        after `since`)."""
        while not self.closed:
            page = await hub().events_after(self.key, self.last_sent, since)
            for bell in page:
                if self.closed or bell.seq > self.last_sent + 1:
                    return
                if bell.seq == self.last_sent + 1:
                    await self._deliver(bell)
            if len(page) < log.PAGE:
                return

    async def _deliver(self, bell: Bell) -> None:
        """Send the next event; close with 4404 after it if the viewer lost sight."""
        self.last_sent = bell.seq
        self.write(bell.message)
        if metrics.enabled():
            metrics.feed_sent(bell.committed)
        await self.sent()
        if self.may_lose_sight(bell.event):
            sight = await hub().sight(self.key, bell.seq)
            if not sight.allows(self.viewer):
                await self.refuse(Refusal(NOT_FOUND, "not_found"))

    def may_lose_sight(self, event: dict[str, Any]) -> bool:
        if event["type"] != EventType.AGENT_LEFT or self.viewer.is_staff:
            return False
        return not self.viewer.is_agent or event["agent_id"] == self.viewer.agent_id


class DashboardConsumer(LiveConsumer):
    """`/ws/dashboard/` for session users: `{"type": "arena", "arena": <summary>, "requests":
    {"open", "total"}}` whenever an arena the user may see changes (the request counts keep
    the header's count of open requests and the inbox live). The hub loads each change's
    summary once per process and encodes its frame once, and visibility is decided from the
    viewer ids loaded with it, so a change costs the same whether one person or a thousand
    watch. A summary is never sent older than one already sent for the same arena."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.sent_seqs: dict[str, int] = {}
        self.user: Any = None
        self._watching = False

    async def open(self) -> None:
        viewer = await identify(self.scope)
        if viewer.is_agent:
            raise Refusal(FORBIDDEN, "permission_denied")
        self.user = viewer.user
        self._watching = True
        await asyncio.shield(hub().watch_dashboard(self))

    def leave(self) -> None:
        if self._watching:
            self._watching = False
            hub().unwatch_dashboard(self)

    def show(self, line: Line, message: dict[str, str]) -> None:
        """An arena changed (`hub.Dashboard`): send its line if this person sees it and it
        is newer than the one sent."""
        summary, viewers, _requests = line
        if self.closed or not (self.user.is_staff or self.user.pk in viewers):
            return
        if self.sent_seqs.get(summary["id"], -1) >= summary["last_seq"]:
            return
        self.sent_seqs[summary["id"]] = summary["last_seq"]
        self.write(message)


class UnknownPathConsumer(LiveConsumer):
    """Any other websocket path: accepted, then closed with 4404."""

    async def open(self) -> None:
        raise Refusal(NOT_FOUND, "not_found")
