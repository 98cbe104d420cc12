"""Fixtures of the MCP tests.

`mcp_as` connects the SDK's client over Streamable HTTP to the MCP application of this
process (through httpx's ASGI transport: the same HTTP checks, the same SDK server, the test
database), for the many small tests. Tests of behaviour across processes and servers use the
live servers of `tests/support/liveserver.py` (`live_db`, `live_server`) and `live_agents`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import httpx2
import pytest
from asgiref.sync import sync_to_async
from channels.layers import channel_layers
from django.core.cache import cache
from mcp import Client

from arenas.mcp.app import application
from tests.mcp.helpers import connect

ENDPOINT = "http://testserver/mcp/"


@pytest.fixture(autouse=True)
def fresh_process_state(settings):
    """Throttle counts start at none and channel layers are built anew on this test's event
    loop; the catch-up poll is short, as in the live-feed tests."""
    settings.ALEPH_LIVE_POLL_SECONDS = 0.2
    cache.clear()
    channel_layers.backends.clear()
    yield
    channel_layers.backends.clear()
    cache.clear()


@pytest.fixture
def mcp_as(transactional_db, make_agent) -> Callable[..., Any]:
    """mcp_as("alice", mode="auto") -> an async context manager: an MCP client session of
    that agent (created if need be) with the MCP application in this process. The database
    is transactional: the tools run their database work in worker threads."""

    @asynccontextmanager
    async def open_session(
        agent_id: str, *, mode: str = "auto", headers: dict | None = None
    ) -> AsyncIterator[Client]:
        _, token = await sync_to_async(make_agent)(agent_id)
        async with connect(ENDPOINT, token, mode=mode, headers=headers, transport=asgi()) as c:
            yield c

    return open_session


def asgi() -> httpx2.ASGITransport:
    return httpx2.ASGITransport(app=application)
