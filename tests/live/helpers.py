"""Clients of the live feed for the tests: handshake headers, connecting through the real
ASGI application, and reading frames until a condition holds (never a fixed sleep)."""

from __future__ import annotations

from typing import Any

from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator

from aleph_site.asgi import application
from arenas.manager import ArenaManager

# Seconds to wait for one frame: generous, for a shared and noisy two-core machine.
WAIT = 30.0
ALLOWED_ORIGIN = b"http://localhost:8000"


def bearer(token: str) -> list[tuple[bytes, bytes]]:
    return [(b"authorization", f"Bearer {token}".encode())]


def browser(cookie: bytes, origin: bytes | None = ALLOWED_ORIGIN) -> list[tuple[bytes, bytes]]:
    headers = [(b"cookie", cookie)]
    if origin is not None:
        headers.append((b"origin", origin))
    return headers


async def connect(path: str, headers: list[tuple[bytes, bytes]]) -> WebsocketCommunicator:
    """A client whose handshake the server accepted (refusals close after accepting)."""
    client = WebsocketCommunicator(application, path, headers=headers)
    accepted, _ = await client.connect(timeout=WAIT)
    assert accepted
    return client


async def close_code(client: WebsocketCommunicator) -> int:
    """The code of the close frame that comes next (after no other frame)."""
    output = await client.receive_output(timeout=WAIT)
    assert output["type"] == "websocket.close", output
    await client.disconnect(code=output["code"], timeout=WAIT)
    return output["code"]


async def refused_with(path: str, headers: list[tuple[bytes, bytes]]) -> int:
    return await close_code(await connect(path, headers))


async def frame(client: WebsocketCommunicator) -> dict[str, Any]:
    return await client.receive_json_from(timeout=WAIT)


async def events_until(
    client: WebsocketCommunicator, last_seq: int, after: int = 0
) -> list[dict[str, Any]]:
    """Every event frame after seq `after` up to and including `last_seq` (fails on any
    other frame)."""
    received: list[dict[str, Any]] = []
    while (received[-1]["seq"] if received else after) < last_seq:
        message = await frame(client)
        assert message["type"] == "event", message
        received.append(message["event"])
    return received


def progress(arena_id: Any, agent_id: str, count: int) -> int:
    """Commit `count` progress_updated events as `agent_id`; the arena's last seq."""
    handle = ArenaManager().handle(arena_id, agent_id)
    for number in range(count):
        handle.report_progress(current=f"working on part {number}")
    return handle.arena().last_seq


async def aprogress(arena_id: Any, agent_id: str, count: int) -> int:
    return await database_sync_to_async(progress)(arena_id, agent_id, count)
