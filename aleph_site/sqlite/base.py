"""Django's SQLite backend, with the connections a process closes kept open for its next
request.

Under ASGI Django serves each request in a thread of its own and closes its database
connection at the end (`CONN_MAX_AGE` must be 0 there: a persistent connection would be left
behind in every finished thread), and so do the live side's database threads after each call
(`arenas/stream/db.py`). On SQLite every request therefore opened a connection: the file, its
write-ahead log's shared memory, Django's SQL functions, the pragmas, and the schema parsed
again on the first statement. In-process, a step completion through the ASGI handler cost
4.2 ms of CPU with a connection opened per request and 2.9 ms with this backend; under Daphne
one writer went from 92 to 209 step completions/s (docs/performance.md, run J).

A connection "closed" outside a transaction goes to the process's idle connections for the
same file instead (rolled back first if a transaction was left open), and the next connection
Django asks for is taken from there, as Django's PostgreSQL backend takes one from psycopg's
pool. A connection is handed out only to the file it was opened on: the idle ones are kept
per database path with the file's identity (device and inode) when they were opened, and one
whose file has since been replaced (a test database made again, a restored backup) is closed
instead of reused. Its foreign-key enforcement is switched on again when it is taken (a
schema change may have left it off). At most `max_idle` wait; more are closed. A forked
child starts with no idle connections of its own (SQLite connections must not cross a fork).

Settings: ENGINE `aleph_site.sqlite`, `OPTIONS["pool"]`: True, or `{"max_idle": N}`; without
it (`ALEPH_DB_POOL=0`) the backend is Django's.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections import deque
from typing import Any

from django.db.backends.sqlite3 import base

MAX_IDLE = 20

Identity = tuple[int, int]  # (st_dev, st_ino) of the database file


def file_identity(path: str) -> Identity | None:
    """The device and inode of the file at `path`, or None if there is none."""
    try:
        stat = os.stat(path)
    except OSError:
        return None
    return (stat.st_dev, stat.st_ino)


class IdleConnections:
    """One process's idle connections to one database file."""

    def __init__(self, path: str, max_idle: int) -> None:
        self.path = path
        self.max_idle = max_idle
        self._idle: deque[tuple[Identity, sqlite3.Connection]] = deque()
        self._lock = threading.Lock()

    def take(self) -> tuple[Identity, sqlite3.Connection] | None:
        """An idle connection to the file now at the path (the most recently used), or None."""
        current = file_identity(self.path)
        while True:
            with self._lock:
                if not self._idle:
                    return None
                identity, connection = self._idle.pop()
            if identity == current:
                return identity, connection
            connection.close()  # opened on a file that has been replaced since

    def give(self, identity: Identity, connection: sqlite3.Connection) -> bool:
        """Keep `connection` for the next request; False if there is no room for it."""
        with self._lock:
            if len(self._idle) >= self.max_idle:
                return False
            self._idle.append((identity, connection))
            return True

    def close_all(self) -> None:
        with self._lock:
            idle, self._idle = list(self._idle), deque()
        for _, connection in idle:
            connection.close()


_pools: dict[str, IdleConnections] = {}
_pools_pid = os.getpid()
_pools_lock = threading.Lock()


def idle_connections(path: str, max_idle: int) -> IdleConnections:
    """This process's idle connections to `path` (none inherited across a fork)."""
    global _pools_pid
    with _pools_lock:
        if _pools_pid != os.getpid():
            _pools.clear()  # the parent's: left alone, neither used nor closed here
            _pools_pid = os.getpid()
        pool = _pools.get(path)
        if pool is None:
            pool = _pools[path] = IdleConnections(path, max_idle)
        return pool


def close_idle_connections() -> None:
    """Close every idle connection of this process (tests, and before a file is replaced)."""
    with _pools_lock:
        pools = list(_pools.values()) if _pools_pid == os.getpid() else []
    for pool in pools:
        pool.close_all()


class DatabaseWrapper(base.DatabaseWrapper):
    _identity: Identity | None = None

    def get_connection_params(self) -> dict[str, Any]:
        params = super().get_connection_params()
        params.pop("pool", None)  # this backend's, not sqlite3.connect's
        return params

    def _idle(self) -> IdleConnections | None:
        options = self.settings_dict["OPTIONS"].get("pool")
        if not options or self.is_in_memory_db():
            return None
        max_idle = options.get("max_idle", MAX_IDLE) if isinstance(options, dict) else MAX_IDLE
        return idle_connections(str(self.settings_dict["NAME"]), max_idle)

    def get_new_connection(self, conn_params: dict[str, Any]) -> sqlite3.Connection:
        pool = self._idle()
        taken = pool.take() if pool is not None else None
        if taken is not None:
            self._identity, connection = taken
            connection.execute("PRAGMA foreign_keys = ON")
            return connection
        connection = super().get_new_connection(conn_params)
        self._identity = file_identity(str(self.settings_dict["NAME"]))
        return connection

    def _close(self) -> None:
        connection, identity = self.connection, self._identity
        pool = self._idle() if connection is not None else None
        # Closed inside an atomic block, Django keeps its reference to the connection (and
        # refuses to use it): it must not be handed to anyone else then.
        if pool is None or identity is None or self.in_atomic_block:
            return super()._close()
        self._identity = None
        with self.wrap_database_errors:
            if connection.in_transaction:
                connection.rollback()
        if not pool.give(identity, connection):
            with self.wrap_database_errors:
                connection.close()
