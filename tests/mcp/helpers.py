"""The SDK's own MCP client over Streamable HTTP, as an MCP host runs it, and small helpers
to read its results."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx2
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

# Long enough for a wait_for_events of 60 s.
TIMEOUT = 90.0
# The protocol eras: "auto" negotiates 2026-07-28 (per-request envelope); "legacy" is the
# initialize handshake of the earlier versions that most MCP hosts speak.
MODES = ("auto", "legacy")


@asynccontextmanager
async def connect(
    url: str,
    token: str | None,
    *,
    mode: str = "auto",
    headers: dict[str, str] | None = None,
    transport: Any = None,
) -> AsyncIterator[Client]:
    """An MCP client session with `url` (the `/mcp/` endpoint) as the agent of `token`."""
    sent = dict(headers or {})
    if token is not None:
        sent["Authorization"] = f"Bearer {token}"
    http = httpx2.AsyncClient(headers=sent, timeout=TIMEOUT, transport=transport)
    async with http, Client(streamable_http_client(url, http_client=http), mode=mode) as client:
        yield client


async def ok(client: Client, tool: str, **arguments: Any) -> Any:
    """Call a tool that must succeed; its structured content."""
    result = await client.call_tool(tool, arguments)
    assert not result.is_error, (tool, arguments, result.content)
    assert result.structured_content == json.loads(result.content[1].text)
    return result.structured_content


async def refused(client: Client, tool: str, **arguments: Any) -> dict[str, Any]:
    """Call a tool that must be refused; its structured error (the REST API's error JSON),
    checked against its text `<code>: <detail>`."""
    result = await client.call_tool(tool, arguments)
    assert result.is_error, (tool, arguments, result.structured_content)
    error = result.structured_content
    text = result.content[0].text
    assert text.startswith(f"{error['error']}: {error['detail']}"), text
    return error


def waits_asleep(arena_id: Any) -> list[Any]:
    """The `wait_for_events` calls of this process that follow the arena and sleep until a
    doorbell (or the hub's poll) wakes them: they have joined the arena's group and read the
    log, so a commit from now on can only reach them by waking them. (Each waits on its
    `asyncio.Event`: a waiter not woken yet is the observable sign.)"""
    from arenas.stream.hub import hub
    from arenas.stream.waits import _Wait

    followers = hub().feeds.get(str(arena_id), ())
    return [
        f
        for f in followers
        if isinstance(f, _Wait) and any(not woken.done() for woken in f._bell._waiters)
    ]
