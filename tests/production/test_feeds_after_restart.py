"""Websocket feeds right after a database restart: the backends of the server's database are
terminated (every pooled connection dies while idle, as on a restart; no other database is
touched), and a hundred feeds connect at once. Each gets its handshake, snapshot and replay
promptly: one database call waiting on a dead connection stalls no other."""

from __future__ import annotations

import asyncio
import json
import time

import httpx
import pytest
from websockets.asyncio.client import connect

from .conftest import WORKERS
from .test_database_connections import terminate_connections

pytestmark = [pytest.mark.e2e, pytest.mark.postgres]

FEEDS = 100
# Concurrent requests that make the server's pool open connections up to its size (20).
BUSY_REQUESTS = 60
# A healthy server connects these feeds in about 2 s on a quiet two-core machine.
WITHIN_SECONDS = 30.0


async def open_feeds(server, tokens: list[str], arena_id: str) -> list[float | str]:
    """Open FEEDS feeds at once (replaying from 0); each one's seconds to its last replayed
    event, or what went wrong."""

    async def one(index: int) -> float | str:
        started = time.monotonic()
        try:
            async with connect(
                f"{server.ws_url}/ws/arenas/{arena_id}/?after=0",
                additional_headers={"Authorization": f"Bearer {tokens[index % len(tokens)]}"},
                open_timeout=WITHIN_SECONDS,
            ) as websocket:
                snapshot = json.loads(await asyncio.wait_for(websocket.recv(), WITHIN_SECONDS))
                assert snapshot["type"] == "snapshot", snapshot
                seq = 0
                while seq < snapshot["arena"]["last_seq"]:
                    frame = json.loads(await asyncio.wait_for(websocket.recv(), WITHIN_SECONDS))
                    assert frame["type"] == "event" and frame["event"]["seq"] == seq + 1, frame
                    seq += 1
                return time.monotonic() - started
        except Exception as error:
            return f"{type(error).__name__}: {error}"

    return await asyncio.gather(*(one(index) for index in range(FEEDS)))


async def fill_the_pool(server, token: str, arena_id: str) -> None:
    """Requests at once, so that the pool holds as many connections as it may: a restart
    then leaves it full of dead ones."""
    async with httpx.AsyncClient(
        base_url=server.url,
        headers={"Authorization": f"Bearer {token}"},
        timeout=WITHIN_SECONDS,
        limits=httpx.Limits(max_connections=BUSY_REQUESTS),
    ) as http:
        responses = await asyncio.gather(
            *(http.get(f"/api/arenas/{arena_id}/events/") for _ in range(BUSY_REQUESTS))
        )
    assert {response.status_code for response in responses} == {200}


async def test_a_hundred_feeds_connect_promptly_right_after_the_database_restarts(
    postgres, start_server, tokens, connect_agent, live_db
):
    server = start_server(ALEPH_DB_POOL="1")
    feed_tokens = [tokens[worker] for worker in WORKERS]
    lead = connect_agent(server, tokens["lead"])
    arena_id = lead.create_active_arena(10, WORKERS)
    healthy = await open_feeds(server, feed_tokens, arena_id)
    assert all(isinstance(took, float) for took in healthy), healthy

    await fill_the_pool(server, tokens["lead"], arena_id)
    assert terminate_connections(live_db.url) >= 10, "the pool held connections"
    after_restart = await open_feeds(server, feed_tokens, arena_id)

    failed = [result for result in after_restart if isinstance(result, str)]
    assert failed == [], f"{len(failed)} feeds failed, first: {failed[:3]}"
    assert max(after_restart) < WITHIN_SECONDS
