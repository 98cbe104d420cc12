"""The websocket consumers of the live feed (SPEC §3): one arena's events, and the dashboard.

The event log in the database is the truth; the channel layer is only a doorbell that may
drop or expire messages. An arena feed therefore:

1. authorises the handshake (4401 / 4403 / 4404 / 4400 after accepting),
2. joins the arena's group, and only then
3. reads the snapshot and replays the log from the starting point (`after`, or the
   snapshot's `last_seq`), remembering the last `seq` it sent;
4. forwards live events: a doorbell whose event is the next `seq` is sent as it is (no
   database read, so a doorbell fans out to many subscribers cheaply); one already sent is
   dropped; one that skips ahead is preceded by everything missing, read from the log.
5. A doorbell that never arrives is made up by the process's `Hub`, which compares each
   arena's committed `last_seq` with what its feeds sent and has a feed that stayed behind
   for a whole poll interval read the rest from the log (and re-join its group).

So each client gets every event after its starting point exactly once, in order, with no
gap; the last event before a silence arrives at most about two poll intervals late when its
doorbell was lost.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import logging
import re
import uuid
from typing import Any
from urllib.parse import parse_qs

from channels.consumer import get_handler_name
from channels.db import database_sync_to_async
from channels.exceptions import StopConsumer
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from channels.layers import get_channel_layer
from channels.utils import await_many_dispatch

from arenas import inputs, metrics
from arenas.errors import NotFound
from arenas.events import DASHBOARD_GROUP, arena_group
from arenas.manager import ArenaManager
from arenas.models import EventType

from . import log
from .auth import FORBIDDEN, INVALID, NOT_FOUND, Refusal, Viewer, identify
from .hub import hub

logger = logging.getLogger(__name__)

# How long a handshake waits for the channel layer before going on without doorbells.
LAYER_TIMEOUT_SECONDS = 2.0
AFTER_RE = re.compile(r"[0-9]{1,19}")
UNKNOWN_MESSAGE = {
    "type": "error",
    "error": "invalid",
    "detail": 'Unknown message: the feed understands {"type": "ping"} only.',
}


class LiveConsumer(AsyncJsonWebsocketConsumer):
    """Common ground of the feeds: accept, then `open()` or close with the refusal's code;
    ping and pong; an error frame for anything else a client sends.

    A channel layer that cannot be reached (Redis down or hung) does not fail the handshake:
    the feed then runs without doorbells, and the process's hub brings it every event from
    the log at its poll interval (docs/live.md) until the client reconnects."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.groups = []
        self.closed = False
        self.counted = False

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        # Channels' AsyncConsumer.__call__, but a layer that fails to give this consumer a
        # channel leaves it without one instead of failing the handshake with an HTTP 500.
        self.scope = scope
        self.channel_layer = get_channel_layer(self.channel_layer_alias)
        sources = [receive]
        if self.channel_layer is not None:
            try:
                self.channel_name = await asyncio.wait_for(
                    self.channel_layer.new_channel(), LAYER_TIMEOUT_SECONDS
                )
            except Exception:
                logger.warning(
                    "The channel layer is unreachable: a feed is served from the log only",
                    exc_info=True,
                )
                self.channel_layer = None
            else:
                self.channel_receive = functools.partial(
                    self.channel_layer.receive, self.channel_name
                )
                sources.append(self.channel_receive)
        self.base_send = send
        with contextlib.suppress(StopConsumer):
            await await_many_dispatch(sources, self.dispatch)

    async def dispatch(self, message: dict[str, Any]) -> None:
        # Channels closes stale database connections around every message, which costs a
        # thread hop per message per subscriber. These handlers reach the database only
        # through database_sync_to_async, which does that itself.
        handler = getattr(self, get_handler_name(message), None)
        if handler is None:
            raise ValueError(f"No handler for message type {message['type']}")
        await handler(message)

    async def open(self) -> None:
        raise NotImplementedError

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

    async def join(self, group: str) -> None:
        """Hear the group's doorbells; without a reachable layer the hub's poll stands in
        (and a later catch-up joins again)."""
        if self.channel_layer is None:
            return
        try:
            await asyncio.wait_for(
                self.channel_layer.group_add(group, self.channel_name), LAYER_TIMEOUT_SECONDS
            )
        except Exception:
            logger.warning("Could not join the channel-layer group %s", group, exc_info=True)
            return
        if group not in self.groups:
            self.groups.append(group)

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


def still_sees(viewer: Viewer, arena_id: uuid.UUID) -> bool:
    """Whether the viewer may still see the arena, by its current participants."""
    manager = ArenaManager()
    if viewer.is_agent:
        try:
            manager.handle(arena_id, viewer.agent_id)
        except NotFound:
            return False
        return True
    return manager.user_may_see(viewer.user, arena_id)


class ArenaFeedConsumer(LiveConsumer):
    """`/ws/arenas/{id}/?after=N`: snapshot, replay, then live events, exactly once each.

    Sight is re-checked when it may have ended: after sending an `agent_left` of the viewing
    agent (for a non-staff person: of any agent) the feed asks the database whether the
    viewer still sees the arena, and if not closes with 4404 right after that event.
    """

    arena_id: uuid.UUID
    viewer: Viewer

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.last_sent = 0
        self.lock = asyncio.Lock()
        self.expected: int | None = None

    async def open(self) -> None:
        self.viewer = await identify(self.scope)
        try:
            self.arena_id = inputs.arena_id(self.scope["url_route"]["kwargs"]["arena_id"])
        except NotFound:
            raise Refusal(NOT_FOUND, "not_found") from None
        after = parse_after(self.scope)
        async with self.lock:
            await self.join(arena_group(self.arena_id))
            try:
                arena = await database_sync_to_async(snapshot)(self.viewer, self.arena_id)
            except NotFound:
                raise Refusal(NOT_FOUND, "not_found") from None
            await self.send_json({"type": "snapshot", "arena": arena})
            self.last_sent = arena["last_seq"] if after is None else after
            await self.fill()
        hub().watch_feed(self)

    async def disconnect(self, code: int) -> None:
        await super().disconnect(code)
        hub().unwatch_feed(self)

    async def arena_event(self, message: dict[str, Any]) -> None:
        """A doorbell from the arena's group: the committed event's wire dict."""
        event = message["event"]
        async with self.lock:
            if self.closed or event["seq"] <= self.last_sent:
                return
            if event["seq"] > self.last_sent + 1:
                await self.fill()
            else:
                await self.deliver([event])

    def observe_head(self, head: int) -> bool:
        """Told by the hub each poll the arena's committed `last_seq`; True when this feed
        is still behind the head seen one poll earlier, i.e. a doorbell went missing."""
        lagging = self.expected is not None and self.last_sent < self.expected
        self.expected = head if head > self.last_sent else None
        return lagging

    async def catch_up(self) -> None:
        """Send whatever the log holds past the last sent event and re-join the group (a
        channel layer may have dropped this channel from it)."""
        async with self.lock:
            if self.closed:
                return
            await self.join(arena_group(self.arena_id))
            await self.fill()

    async def fill(self) -> None:
        """Send every logged event after the last one sent, page by page."""
        while not self.closed:
            batch = await database_sync_to_async(log.events_after)(self.arena_id, self.last_sent)
            await self.deliver(batch)
            if len(batch) < log.PAGE:
                return

    async def deliver(self, batch: list[dict[str, Any]]) -> None:
        """Send the events that continue the sequence; skip those already sent, and stop at a
        gap (never send past one) or when the viewer has lost sight of the arena."""
        for event in batch:
            seq = event["seq"]
            if seq <= self.last_sent:
                continue
            if seq != self.last_sent + 1 or self.closed:
                return
            await self.send_json({"type": "event", "event": event})
            metrics.feed_sent(event["timestamp"])
            self.last_sent = seq
            if self.may_lose_sight(event) and not await database_sync_to_async(still_sees)(
                self.viewer, self.arena_id
            ):
                await self.refuse(Refusal(NOT_FOUND, "not_found"))
                return

    def may_lose_sight(self, event: dict[str, Any]) -> bool:
        if event["type"] != EventType.AGENT_LEFT or self.viewer.is_staff:
            return False
        return not self.viewer.is_agent or event["agent_id"] == self.viewer.agent_id


class DashboardConsumer(LiveConsumer):
    """`/ws/dashboard/` for session users: `{"type": "arena", "arena": <summary>, "requests":
    {"open", "total"}}` whenever an arena the user may see changes (the request counts keep
    the header's count of open requests and the inbox live). Summaries are loaded once per
    process and change (the hub shares them), and visibility is decided from the viewer ids
    loaded with them, so a change costs the same whether one person or a thousand watch. A
    summary is never sent older than one already sent for the same arena."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.sent: dict[str, int] = {}
        self.user: Any = None

    async def open(self) -> None:
        viewer = await identify(self.scope)
        if viewer.is_agent:
            raise Refusal(FORBIDDEN, "permission_denied")
        self.user = viewer.user
        await self.join(DASHBOARD_GROUP)
        hub().watch_dashboard(self)

    async def disconnect(self, code: int) -> None:
        await super().disconnect(code)
        hub().unwatch_dashboard(self)

    async def arena_changed(self, message: dict[str, Any]) -> None:
        """A doorbell from the dashboard group (or the hub): `arena_id` reached `seq`."""
        if self.closed:
            return
        line = await hub().line(message["arena_id"], message["seq"])
        if line is None:
            return
        summary, viewers, requests = line
        if not (self.user.is_staff or self.user.pk in viewers):
            return
        if self.sent.get(summary["id"], -1) >= summary["last_seq"]:
            return
        self.sent[summary["id"]] = summary["last_seq"]
        await self.send_json({"type": "arena", "arena": summary, "requests": requests})


class UnknownPathConsumer(LiveConsumer):
    """Any other websocket path: accepted, then closed with 4404."""

    async def open(self) -> None:
        raise Refusal(NOT_FOUND, "not_found")
