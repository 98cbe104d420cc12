"""The live feed end to end: real Daphne processes, REST writes over HTTP, and websocket
clients (the `websockets` library) as agents run them; across two processes through Redis."""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from tests.support.liveserver import LiveServer

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

WAIT = 30.0
WRITES = 40
# Longer than channels_redis' 5 s blocking receive, so one times out while the feed idles.
IDLE_SECONDS = 7


class Agents:
    """Agents of a live database and REST calls made as them."""

    def __init__(self, live_db, *names: str) -> None:
        self.tokens = {name: live_db.create_agent(name) for name in names}

    def headers(self, name: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[name]}"}

    async def post(self, server: LiveServer, name: str, path: str, body: dict) -> dict:
        async with httpx.AsyncClient(base_url=server.url, timeout=WAIT) as http:
            response = await http.post(path, json=body, headers=self.headers(name))
        assert response.status_code in (200, 201), response.text
        return response.json()

    async def events(self, server: LiveServer, name: str, arena_id: str, after: int) -> list:
        found: list = []
        async with httpx.AsyncClient(base_url=server.url, timeout=WAIT) as http:
            while True:
                response = await http.get(
                    f"/api/arenas/{arena_id}/events/",
                    params={"after": after, "limit": 500},
                    headers=self.headers(name),
                )
                assert response.status_code == 200, response.text
                page = response.json()["events"]
                found.extend(page)
                if not page:
                    return found
                after = page[-1]["seq"]


async def active_arena(agents: Agents, server: LiveServer) -> str:
    arena = await agents.post(
        server,
        "alice",
        "/api/arenas/",
        {
            "goal": "Watch it live",
            "total_steps": 5,
            "participants": [{"agent_id": "bob", "role": "worker"}],
        },
    )
    await agents.post(server, "alice", f"/api/arenas/{arena['id']}/activate/", {})
    return arena["id"]


async def write_progress(
    agents: Agents,
    server: LiveServer,
    arena_id: str,
    count: int,
    started: asyncio.Event | None = None,
) -> None:
    """`count` progress updates as bob; `started` is set after the first quarter."""
    for number in range(count):
        await agents.post(
            server, "bob", f"/api/arenas/{arena_id}/progress/", {"current": f"part {number}"}
        )
        if started is not None and number == count // 4:
            started.set()


async def read_events(ws, after: int, last: int) -> list:
    received: list = []
    while (received[-1]["seq"] if received else after) < last:
        frame = json.loads(await asyncio.wait_for(ws.recv(), WAIT))
        assert frame["type"] == "event", frame
        received.append(frame["event"])
    return received


async def subscribe(server: LiveServer, agents: Agents, name: str, arena_id: str, query=""):
    ws = await connect(
        f"{server.ws_url}/ws/arenas/{arena_id}/{query}",
        additional_headers=agents.headers(name),
        open_timeout=WAIT,
    )
    snapshot = json.loads(await asyncio.wait_for(ws.recv(), WAIT))
    assert snapshot["type"] == "snapshot"
    return ws, snapshot["arena"]


async def close_code_of(server: LiveServer, path: str, headers: dict[str, str]) -> int:
    async with connect(f"{server.ws_url}{path}", additional_headers=headers) as ws:
        with pytest.raises(ConnectionClosed) as closed:
            await asyncio.wait_for(ws.recv(), WAIT)
    return closed.value.rcvd.code


async def test_agent_on_daphne_receives_rest_writes_in_order_and_complete(live_server, live_db):
    agents = Agents(live_db, "alice", "bob", "mallory")
    arena_id = await active_arena(agents, live_server)
    ws, snapshot = await subscribe(live_server, agents, "alice", arena_id)
    await write_progress(agents, live_server, arena_id, WRITES)
    stored = await agents.events(live_server, "alice", arena_id, snapshot["last_seq"])
    assert len(stored) == WRITES
    assert await read_events(ws, snapshot["last_seq"], stored[-1]["seq"]) == stored
    await ws.close()

    replay, _ = await subscribe(live_server, agents, "bob", arena_id, "?after=0")
    everything = await agents.events(live_server, "bob", arena_id, 0)
    assert await read_events(replay, 0, everything[-1]["seq"]) == everything
    await replay.close()


async def test_daphne_refuses_with_the_close_codes(live_server, live_db):
    agents = Agents(live_db, "alice", "bob", "mallory")
    arena_id = await active_arena(agents, live_server)
    feed = f"/ws/arenas/{arena_id}/"
    assert await close_code_of(live_server, feed, {}) == 4401
    assert await close_code_of(live_server, feed, {"Authorization": "Bearer aa_nope"}) == 4401
    assert await close_code_of(live_server, feed, agents.headers("mallory")) == 4404
    assert await close_code_of(live_server, f"{feed}?after=x", agents.headers("bob")) == 4400
    assert await close_code_of(live_server, "/ws/dashboard/", agents.headers("bob")) == 4403


def _feed_server_without_polling(live_db, redis_url, tmp_path) -> LiveServer:
    """A Daphne process on Redis that polls the log only once an hour: every live event its
    feeds deliver must have come through Redis."""
    return LiveServer(
        live_db,
        redis_url=redis_url,
        extra_env={"ALEPH_LIVE_POLL_SECONDS": "3600"},
        log_path=tmp_path / "watched.log",
    ).start()


async def test_client_on_one_process_receives_writes_made_through_another(
    redis_url, live_db, tmp_path
):
    """Two Daphne processes share the database and Redis. The subscriber's process polls the
    log only once an hour here, so every live event must come through Redis."""
    watched = _feed_server_without_polling(live_db, redis_url, tmp_path)
    written = LiveServer(live_db, redis_url=redis_url, log_path=tmp_path / "written.log").start()
    try:
        agents = Agents(live_db, "alice", "bob")
        arena_id = await active_arena(agents, written)
        early, snapshot = await subscribe(watched, agents, "alice", arena_id)
        started = asyncio.Event()
        writer = asyncio.ensure_future(write_progress(agents, written, arena_id, WRITES, started))
        await asyncio.wait_for(started.wait(), WAIT)
        late, _ = await subscribe(watched, agents, "bob", arena_id, "?after=0")
        await writer
        stored = await agents.events(written, "alice", arena_id, 0)
        last = stored[-1]["seq"]
        assert (
            await read_events(early, snapshot["last_seq"], last) == stored[snapshot["last_seq"] :]
        )
        assert await read_events(late, 0, last) == stored
        await early.close()
        await late.close()
    finally:
        written.stop()
        watched.stop()


async def test_writes_served_over_wsgi_reach_a_feed_on_daphne(redis_url, live_db, tmp_path):
    """The production layout of docs/deploy.md: granian serves the REST API through
    aleph_site.wsgi (no event loop; announcements go through the process's own loop thread),
    Daphne serves the feed. Every event arrives live, through Redis, in order."""
    watched = _feed_server_without_polling(live_db, redis_url, tmp_path)
    written = LiveServer(
        live_db, redis_url=redis_url, kind="granian-wsgi", log_path=tmp_path / "wsgi.log"
    ).start()
    try:
        agents = Agents(live_db, "alice", "bob")
        arena_id = await active_arena(agents, written)
        feed, snapshot = await subscribe(watched, agents, "alice", arena_id)
        await write_progress(agents, written, arena_id, WRITES, asyncio.Event())
        stored = await agents.events(written, "alice", arena_id, 0)
        last = stored[-1]["seq"]
        assert last == snapshot["last_seq"] + WRITES
        assert await read_events(feed, snapshot["last_seq"], last) == stored[snapshot["last_seq"] :]
        await feed.close()
    finally:
        written.stop()
        watched.stop()


async def test_idle_feed_outlives_the_redis_blocking_receive(redis_url, live_server, live_db):
    """channels_redis waits 5 s per blocking receive; a socket timeout no longer than that
    used to crash every consumer idle for 5 s. Idle for longer, the feed still works."""
    agents = Agents(live_db, "alice", "bob")
    arena_id = await active_arena(agents, live_server)
    ws, snapshot = await subscribe(live_server, agents, "alice", arena_id)
    await asyncio.sleep(IDLE_SECONDS)
    await ws.send(json.dumps({"type": "ping"}))
    assert json.loads(await asyncio.wait_for(ws.recv(), WAIT)) == {"type": "pong"}
    await write_progress(agents, live_server, arena_id, 1)
    (event,) = await read_events(ws, snapshot["last_seq"], snapshot["last_seq"] + 1)
    assert event["type"] == "progress_updated"
    await ws.close()
