"""The live feed's per-process hub: who in this process follows what, the doorbells that
reach them, and the reads they share.

Followers are websocket feeds (`consumers.ArenaFeedConsumer`) and `wait_for_events` calls
(`waits.py`), each following one arena; dashboards (`consumers.DashboardConsumer`) follow
every arena their person may see. The hub holds them, and through its `Doorbells` the
process's one channel is in each followed arena's group (and the dashboard group while a
dashboard is open). A doorbell is handed to every follower of its arena in turn, as one
`Bell`: no copy, no queue and no task per subscriber.

What every subscriber of the process would otherwise read alone is read once and shared:
- pages of an arena's log (`events_after`), for feeds that replay, fill a gap or catch up:
  one read serves every feed that asks for the same page and may use a read that started
  then;
- whether a viewer still sees an arena after an `agent_left` (`sight`): one read of the
  arena's current participants per departure;
- dashboard summaries (`line`): one per arena change, whatever the number of dashboards.

While anything follows, the hub polls the database every `settings.ALEPH_LIVE_POLL_SECONDS`
with one query pair for the whole process:
- the committed `last_seq` of every followed arena; a follower told a head it has not
  reached decides whether it missed a doorbell (a feed waits one poll first, which keeps
  doorbells merely in flight from causing reads) and catches up from the log, and the
  process's channel joins that arena's group again (the layer may have dropped it);
- for dashboards, the arenas with recent events; an arena whose `last_seq` is past the
  newest summary this process loaded missed its doorbell and is shown to the dashboards.

Every PRESENCE_SECONDS it also marks the agents with an open feed here as seen (presence,
an open feed counts as being there), in one statement for the whole process.

One hub per event loop (Daphne runs one; tests run one per test).
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
import weakref
from collections import OrderedDict
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Protocol

from django.conf import settings
from django.utils import timezone

from arenas import agents
from arenas.errors import TRANSIENT_DATABASE_ERRORS
from arenas.events import DASHBOARD_GROUP, arena_group
from arenas.logs import error_line
from arenas.manager import ArenaManager

from . import log
from .db import in_thread
from .doorbells import Bell, Doorbells

logger = logging.getLogger(__name__)

# An arena's dashboard summary, the ids of the non-staff users who may see it, and its
# request counts (`ArenaManager.request_counts`).
Line = tuple[dict[str, Any], frozenset[int], dict[str, int]]
# Dashboard summaries kept per process (the newest of each arena), least recent dropped first.
LINES_MAX = 10_000
# How far back a poll looks for arena changes, beyond two poll intervals (clock skew between
# processes, slow polls).
CHANGE_WINDOW_SLACK = timedelta(seconds=5)
# How often the agents with an open feed are marked as seen ( at least every 30 s).
PRESENCE_SECONDS = 20.0
# Websocket feeds written to before the fan-out lets the event loop run something else: the
# sockets' writes, and the answer of the request whose commit rang (a writer waits for it
# before its next write). Measured at 200 subscribers with one writer on a loaded machine: 25
# per slice answered the write in 14-16 ms instead of 24-29 ms and delivered 47% -> 79% of the
# floor's rate; on a quiet one the difference was within the rounds' spread (docs/
# performance.md, run J). Waits take no slice: a doorbell wakes all of an arena's
# `wait_for_events` calls at once (docs/mcp.md).
RING_SLICE = 25


def poll_seconds() -> float:
    return float(getattr(settings, "ALEPH_LIVE_POLL_SECONDS", 2.0))


class Follower(Protocol):
    """Something that follows one arena's events in this process."""

    key: str  # the arena's id, as text
    writes: bool  # whether `ring` writes to a socket (and counts towards RING_SLICE)

    def ring(self, bell: Bell) -> None:
        """A doorbell of the arena: deliver it now if it is the next event, else note it.
        Called on the event loop; must not block."""

    def observe_head(self, head: int) -> bool:
        """Told the arena's committed `last_seq` each poll; True to be caught up."""

    async def catch_up(self, since: float) -> None:
        """Read what the log holds past what was delivered (with reads started at or after
        `since`, a `time.monotonic()`)."""


class Dashboard(Protocol):
    """A dashboard: shown each changed arena's line, and decides whether its person sees it."""

    def show(self, line: Line, message: dict[str, str]) -> None:
        """`message` is the ASGI message of the line's frame, made once for every dashboard."""


@dataclass(frozen=True)
class Sight:
    """Who may see an arena now: its current participants' agent ids and the ids of their
    owners (the people who see it on the dashboard; staff see every arena)."""

    agents: frozenset[str]
    owners: frozenset[int]

    def allows(self, viewer: Any) -> bool:
        if viewer.is_agent:
            return viewer.agent_id in self.agents
        return viewer.is_staff or viewer.user.pk in self.owners


class Hub:
    def __init__(self) -> None:
        self.feeds: dict[str, set[Follower]] = {}
        self.dashboards: set[Dashboard] = set()
        self.doorbells = Doorbells(self._ring, self._changed)
        self._lines: OrderedDict[str, tuple[int, asyncio.Future[Line | None]]] = OrderedDict()
        self._reads: dict[tuple[str, int], tuple[float, asyncio.Future[list[Bell]]]] = {}
        self._sights: dict[tuple[str, int], asyncio.Future[Sight]] = {}
        self._task: asyncio.Task[None] | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self._presence_due = 0.0

    # --- registration -------------------------------------------------------------------

    def follow(self, follower: Follower) -> asyncio.Future[bool]:
        """Ring `follower` with its arena's doorbells from now on; the arena's join (see
        `Doorbells.want`). Every call is matched by one `unfollow`."""
        self.feeds.setdefault(follower.key, set()).add(follower)
        self._start()
        return self.doorbells.want(arena_group(follower.key))

    def unfollow(self, follower: Follower) -> None:
        watchers = self.feeds.get(follower.key)
        if watchers is None or follower not in watchers:
            return
        watchers.discard(follower)
        if not watchers:
            del self.feeds[follower.key]
        self.doorbells.unwant(arena_group(follower.key))
        self._stop_when_idle()

    def watch_dashboard(self, dashboard: Dashboard) -> asyncio.Future[bool]:
        self.dashboards.add(dashboard)
        self._start()
        return self.doorbells.want(DASHBOARD_GROUP)

    def unwatch_dashboard(self, dashboard: Dashboard) -> None:
        if dashboard not in self.dashboards:
            return
        self.dashboards.discard(dashboard)
        self.doorbells.unwant(DASHBOARD_GROUP)
        self._stop_when_idle()

    def _start(self) -> None:
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._run())

    def _stop_when_idle(self) -> None:
        if not self.feeds and not self.dashboards and self._task is not None:
            self._task.cancel()
            self._task = None

    def spawn(self, coroutine: Any) -> asyncio.Task[Any]:
        """Run `coroutine` in a task the hub keeps until it ends, logging a failure."""
        task = asyncio.get_running_loop().create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._finished)
        return task

    def _finished(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            logger.warning("A live feed task failed", exc_info=task.exception())

    # --- doorbells ----------------------------------------------------------------------

    async def _ring(self, bell: Bell) -> None:
        """Ring every follower of the bell's arena, in turn, letting the loop breathe after
        each RING_SLICE feeds written to. The process's doorbells are rung one at a time
        (`Doorbells` awaits each), so a feed still gets them in order."""
        followers = self.feeds.get(str(bell.event["arena_id"]))
        if not followers:
            return
        written = 0
        for follower in list(followers):
            follower.ring(bell)
            if follower.writes:
                written += 1
                if written % RING_SLICE == 0:
                    await asyncio.sleep(0)

    def _changed(self, arena_id: str, seq: int) -> None:
        if self.dashboards:
            self.spawn(self._show(arena_id, seq))

    async def _show(self, arena_id: str, seq: int) -> None:
        """Show every dashboard the arena's line at `seq` or later, its frame made once."""
        found = await self.line(arena_id, seq)
        if found is None:
            return
        summary, _viewers, requests = found
        message = {
            "type": "websocket.send",
            "text": json.dumps({"type": "arena", "arena": summary, "requests": requests}),
        }
        for dashboard in list(self.dashboards):
            dashboard.show(found, message)

    # --- shared reads -------------------------------------------------------------------

    async def events_after(self, arena_id: str, after: int, since: float) -> list[Bell]:
        """The arena's logged events with `seq > after`, in seq order, at most `log.PAGE`
        (fewer only at the end of the log), as Bells. A read of the same page that started
        at or after `since` (a `time.monotonic()`) is joined instead of reading again."""
        key = (arena_id, after)
        found = self._reads.get(key)
        if found is None or found[0] < since:
            found = (time.monotonic(), asyncio.ensure_future(self._read(arena_id, after)))
            self._reads[key] = found
            found[1].add_done_callback(lambda _, key=key, found=found: self._forget(key, found))
        return await asyncio.shield(found[1])

    def _forget(self, key: tuple[str, int], found: Any) -> None:
        if self._reads.get(key) is found:
            del self._reads[key]

    async def _read(self, arena_id: str, after: int) -> list[Bell]:
        return [Bell(event) for event in await in_thread(log.events_after, arena_id, after)]

    async def sight(self, arena_id: str, seq: int) -> Sight:
        """Who may see the arena once its event `seq` is committed, read once per process
        for every feed that asks (a departure's)."""
        key = (arena_id, seq)
        found = self._sights.get(key)
        if found is None:
            found = self._sights[key] = asyncio.ensure_future(self._read_sight(arena_id))
            found.add_done_callback(lambda _, key=key: self._sights.pop(key, None))
        return await asyncio.shield(found)

    async def _read_sight(self, arena_id: str) -> Sight:
        agent_ids, owners = await in_thread(log.sight, arena_id)
        return Sight(agent_ids, owners)

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
            return await in_thread(_load_line, arena_id)
        except Exception as error:
            logger.warning(
                "Could not load the summary of arena %s (%s)",
                arena_id,
                error_line(error),
                exc_info=not isinstance(error, TRANSIENT_DATABASE_ERRORS),
            )
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
            except Exception as error:
                logger.warning(
                    "The live feed's catch-up poll failed (%s)",
                    error_line(error),
                    exc_info=not isinstance(error, TRANSIENT_DATABASE_ERRORS),
                )

    async def poll(self, interval: float) -> None:
        """One round: catch up followers that missed a doorbell, and show the dashboards
        arena changes that no doorbell brought."""
        since = None
        if self.dashboards:
            since = timezone.now() - 2 * timedelta(seconds=interval) - CHANGE_WINDOW_SLACK
        watchers = None
        if time.monotonic() >= self._presence_due:
            self._presence_due = time.monotonic() + PRESENCE_SECONDS
            watchers = self.agents_watching()
        self.doorbells.retry()
        started = time.monotonic()
        heads, changed = await in_thread(_read, list(self.feeds), since, watchers)
        for arena_id, head in heads.items():
            key = str(arena_id)
            lagging = [f for f in list(self.feeds.get(key, ())) if f.observe_head(head)]
            if lagging:
                self.doorbells.rejoin(arena_group(key))
            for follower in lagging:
                self.spawn(follower.catch_up(started))
        for arena_id, seq in changed.items():
            key = str(arena_id)
            if seq > self.known_seq(key):
                self._changed(key, seq)

    def agents_watching(self) -> set[str]:
        """The agents with an arena feed open in this process (an MCP wait is a request,
        which marks its agent seen by itself)."""
        viewers = (getattr(follower, "viewer", None) for f in self.feeds.values() for follower in f)
        return {viewer.agent_id for viewer in viewers if viewer is not None and viewer.is_agent}


def _load_line(arena_id: str) -> Line | None:
    manager = ArenaManager()
    found = manager.summary_and_viewers(arena_id)
    if found is None:
        return None
    summary, viewers = found
    return summary, viewers, manager.request_counts(summary["id"])


def _read(
    arena_ids: list[str], since: Any, watchers: set[str] | None
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
