"""The loop that delivers webhooks: in every server process, and in
`manage.py deliver_webhooks` for a process of its own.

Every `ALEPH_WEBHOOK_POLL_SECONDS` (1 s), and as soon as this process commits an event while
some subscription is active, the loop leases the cursors that are due (up to
`ALEPH_WEBHOOK_CONCURRENCY` deliveries at once, 8) and delivers each in a task of its own
(arenas/webhooks/delivery.py). Events committed by other processes are found by the poll.

It shares the server's event loop and never the write path: a write only sets an
`asyncio.Event` after its commit (`nudge`), the database work runs in threads for a few
milliseconds at a time, and a slow or silent receiver holds one connection of this loop for
at most 10 s per attempt, never a database connection or a request.

Daphne sends no ASGI lifespan events, so a server process starts its loop with the first
request it serves (`ensure_started`, called by `aleph_site.asgi`), as the claim sweep does.
`ALEPH_WEBHOOK_CONCURRENCY=0` keeps server processes from delivering (run the command).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import weakref

from django.conf import settings

from arenas.errors import TRANSIENT_DATABASE_ERRORS
from arenas.logs import error_line
from arenas.stream.db import in_thread

from . import delivery

logger = logging.getLogger(__name__)

LOOK_INTERVAL = 0.1  # seconds between two looks for due cursors, at least


def concurrency() -> int:
    return int(getattr(settings, "ALEPH_WEBHOOK_CONCURRENCY", 8))


def poll_seconds() -> float:
    return float(getattr(settings, "ALEPH_WEBHOOK_POLL_SECONDS", 1.0))


class Deliverer:
    """One event loop's deliveries."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.sender = delivery.Sender()
        self.running: dict[int, asyncio.Task[None]] = {}
        self.wake = asyncio.Event()
        self.loop = asyncio.get_running_loop()
        # Whether any subscription was active at the last look: a commit nudges only then.
        self.subscribed = True

    async def run(self) -> None:
        polled = float("-inf")
        while True:
            looked = self.loop.time()
            # A full look (new arenas' cursors too) once per poll; a commit's only the due ones.
            full = looked - polled >= poll_seconds()
            if full:
                polled = looked
            try:
                await self.start_due(open_new=full)
            except Exception as error:
                logger.warning(
                    "Webhook delivery could not look for work; retrying (%s)",
                    error_line(error),
                    exc_info=not isinstance(error, TRANSIENT_DATABASE_ERRORS),
                )
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.wake.wait(), poll_seconds())
            self.wake.clear()
            # Commits in quick succession wake the loop once per LOOK_INTERVAL at most.
            await asyncio.sleep(max(0.0, looked + LOOK_INTERVAL - self.loop.time()))

    async def start_due(self, open_new: bool = True) -> int:
        """Lease what is due and start delivering it; how many deliveries started."""
        free = self.limit - len(self.running)
        if free <= 0:
            return 0
        leases, self.subscribed = await in_thread(
            delivery.lease_due, free, frozenset(self.running), open_new
        )
        for lease in leases:
            self.running[lease.cursor_id] = self.loop.create_task(self._deliver(lease))
        return len(leases)

    async def _deliver(self, lease: delivery.Lease) -> None:
        try:
            await delivery.deliver(lease, self.sender)
        except Exception as error:
            logger.warning(
                "A webhook delivery failed (%s)",
                error_line(error),
                exc_info=not isinstance(error, TRANSIENT_DATABASE_ERRORS),
            )
        finally:
            self.running.pop(lease.cursor_id, None)
            self.wake.set()

    async def drain(self) -> None:
        """Deliver until nothing is due (retries scheduled for later wait): for the command's
        `--once` and for tests."""
        while await self.start_due() or self.running:
            if self.running:
                await asyncio.wait(list(self.running.values()))
        await self.sender.close()

    def nudge(self) -> None:
        if self.subscribed:
            with contextlib.suppress(RuntimeError):  # the loop has closed
                self.loop.call_soon_threadsafe(self.wake.set)


_running: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Deliverer] = (
    weakref.WeakKeyDictionary()
)
_tasks: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Task[None]] = (
    weakref.WeakKeyDictionary()
)


def ensure_started() -> None:
    """Start this event loop's deliverer unless it runs already (or delivery in server
    processes is off)."""
    loop = asyncio.get_running_loop()
    task = _tasks.get(loop)
    if task is not None and not task.done():
        return
    limit = concurrency()
    if limit <= 0:
        return
    deliverer = Deliverer(limit)
    _running[loop] = deliverer
    _tasks[loop] = loop.create_task(deliverer.run(), name="aleph-webhooks")


async def run_forever(limit: int | None = None) -> None:
    """The command's loop."""
    deliverer = Deliverer(limit or concurrency())
    _running[asyncio.get_running_loop()] = deliverer
    await deliverer.run()


async def deliver_due(limit: int | None = None) -> None:
    """Deliver everything that is due now, then return."""
    await Deliverer(limit or concurrency()).drain()


def nudge() -> None:
    """An event was committed: wake this process's deliverers (from any thread)."""
    for deliverer in list(_running.values()):
        deliverer.nudge()
