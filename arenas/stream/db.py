"""The live side's database work, run in threads of its own.

Channels' `database_sync_to_async` runs a call on the process's one "thread-sensitive" thread
unless told otherwise, and outside an HTTP request nothing tells it otherwise: every session
lookup of a websocket handshake, every token check, snapshot, replay, catch-up poll and claim
sweep of the process would queue behind each other there, so one call stuck on a connection
(a pool checkout while the database restarts) would stall them all, and the thread is also a
ceiling on how many handshakes a process can serve.

`in_thread` runs them on a pool of `ALEPH_LIVE_DB_THREADS` threads (default 8, at most that
many database connections at once: below psycopg's pool size). Each call closes its database
connection when it returns (with psycopg's pool: hands it back), as `database_sync_to_async`
does, so no thread keeps one between calls.
"""

from __future__ import annotations

import threading
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from channels.db import database_sync_to_async
from django.conf import settings

T = TypeVar("T")

_executor: ThreadPoolExecutor | None = None
_lock = threading.Lock()


def threads() -> int:
    return int(getattr(settings, "ALEPH_LIVE_DB_THREADS", 8))


def executor() -> ThreadPoolExecutor:
    """The process's pool of database threads for the live side, made on first use."""
    global _executor
    with _lock:
        if _executor is None:
            _executor = ThreadPoolExecutor(max_workers=threads(), thread_name_prefix="aleph-live")
        return _executor


def in_thread(function: Callable[..., T], *args: Any) -> Awaitable[T]:
    """Run `function(*args)` on one of the live side's database threads; its connection is
    closed (or returned to the pool) before and after."""
    return database_sync_to_async(function, thread_sensitive=False, executor=executor())(*args)
