"""Pooled PostgreSQL connections (ALEPH_DB_POOL=1, docs/deploy.md): connections that die
while idle in the pool, as on a database restart, are replaced before a request gets them.
"""

from __future__ import annotations

from collections import Counter
from urllib.parse import urlparse

import psycopg
import pytest

from .client import assert_arena_consistent
from .conftest import WORKERS
from .workload import run_threads

pytestmark = [pytest.mark.e2e, pytest.mark.postgres]


def terminate_connections(database_url: str) -> int:
    """Kill every server process connected to the database; how many there were."""
    name = urlparse(database_url).path.lstrip("/")
    with psycopg.connect(database_url, autocommit=True) as admin:
        rows = admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = %s AND pid <> pg_backend_pid()",
            [name],
        ).fetchall()
    return len(rows)


def test_pooled_server_replaces_connections_killed_while_idle(
    postgres, start_server, http_kind, tokens, connect_agent, live_db
):
    server = start_server(kind=http_kind, ALEPH_DB_POOL="1")
    writers = [connect_agent(server, tokens[worker]) for worker in WORKERS]
    arena_id = connect_agent(server, tokens["lead"]).create_active_arena(100, WORKERS)
    statuses: list[int] = []

    def writer(index: int, steps: range):
        def body() -> None:
            for step in steps:
                statuses.append(writers[index].complete_step(arena_id, step).status_code)

        return body

    run_threads([writer(i, range(i * 10 + 1, i * 10 + 6)) for i in range(len(WORKERS))])
    assert terminate_connections(live_db.url) >= 1, "the pool held connections"
    run_threads([writer(i, range(i * 10 + 6, i * 10 + 11)) for i in range(len(WORKERS))])

    assert Counter(statuses) == {201: 10 * len(WORKERS)}
    assert len(assert_arena_consistent(connect_agent(server, tokens["lead"]), arena_id)) == 40
