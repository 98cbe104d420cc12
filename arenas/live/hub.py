"""The live feed's per-process hub: it makes up for doorbells the channel layer lost, and
shares dashboard summaries between the consumers of one process.

While any consumer is connected, the hub polls the database every
`settings.ALEPH_LIVE_POLL_SECONDS` seconds with one query pair for the whole process (not one
per subscriber):
- the committed `last_seq` of every arena with a follower here (a websocket feed, or a
  `wait_for_events` call of the MCP server, `waits.py`); a follower told a head it has not
  reached decides whether it missed a doorbell (a feed waits one poll first, which keeps
  doorbells that are merely in flight from causing database reads) and catches up from the
  log.
- for dashboards, the arenas with recent events; an arena whose `last_seq` is past the
  newest summary this process loaded missed its doorbell and is announced to the dashboards.

Every PRESENCE_SECONDS it also marks the agents with an open feed here as seen (presence,
SPEC §7.3: an open feed counts as being there), in one statement for the whole process.

One hub per event loop (Daphne runs one; tests run one per test).
"""

from __future__ import annotations

import asyncio
import logging
import time
import weakref
from collections import OrderedDict
from datetime import timedelta
from typing import TYPE_CHECKING, Any, Protocol

from channels.db import database_sync_to_async
from django.conf import settings
from django.utils import timezone

from arenas import agents
from arenas.manager import ArenaManager

from . import log

if TYPE_CHECKING:
    from .consumers import DashboardConsumer

logger = logging.getLogger(__name__)

# An arena's dashboard summary, the ids of the non-staff users who may see it, and its
# request counts (`ArenaManager.request_counts`).
Line = tuple[dict[str, Any], frozenset[int], dict[str, int]]
# Dashboard summaries kept per process (the newest of each arena), least recent dropped first.
LINES_MAX = 10_000
# How far back a poll looks for arena changes, beyond two poll intervals (clock skew between
# processes, slow polls).
CHANGE_WINDOW_SLACK = timedelta(seconds=5)
# How often the agents with an open feed are marked as seen (SPEC §7.3: at least every 30 s).
PRESENCE_SECONDS = 20.0


def poll_seconds() -> float:
    return float(getattr(settings, "ALEPH_LIVE_POLL_SECONDS", 2.0))


class Follower(Protocol):
    """What the hub polls for: something that follows one arena's events."""

    arena_id: Any

    def observe_head(self, head: int) -> bool:
        """Told the arena's committed `last_seq` each poll; True to be caught up."""

    async def catch_up(self) -> None:
        """Read what the log holds past what was delivered."""


class Hub:
    def __init__(self) -> None:
        self.feeds: dict[Any, set[Follower]] = {}
        self.dashboards: set[DashboardConsumer] = set()
        self._lines: OrderedDict[str, tuple[int, asyncio.Future[Line | None]]] = OrderedDict()
        self._task: asyncio.Task[None] | None = None
        self._catch_ups: set[asyncio.Task[None]] = set()
        self._presence_due = 0.0

    # --- registration -------------------------------------------------------------------

    def watch_feed(self, consumer: Follower) -> None:
        self.feeds.setdefault(consumer.arena_id, set()).add(consumer)
        self._start()

    def unwatch_feed(self, consumer: Follower) -> None:
        arena_id = getattr(consumer, "arena_id", None)
        watchers = self.feeds.get(arena_id)
        if watchers is not None:
            watchers.discard(consumer)
            if not watchers:
                del self.feeds[arena_id]
        self._stop_when_idle()

    def watch_dashboard(self, consumer: DashboardConsumer) -> None:
        self.dashboards.add(consumer)
        self._start()

    def unwatch_dashboard(self, consumer: DashboardConsumer) -> None:
        self.dashboards.discard(consumer)
        self._stop_when_idle()

    def _start(self) -> None:
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._run())

    def _stop_when_idle(self) -> None:
        if not self.feeds and not self.dashboards and self._task is not None:
            self._task.cancel()
            self._task = None

    # --- dashboard summaries ------------------------------------------------------------

    async def line(self, arena_id: str, seq: int) -> Line | None:
        """The summary of an arena at `seq` or later, its non-staff viewers' ids and its
        request counts, loaded once per process however many dashboards ask; None if there
        is no such arena."""
        cached = self._lines.get(arena_id)
        if cached is None or cached[0] < seq:
            future = asyncio.ensure_future(self._load_line(arena_id))
            cached = (seq, future)
            self._lines[arena_id] = cached
            while len(self._lines) > LINES_MAX:
                self._lines.popitem(last=False)
        self._lines.move_to_end(arena_id)
        return await asyncio.shield(cached[1])

    async def _load_line(self, arena_id: str) -> Line | None:
        try:
            return await database_sync_to_async(_load_line)(arena_id)
        except Exception:
            logger.warning("Could not load the summary of arena %s", arena_id, exc_info=True)
            self._lines.pop(arena_id, None)
            return None

    def known_seq(self, arena_id: str) -> int:
        cached = self._lines.get(arena_id)
        return cached[0] if cached else 0

    # --- the poll -----------------------------------------------------------------------

    async def _run(self) -> None:
        while self.feeds or self.dashboards:
            interval = poll_seconds()
            await asyncio.sleep(interval)
            try:
                await self.poll(interval)
            except Exception:
                logger.warning("The live feed's catch-up poll failed", exc_info=True)

    async def poll(self, interval: float) -> None:
        """One round: catch up feeds that missed a doorbell, and announce arena changes
        that no dashboard doorbell brought."""
        since = None
        if self.dashboards:
            since = timezone.now() - 2 * timedelta(seconds=interval) - CHANGE_WINDOW_SLACK
        watchers = None
        if time.monotonic() >= self._presence_due:
            self._presence_due = time.monotonic() + PRESENCE_SECONDS
            watchers = self.agents_watching()
        heads, changed = await database_sync_to_async(_read)(list(self.feeds), since, watchers)
        for arena_id, head in heads.items():
            for consumer in list(self.feeds.get(arena_id, ())):
                if consumer.observe_head(head):
                    self._spawn(consumer.catch_up())
        for arena_id, seq in changed.items():
            key = str(arena_id)
            if seq > self.known_seq(key):
                for dashboard in list(self.dashboards):
                    self._spawn(dashboard.arena_changed({"arena_id": key, "seq": seq}))

    def agents_watching(self) -> set[str]:
        """The agents with an arena feed open in this process (an MCP wait is a request,
        which marks its agent seen by itself)."""
        viewers = (getattr(follower, "viewer", None) for f in self.feeds.values() for follower in f)
        return {viewer.agent_id for viewer in viewers if viewer is not None and viewer.is_agent}

    def _spawn(self, coroutine: Any) -> None:
        task = asyncio.get_running_loop().create_task(coroutine)
        self._catch_ups.add(task)
        task.add_done_callback(self._finished)

    def _finished(self, task: asyncio.Task[None]) -> None:
        self._catch_ups.discard(task)
        if not task.cancelled() and task.exception() is not None:
            logger.warning("A live catch-up failed", exc_info=task.exception())


def _load_line(arena_id: str) -> Line | None:
    manager = ArenaManager()
    found = manager.summary_and_viewers(arena_id)
    if found is None:
        return None
    summary, viewers = found
    return summary, viewers, manager.request_counts(summary["id"])


def _read(
    arena_ids: list[Any], since: Any, watchers: set[str] | None
) -> tuple[dict[Any, int], dict[Any, int]]:
    if watchers:
        agents.seen_by_feeds(watchers, timezone.now())
    heads = log.heads(arena_ids) if arena_ids else {}
    changed = log.changed_since(since) if since is not None else {}
    return heads, changed


_hubs: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Hub] = weakref.WeakKeyDictionary()


def hub() -> Hub:
    """The hub of the running event loop."""
    loop = asyncio.get_running_loop()
    current = _hubs.get(loop)
    if current is None:
        current = _hubs[loop] = Hub()
    return current
