"""The per-process claim sweep: while a server process runs, a claim whose lease
has passed gets its `claim_expired` event within ALEPH_CLAIM_SWEEP_SECONDS (default 5) of
`expires_at` even when nobody writes to its arena.

Daphne sends no ASGI lifespan events, so the sweep starts with the first request (HTTP or
websocket) an event loop serves (`ensure_started`, called by `aleph_site.asgi`), once per
loop. Several processes sweep at once safely: `claims.sweep` records each expiry under the
arena's row lock, so every expiry is recorded once. A process that has served no request
yet does not sweep; `manage.py expire_claims` (the systemd timer in deploy/) covers that.
"""

from __future__ import annotations

import asyncio
import logging
import weakref

from django.conf import settings

from arenas import claims
from arenas.errors import TRANSIENT_DATABASE_ERRORS
from arenas.logs import error_line

from .db import in_thread

logger = logging.getLogger(__name__)

_tasks: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Task[None]] = (
    weakref.WeakKeyDictionary()
)


def interval() -> float:
    return float(getattr(settings, "ALEPH_CLAIM_SWEEP_SECONDS", 5.0))


def ensure_started() -> None:
    """Start this event loop's sweep unless it runs already."""
    loop = asyncio.get_running_loop()
    task = _tasks.get(loop)
    if task is None or task.done():
        _tasks[loop] = loop.create_task(_run(), name="aleph-claim-sweep")


async def _run() -> None:
    while True:
        await asyncio.sleep(interval())
        try:
            expired = await in_thread(claims.sweep)
        except Exception as error:
            logger.warning(
                "The claim sweep failed; it runs again shortly (%s)",
                error_line(error),
                exc_info=not isinstance(error, TRANSIENT_DATABASE_ERRORS),
            )
        else:
            if expired:
                logger.info("Recorded the expiry of %d claim(s)", expired)
