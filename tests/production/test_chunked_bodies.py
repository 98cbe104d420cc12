"""Request bodies sent with `Transfer-Encoding: chunked` (no `Content-Length`; httpx sends a
generator body so) through a live Daphne process, on every door that reads a body: the REST
API, `/mcp/` and the dashboard's forms. Each is read whole, under the same size limit as a
body that declares its length."""

from __future__ import annotations

import json
from collections.abc import Iterator
from urllib.parse import urlencode

import httpx
import pytest

from tests.support.liveserver import LiveServer

from .client import ApiAgent

pytestmark = [pytest.mark.e2e]

LIMIT = 64 * 1024
MCP_HEADERS = {
    "Content-Type": "application/json",
    "Accept": "application/json, text/event-stream",
    "MCP-Protocol-Version": "2025-11-25",
}


def chunked(body: bytes, size: int = 7) -> Iterator[bytes]:
    """The body in small chunks: httpx sends an iterator with `Transfer-Encoding: chunked`."""
    for start in range(0, len(body), size):
        yield body[start : start + size]


@pytest.fixture
def server(live_db, tmp_path) -> Iterator[LiveServer]:
    with LiveServer(
        live_db,
        extra_env={"ALEPH_MAX_BODY_BYTES": str(LIMIT), "ALEPH_AGENT_THROTTLE_RATE": "off"},
        log_path=tmp_path / "daphne.log",
    ) as started:
        yield started


@pytest.fixture
def lead(server, live_db) -> Iterator[ApiAgent]:
    live_db.create_agent("worker")
    agent = ApiAgent(server, live_db.create_agent("lead"))
    yield agent
    agent.close()


def post_chunked(http: httpx.Client, path: str, body: bytes, **headers: str) -> httpx.Response:
    request = http.build_request("POST", path, content=chunked(body), headers=headers)
    assert request.headers["transfer-encoding"] == "chunked"
    assert "content-length" not in request.headers
    return http.send(request)


def test_a_chunked_rest_body_is_read(lead):
    arena_id = lead.create_active_arena(3, ["worker"])
    sent = json.dumps({"text": "sent in chunks"}).encode()
    posted = post_chunked(
        lead.http, f"/api/arenas/{arena_id}/messages/", sent, **{"Content-Type": "application/json"}
    )
    assert posted.status_code == 201, posted.text
    assert posted.json()["text"] == "sent in chunks"

    too_big = json.dumps({"text": "x" * LIMIT}).encode()
    refused = post_chunked(
        lead.http,
        f"/api/arenas/{arena_id}/messages/",
        too_big,
        **{"Content-Type": "application/json", "Idempotency-Key": "big"},
    )
    assert refused.status_code == 413, refused.text
    assert refused.json()["error"] == "payload_too_large"
    texts = [e["text"] for e in lead.events(arena_id) if e["type"] == "message_posted"]
    assert texts == ["sent in chunks"]


def test_a_chunked_mcp_body_is_read(lead):
    call = {"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": "whoami"}}
    answered = post_chunked(lead.http, "/mcp/", json.dumps(call).encode(), **MCP_HEADERS)
    assert answered.status_code == 200, answered.text
    assert answered.json()["result"]["structuredContent"]["agent_id"] == "lead"

    big = {**call, "params": {"name": "whoami", "arguments": {"x": "y" * LIMIT}}}
    refused = post_chunked(lead.http, "/mcp/", json.dumps(big).encode(), **MCP_HEADERS)
    assert refused.status_code == 413, refused.text
    assert refused.json()["error"] == "payload_too_large"


def test_a_chunked_dashboard_form_is_read(server, live_db, lead):
    arena_id = lead.create_active_arena(3, ["worker"])
    live_db.create_staff("operator", "a long enough password")
    browser = server.signed_in("operator", "a long enough password")
    try:
        form = urlencode({"text": "steer in chunks"}).encode()
        posted = post_chunked(
            browser,
            f"/arenas/{arena_id}/messages/",
            form,
            **{"Content-Type": "application/x-www-form-urlencoded"},
        )
        assert posted.status_code == 302, posted.text

        big = urlencode({"text": "x" * LIMIT}).encode()
        refused = post_chunked(
            browser,
            f"/arenas/{arena_id}/messages/",
            big,
            **{"Content-Type": "application/x-www-form-urlencoded"},
        )
        declared = browser.post(
            f"/arenas/{arena_id}/messages/",
            content=big,
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        # Django refuses an oversized form (RequestDataTooBig) as a bad request, either way.
        assert refused.status_code == declared.status_code == 400
    finally:
        browser.close()
    texts = [e["text"] for e in lead.events(arena_id) if e["type"] == "message_posted"]
    assert texts == ["steer in chunks"]
