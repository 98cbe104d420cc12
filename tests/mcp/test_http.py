"""The HTTP doors of `/mcp/` before the protocol: authentication (401 with the REST API's
challenge), Origin (403), Host (400), method (405), path (404), body size (413) and the
per-agent rate shared with the REST API (429 with Retry-After); every refusal is the
error JSON."""

from __future__ import annotations

import asyncio
import json

import httpx2
import pytest
from asgiref.sync import sync_to_async
from django.test import override_settings

from arenas.agents import revoke_token
from arenas.mcp.app import session_manager
from arenas.models import AgentToken
from tests.api.helpers import bearer
from tests.mcp.conftest import ENDPOINT, asgi

pytestmark = pytest.mark.django_db(transaction=True)

CALL = {"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": "whoami"}}
HEADERS = {
    "Content-Type": "application/json",
    "Accept": "application/json, text/event-stream",
    "MCP-Protocol-Version": "2025-11-25",
}


async def post(token: str | None = None, *, url: str = ENDPOINT, body: object = CALL, **headers):
    sent = {**HEADERS, **headers}
    if token is not None:
        sent["Authorization"] = f"Bearer {token}"
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    async with httpx2.AsyncClient(transport=asgi()) as http:
        return await http.post(url, content=content, headers=sent)


def assert_refusal(response: httpx2.Response, status: int, code: str) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert body["error"] == code and body["detail"], body
    return body


@pytest.fixture
def token(make_agent) -> str:
    return make_agent("alice")[1]


async def test_a_tool_call_is_one_post_answered_with_json(token):
    response = await post(token)
    assert response.status_code == 200
    result = response.json()["result"]
    assert result["structuredContent"]["agent_id"] == "alice" and not result["isError"]


@pytest.mark.parametrize(
    "authorization",
    [None, "", "Bearer", "Bearer ", "Basic YWxpY2U6cHc=", "Bearer aa_not-a-token", "Bearer \x7f"],
)
async def test_without_a_valid_bearer_token_it_is_401_with_the_rest_apis_challenge(
    token, authorization
):
    headers = {} if authorization is None else {"Authorization": authorization}
    response = await post(**headers)
    assert_refusal(response, 401, "not_authenticated")
    assert response.headers["www-authenticate"] == 'Bearer realm="api"'


async def test_a_revoked_token_is_401(token):
    await sync_to_async(lambda: revoke_token(AgentToken.objects.get(agent_id="alice")))()
    assert_refusal(await post(token), 401, "not_authenticated")


@pytest.mark.parametrize(
    "origin",
    ["http://evil.example", "null", "https://testserver.evil.example", "file://", "http://[::1"],
)
async def test_a_foreign_origin_is_refused_with_403(token, origin):
    assert_refusal(await post(token, Origin=origin), 403, "permission_denied")
    assert_refusal(await post(None, Origin=origin), 403, "permission_denied")


async def test_an_allowed_origin_and_no_origin_are_served(token):
    assert (await post(token, Origin="http://testserver")).status_code == 200
    assert (await post(token)).status_code == 200


async def test_a_host_that_is_not_allowed_is_400(token):
    assert_refusal(await post(token, Host="evil.example"), 400, "invalid")


async def test_only_post_is_served_at_the_endpoint_only(token):
    async with httpx2.AsyncClient(transport=asgi()) as http:
        for method in ("GET", "DELETE", "PUT"):
            response = await http.request(
                method, ENDPOINT, headers={"Authorization": f"Bearer {token}", **HEADERS}
            )
            assert_refusal(response, 405, "method_not_allowed")
            assert response.headers["allow"] == "POST"
    assert (await post(token, url=ENDPOINT.rstrip("/"))).status_code == 200
    assert_refusal(await post(token, url=ENDPOINT + "tools"), 404, "not_found")


@override_settings(ALEPH_MAX_BODY_BYTES=4096)
async def test_a_body_over_the_limit_is_413(token):
    big = {**CALL, "params": {"name": "whoami", "arguments": {"x": "y" * 5000}}}
    assert_refusal(await post(token, body=big), 413, "payload_too_large")

    async def chunks():
        for _ in range(5):
            yield b" " * 1000

    async with httpx2.AsyncClient(transport=asgi()) as http:
        response = await http.post(
            ENDPOINT, content=chunks(), headers={"Authorization": f"Bearer {token}", **HEADERS}
        )
    assert_refusal(response, 413, "payload_too_large")
    assert (await post(token)).status_code == 200


async def test_a_body_that_is_not_declared_json_is_415_in_the_error_format(token):
    """Before the SDK saw them, these were a plain-text 400 with no Content-Type."""
    no_type = {k: v for k, v in HEADERS.items() if k != "Content-Type"}
    async with httpx2.AsyncClient(transport=asgi()) as http:
        for content_type in (None, "text/plain", "application/x-www-form-urlencoded"):
            headers = {**no_type, "Authorization": f"Bearer {token}"}
            if content_type is not None:
                headers["Content-Type"] = content_type
            response = await http.post(ENDPOINT, content=json.dumps(CALL), headers=headers)
            assert_refusal(response, 415, "unsupported_media_type")
    for content_type in ("APPLICATION/JSON", "application/json; charset=utf-8"):
        response = await post(token, **{"Content-Type": content_type})
        assert response.status_code == 200, (content_type, response.text)


async def test_malformed_bodies_are_answered_never_crash(token):
    for body in (
        b"",
        b"{",
        b"[]",
        b"null",
        b'{"jsonrpc": "2.0"}',
        "\ud800".encode("utf-8", "surrogatepass"),
        b"\xff\xfe",
    ):
        response = await post(token, body=body)
        assert 200 <= response.status_code < 500, (body, response.status_code, response.text)
    assert (await post(token)).status_code == 200


@override_settings(ALEPH_AGENT_THROTTLE_RATE="3/minute")
async def test_the_agents_rate_is_shared_with_the_rest_api_and_answered_429(token, make_agent):
    rest = await sync_to_async(lambda: bearer(token).get("/api/me/").status_code)()
    assert rest == 200
    assert (await post(token)).status_code == 200
    assert (await post(token)).status_code == 200
    response = await post(token)
    assert_refusal(response, 429, "throttled")
    assert 1 <= int(response.headers["retry-after"]) <= 60
    assert (await sync_to_async(lambda: bearer(token).get("/api/me/").status_code)()) == 429
    _, other = await sync_to_async(make_agent)("bob")
    assert (await post(other)).status_code == 200


async def test_concurrent_first_requests_start_one_session_manager(token):
    """Daphne sends no lifespan events: the SDK's session manager starts on the first
    request of the event loop, once, however many requests arrive together."""
    managers = await asyncio.gather(*(session_manager() for _ in range(20)))
    assert len({id(manager) for manager in managers}) == 1
    responses = await asyncio.gather(*(post(token) for _ in range(20)))
    assert {response.status_code for response in responses} == {200}
    assert await session_manager() is managers[0]
