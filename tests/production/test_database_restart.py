"""A database restart under two server processes (the pool on, as by default): every backend of
the test's database is terminated while the pools hold idle connections (no other database is
touched). The next write on each process gets a live connection at once and succeeds, and the
claim sweep records a lapsed lease on time, though each process's pool is full of dead
connections. (Before the pool replaced them all on meeting one, psycopg_pool's check backed
off 1, 2, 4, 8, 16 s per dead connection: the first write waited 30 s and answered 500.)"""

from __future__ import annotations

import asyncio
import time
from datetime import datetime

import psycopg
import pytest

from .conftest import WORKERS
from .test_database_connections import terminate_connections
from .test_feeds_after_restart import fill_the_pool

pytestmark = [pytest.mark.e2e, pytest.mark.postgres]

# A connection opens in milliseconds; generous for a shared two-core machine.
PROMPTLY_SECONDS = 5.0
SWEEP_SECONDS = 1.0


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def test_writes_right_after_a_restart_answer_promptly_on_every_process(
    postgres, start_server, tokens, connect_agent, live_db
):
    servers = [start_server(ALEPH_DB_POOL="1"), start_server(ALEPH_DB_POOL="1")]
    writers = [connect_agent(servers[i % 2], tokens[worker]) for i, worker in enumerate(WORKERS)]
    lead = connect_agent(servers[0], tokens["lead"])
    arena_id = lead.create_active_arena(20, WORKERS)
    for server in servers:
        asyncio.run(fill_the_pool(server, tokens["lead"], arena_id))
    assert terminate_connections(live_db.url) >= 4, "the pools held connections"

    took = []
    for index, writer in enumerate(writers[:2]):  # one on each process
        started = time.monotonic()
        response = writer.complete_step(arena_id, index + 1)
        took.append(time.monotonic() - started)
        assert response.status_code == 201, response.text
    assert max(took) < PROMPTLY_SECONDS, took


def test_the_claim_sweep_records_expiries_on_time_right_after_a_restart(
    postgres, start_server, tokens, connect_agent, live_db
):
    sweeping = {"ALEPH_DB_POOL": "1", "ALEPH_CLAIM_SWEEP_SECONDS": str(SWEEP_SECONDS)}
    servers = [start_server(**sweeping), start_server(**sweeping)]
    writers = [connect_agent(servers[i % 2], tokens[worker]) for i, worker in enumerate(WORKERS)]
    lead = connect_agent(servers[0], tokens["lead"])
    arena_id = lead.create_active_arena(20, WORKERS)
    for server in servers:  # each process serves a request: its sweep runs
        asyncio.run(fill_the_pool(server, tokens["lead"], arena_id))
    claimed = writers[1].http.post(
        f"/api/arenas/{arena_id}/steps/1/claim", json={"lease_seconds": 5}
    )
    assert claimed.status_code == 201, claimed.text
    expires_at = _at(claimed.json()["claim"]["expires_at"])
    assert terminate_connections(live_db.url) >= 4, "the pools held connections"

    # No request reaches either process until the expiry is recorded: only their sweeps meet
    # the dead connections. (So the test watches the table itself.)
    recorded_at = wait_for_expiry(live_db.url, deadline=time.monotonic() + 60)
    assert (recorded_at - expires_at).total_seconds() < SWEEP_SECONDS + PROMPTLY_SECONDS

    [expired] = [e for e in lead.events(arena_id) if e["type"] == "claim_expired"]
    assert _at(expired["timestamp"]) == recorded_at


def wait_for_expiry(database_url: str, deadline: float) -> datetime:
    """When the first `claim_expired` event was recorded, read from the database."""
    with psycopg.connect(database_url, autocommit=True) as reader:
        while time.monotonic() < deadline:
            row = reader.execute(
                "SELECT timestamp FROM arenas_event WHERE type = 'claim_expired'"
            ).fetchone()
            if row is not None:
                return row[0]
            time.sleep(0.1)
    raise AssertionError("no claim_expired event within the deadline")
