"""Talking to live servers as agents do: REST over httpx, the live feed over `websockets`.

The production tests hold the servers to the wire formats only; they
never read the database behind a server's back.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Protocol

import httpx
from websockets.sync.client import ClientConnection, connect

from tests.support.liveserver import LiveServer

# Generous: a shared two-core machine under a contention test is slow, not broken.
TIMEOUT_SECONDS = 60.0


class ApiAgent:
    """One agent's HTTP client for one server (keep-alive, bearer token)."""

    def __init__(self, server: LiveServer, token: str) -> None:
        self.server = server
        self.token = token
        self.http = httpx.Client(
            base_url=server.url,
            headers={"Authorization": f"Bearer {token}"},
            timeout=TIMEOUT_SECONDS,
        )

    def close(self) -> None:
        self.http.close()

    def create_active_arena(self, total_steps: int, workers: list[str]) -> str:
        """A new arena with `workers` as workers, activated; its id."""
        config = {
            "goal": "Hold up under load",
            "total_steps": total_steps,
            "participants": [{"agent_id": worker, "role": "worker"} for worker in workers],
        }
        created = self.http.post("/api/arenas/", json=config)
        assert created.status_code == 201, created.text
        arena_id = created.json()["id"]
        activated = self.http.post(f"/api/arenas/{arena_id}/activate/")
        assert activated.status_code == 200, activated.text
        return arena_id

    def complete_step(self, arena_id: str, step: int) -> httpx.Response:
        return self.http.post(f"/api/arenas/{arena_id}/steps/", json={"step": step})

    def events(self, arena_id: str) -> list[dict[str, Any]]:
        """Every stored event of the arena, page by page, in `seq` order."""
        found: list[dict[str, Any]] = []
        after = 0
        while True:
            page = self.http.get(
                f"/api/arenas/{arena_id}/events/", params={"after": after, "limit": 500}
            )
            assert page.status_code == 200, page.text
            body = page.json()
            found.extend(body["events"])
            if not body["events"] or body["next_after"] is None:
                return found
            after = body["next_after"]

    def completed_steps(self, arena_id: str) -> set[int]:
        """The steps the plan lists as completed (the completion rows, not the events)."""
        done: set[int] = set()
        url: str | None = f"/api/arenas/{arena_id}/steps/?limit=500"
        while url:
            page = self.http.get(url)
            assert page.status_code == 200, page.text
            body = page.json()
            done.update(item["step"] for item in body["results"] if item["completed"])
            url = body["next"]
        return done

    def aggregate(self, arena_id: str) -> dict[str, Any]:
        response = self.http.get(f"/api/arenas/{arena_id}/aggregate/")
        assert response.status_code == 200, response.text
        return response.json()


def assert_arena_consistent(agent: ApiAgent, arena_id: str) -> set[int]:
    """Nothing half-applied, nothing counted twice: the log is gapless, every completed step
    has exactly one `step_completed` event, and the counters equal the completions. Returns
    the completed steps."""
    events = agent.events(arena_id)
    assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
    completions = [e for e in events if e["type"] == "step_completed"]
    per_step = Counter(e["step"] for e in completions)
    assert all(count == 1 for count in per_step.values()), per_step.most_common(3)
    # Writers serialised on the arena: each completion counted every earlier one.
    assert [e["completed_steps"] for e in completions] == list(range(1, len(completions) + 1))
    done = agent.completed_steps(arena_id)
    assert done == set(per_step)
    aggregate = agent.aggregate(arena_id)
    assert aggregate["completed_steps"] == len(done)
    assert aggregate["last_seq"] == len(events)
    return done


class ServesWebsockets(Protocol):
    """A Daphne process (LiveServer) or a proxy in front of some."""

    ws_url: str


@contextmanager
def feed(
    server: ServesWebsockets, token: str, arena_id: str, after: int | None = None, **options: Any
) -> Iterator[ClientConnection]:
    """The arena's websocket feed, its snapshot already read and checked. `options` go to
    `websockets.sync.client.connect` (`ssl=` for wss)."""
    query = "" if after is None else f"?after={after}"
    with connect(
        f"{server.ws_url}/ws/arenas/{arena_id}/{query}",
        additional_headers={"Authorization": f"Bearer {token}"},
        open_timeout=TIMEOUT_SECONDS,
        **options,
    ) as websocket:
        first = receive(websocket)
        assert first["type"] == "snapshot", first
        assert first["arena"]["id"] == arena_id
        yield websocket


def receive(websocket: ClientConnection) -> dict[str, Any]:
    return json.loads(websocket.recv(timeout=TIMEOUT_SECONDS))


def receive_events(websocket: ClientConnection, count: int) -> list[dict[str, Any]]:
    """The next `count` events of the feed, in the order they came."""
    messages = [receive(websocket) for _ in range(count)]
    assert all(m["type"] == "event" for m in messages), messages
    return [m["event"] for m in messages]
