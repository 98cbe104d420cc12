"""SQLite connections kept open between requests (aleph_site/sqlite/base.py).

Unit tests drive the backend's `DatabaseWrapper` over a file of their own, as Django's request
cycle does (`ensure_connection`, statements, `close`); the end-to-end test serves requests
from a Daphne process on SQLite and counts the connections it holds to its database file.
"""

from __future__ import annotations

import multiprocessing
import os
import sqlite3
from pathlib import Path

import httpx
import pytest
from django.conf import settings
from django.db import connections

from aleph_site.sqlite.base import DatabaseWrapper, idle_connections
from tests.support.liveserver import Database, LiveServer
from tests.support.waiting import until


@pytest.fixture
def wrapper_for(tmp_path: Path, django_db_blocker):
    """wrapper_for(max_idle=2, alias="x") -> a pooling DatabaseWrapper over tmp_path's file;
    every wrapper and idle connection is closed at the end."""
    path = str(tmp_path / "pool.sqlite3")
    made: list[DatabaseWrapper] = []

    def make(max_idle: int = 2, pool: bool = True) -> DatabaseWrapper:
        database = {
            **connections.settings["default"],
            "NAME": path,
            "OPTIONS": {
                **settings.SQLITE_OPTIONS,
                "pool": {"max_idle": max_idle} if pool else None,
            },
            "TEST": {},
        }
        wrapper = DatabaseWrapper(database, alias=f"pool-test-{len(made)}")
        made.append(wrapper)
        return wrapper

    with django_db_blocker.unblock():
        yield make
        for wrapper in made:
            wrapper.in_atomic_block = False
            wrapper.close()
        idle_connections(path, 0).close_all()


def open_and_close(wrapper: DatabaseWrapper) -> sqlite3.Connection:
    """One request's worth: connect, a statement, close; the sqlite3 connection it used."""
    wrapper.ensure_connection()
    raw = wrapper.connection
    with wrapper.cursor() as cursor:
        cursor.execute("SELECT 1")
    wrapper.close()
    return raw


def test_a_closed_connection_is_the_next_requests_connection(wrapper_for):
    first = open_and_close(wrapper_for())
    second = open_and_close(wrapper_for())
    assert second is first
    second.execute("SELECT 1")  # still open


def test_without_the_pool_option_every_request_opens_its_own(wrapper_for):
    first = open_and_close(wrapper_for(pool=False))
    second = open_and_close(wrapper_for(pool=False))
    assert second is not first
    with pytest.raises(sqlite3.ProgrammingError):
        first.execute("SELECT 1")  # closed for real


def test_a_transaction_left_open_is_rolled_back_before_the_connection_is_reused(wrapper_for):
    setup = wrapper_for()
    setup.ensure_connection()
    setup.connection.execute("CREATE TABLE t (x INTEGER)")
    setup.close()

    wrapper = wrapper_for()
    wrapper.ensure_connection()
    wrapper.connection.execute("BEGIN")
    wrapper.connection.execute("INSERT INTO t VALUES (1)")
    raw = wrapper.connection
    wrapper.close()

    reader = wrapper_for()
    reader.ensure_connection()
    assert reader.connection is raw
    assert not raw.in_transaction
    assert raw.execute("SELECT count(*) FROM t").fetchone() == (0,)


def test_a_connection_closed_inside_an_atomic_block_is_not_handed_to_anyone_else(wrapper_for):
    wrapper = wrapper_for()
    wrapper.ensure_connection()
    held = wrapper.connection
    wrapper.in_atomic_block = True  # as Django is when a request closes it mid-transaction
    wrapper.close()
    other = wrapper_for()
    other.ensure_connection()
    assert other.connection is not held


def test_a_connection_to_a_replaced_file_is_closed_not_reused(wrapper_for, tmp_path):
    old = open_and_close(wrapper_for())
    path = tmp_path / "pool.sqlite3"
    for leftover in tmp_path.glob("pool.sqlite3*"):
        leftover.unlink()
    sqlite3.connect(path).close()  # a new database file at the same path

    fresh = open_and_close(wrapper_for())
    assert fresh is not old
    with pytest.raises(sqlite3.ProgrammingError):
        old.execute("SELECT 1")


def test_at_most_max_idle_connections_wait(wrapper_for):
    wrappers = [wrapper_for(max_idle=2) for _ in range(3)]
    raws = []
    for wrapper in wrappers:  # three requests at once
        wrapper.ensure_connection()
        raws.append(wrapper.connection)
    for wrapper in wrappers:
        wrapper.close()
    closed = 0
    for raw in raws:
        try:
            raw.execute("SELECT 1")
        except sqlite3.ProgrammingError:
            closed += 1
    assert closed == 1


def test_foreign_keys_are_enforced_again_on_a_reused_connection(wrapper_for):
    wrapper = wrapper_for()
    wrapper.ensure_connection()
    wrapper.connection.execute("PRAGMA foreign_keys = OFF")  # as a schema change may leave it
    raw = wrapper.connection
    wrapper.close()
    reused = wrapper_for()
    reused.ensure_connection()
    assert reused.connection is raw
    assert raw.execute("PRAGMA foreign_keys").fetchone() == (1,)


def _idle_count_in_child(path: str, queue) -> None:
    queue.put(len(idle_connections(path, 2)._idle))


def test_a_forked_child_does_not_inherit_idle_connections(wrapper_for, tmp_path):
    open_and_close(wrapper_for())
    path = str(tmp_path / "pool.sqlite3")
    assert len(idle_connections(path, 2)._idle) == 1
    context = multiprocessing.get_context("fork")
    queue = context.Queue()
    child = context.Process(target=_idle_count_in_child, args=(path, queue))
    child.start()
    assert queue.get(timeout=30) == 0
    child.join(timeout=30)


def _connections_to(server, database: str) -> int:
    """How many open files of the server's processes are its SQLite database file."""
    holding = 0
    for pid in server.all_pids():
        for fd in Path(f"/proc/{pid}/fd").iterdir():
            try:
                if os.path.realpath(fd.readlink()) == database:
                    holding += 1
            except OSError:
                continue
    return holding


@pytest.fixture
def sqlite_server(tmp_path, live_server_env):
    """A Daphne process over a fresh SQLite database, whatever this run's database is."""
    database = Database.fresh("sqlite", directory=tmp_path)
    server = LiveServer(database, extra_env=live_server_env, log_path=tmp_path / "daphne.log")
    server.start()
    yield server
    server.stop()
    database.drop()


@pytest.mark.e2e
@pytest.mark.parametrize(
    "live_server_env, kept", [({}, True), ({"ALEPH_DB_POOL": "0"}, False)], ids=["pool", "none"]
)
def test_a_server_on_sqlite_keeps_its_connections_open_between_requests(sqlite_server, kept):
    """A Daphne process on SQLite answers 60 requests (each in a thread of its own, as Django
    serves ASGI). With the pool it then still holds a connection to its database file, and
    only a handful; without it (ALEPH_DB_POOL=0) every request closed its own."""
    token = sqlite_server.database.create_agent("reader")
    with httpx.Client(
        base_url=sqlite_server.url, headers={"Authorization": f"Bearer {token}"}
    ) as client:
        for _ in range(60):
            assert client.get("/api/arenas/").status_code == 200
    database = os.path.realpath(sqlite_server.database.url.removeprefix("sqlite:///"))
    if kept:
        assert 1 <= _connections_to(sqlite_server, database) <= 12
    else:
        until(lambda: _connections_to(sqlite_server, database) == 0)
