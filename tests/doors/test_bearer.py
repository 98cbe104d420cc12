"""One reading of `Authorization: Bearer <token>` at every door: the REST API, the websocket
handshake and MCP accept and refuse the same headers (`arenas/doors/access.py`)."""

from __future__ import annotations

import json

import httpx2
import pytest
from asgiref.sync import sync_to_async
from channels.layers import channel_layers
from django.core.cache import cache
from django.test import Client

from arenas.doors.access import bearer_token
from tests.live.helpers import connect
from tests.mcp.conftest import ENDPOINT, asgi

pytestmark = pytest.mark.django_db(transaction=True)

# Each header, given the agent's token: accepted (True) or refused (False) by every door.
HEADERS = {
    "Bearer {token}": True,
    "bearer {token}": True,
    "BEARER {token}": True,
    "Bearer {token}   ": True,
    "Bearer   {token}": True,
    " Bearer {token}": False,
    "  Bearer {token}  ": False,
    "\tBearer {token}": False,
    "Bearer\t{token}": False,
    "Token {token}": False,
    "Basic {token}": False,
    "{token}": False,
    "Bearer ": False,
    "Bearer    ": False,
    "Bearer": False,
    "": False,
}


@pytest.fixture(autouse=True)
def fresh_process_state(settings):
    settings.ALEPH_LIVE_POLL_SECONDS = 0.2
    cache.clear()
    channel_layers.backends.clear()
    yield
    channel_layers.backends.clear()
    cache.clear()


@pytest.fixture
def arena_and_token(make_arena, make_agent) -> tuple[str, str]:
    arena_id = make_arena("alice", status="active")
    return str(arena_id), make_agent("alice")[1]


def rest_accepts(header: str) -> bool:
    response = Client().get("/api/me/", HTTP_AUTHORIZATION=header)
    assert response.status_code in (200, 401), response.content
    if response.status_code == 401:
        assert response.json()["error"] == "not_authenticated"
        assert response["WWW-Authenticate"] == 'Bearer realm="api"'
    return response.status_code == 200


async def websocket_accepts(arena_id: str, header: str) -> bool:
    client = await connect(f"/ws/arenas/{arena_id}/", [(b"authorization", header.encode())])
    output = await client.receive_output(timeout=30)
    if output["type"] == "websocket.close":
        assert output["code"] == 4401, output
        await client.disconnect(code=output["code"])
        return False
    assert json.loads(output["text"])["type"] == "snapshot"
    await client.disconnect()
    return True


async def mcp_accepts(header: str) -> bool:
    call = {"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": "whoami"}}
    headers = {
        "Content-Type": "application/json",
        "Accept": "application/json, text/event-stream",
        "MCP-Protocol-Version": "2025-11-25",
        "Authorization": header,
    }
    async with httpx2.AsyncClient(transport=asgi()) as http:
        response = await http.post(ENDPOINT, content=json.dumps(call).encode(), headers=headers)
    assert response.status_code in (200, 401), response.text
    if response.status_code == 401:
        assert response.json()["error"] == "not_authenticated"
        assert response.headers["www-authenticate"] == 'Bearer realm="api"'
    return response.status_code == 200


@pytest.mark.parametrize(("template", "accepted"), HEADERS.items())
async def test_every_door_reads_the_bearer_header_alike(arena_and_token, template, accepted):
    arena_id, token = arena_and_token
    header = template.format(token=token)
    doors = {
        "rest": await sync_to_async(rest_accepts)(header),
        "websocket": await websocket_accepts(arena_id, header),
        "mcp": await mcp_accepts(header),
    }
    assert doors == dict.fromkeys(doors, accepted)


@pytest.mark.parametrize(
    ("header", "token"),
    [
        (None, None),
        ("", None),
        ("Bearer aa_x", "aa_x"),
        ("bEaReR aa_x", "aa_x"),
        ("Bearer  aa_x  ", "aa_x"),
        (" Bearer aa_x", None),
        ("Bearer\taa_x", None),
        ("Token aa_x", None),
        ("Bearer", ""),
        ("Bearer ", ""),
        ("Bearer   ", ""),
    ],
)
def test_bearer_token_reading(header, token):
    assert bearer_token(header) == token
