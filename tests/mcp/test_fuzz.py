"""No argument of any tool produces an unhandled exception: arguments of every JSON type,
huge numbers, deep nesting, NUL characters, lone surrogates and hostile strings get a result
or a tool error with one of the documented error codes, and the arenas stay consistent.

The cases are random but seeded, so a failure can be replayed. Lone surrogates and NUL are
also sent as raw JSON escapes, which the SDK's client would refuse to encode."""

from __future__ import annotations

import json
import logging
import random
from collections import Counter
from typing import Any

import httpx2
import pytest
from asgiref.sync import sync_to_async
from django.core.management import call_command

from arenas.mcp.tools import TOOLS
from tests.mcp.conftest import ENDPOINT, asgi

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

CALLS_PER_TOOL = 60
CODES = {
    "invalid",
    "not_found",
    "permission_denied",
    "arena_not_active",
    "arena_archived",
    "invalid_transition",
    "step_already_completed",
    "step_blocked",
    "already_participant",
    "step_claimed",
    "claim_lost",
    "review_pending",
    "request_closed",
}
STRINGS = [
    "",
    " ",
    "a",
    "bob",
    "alice",
    "x" * 5000,
    "\x00",
    "nul\x00inside",
    "🦄" * 300,
    "\u202e\u0301",
    "'; DROP TABLE arenas_arena; --",
    "../../etc/passwd",
    "%s%s%n",
    "${jndi:ldap://x}",
    "<script>alert(1)</script>",
    "activate",
    "structured_data",
    "step_completed",
    "worker",
    "00000000-0000-0000-0000-000000000000",
]
NUMBERS = [0, 1, 2, -1, 3, 2**31, 2**32 - 1, 2**32, 2**63, 2**64 + 1, 10**40, 0.5, -0.0, 1e308, 1.5]


def value(rng: random.Random, depth: int = 0) -> Any:
    pick = rng.randrange(9 if depth < 4 else 5)
    if pick == 0:
        return None
    if pick == 1:
        return rng.choice([True, False])
    if pick == 2:
        return rng.choice(NUMBERS)
    if pick in (3, 4):
        return rng.choice(STRINGS)
    if pick == 5:
        return [value(rng, depth + 1) for _ in range(rng.randrange(4))]
    if pick == 6:
        return {rng.choice(STRINGS): value(rng, depth + 1) for _ in range(rng.randrange(4))}
    if pick == 7:
        nested: Any = "deep"
        for _ in range(rng.choice([10, 70, 300])):
            nested = [nested]
        return nested
    return rng.choice([["bob"], ["step_completed"], [{"agent_id": "bob", "role": "worker"}]])


def arguments(rng: random.Random, name: str, arena_ids: list[str]) -> dict[str, Any]:
    properties = list(TOOLS[name].input_schema["properties"])
    chosen = {prop: value(rng) for prop in properties if rng.random() < 0.7}
    if "arena_id" in properties and rng.random() < 0.8:
        chosen["arena_id"] = rng.choice(arena_ids)
    if rng.random() < 0.1:
        chosen[rng.choice(STRINGS) or "extra"] = value(rng)
    if "timeout_seconds" in chosen:
        chosen["timeout_seconds"] = rng.choice([0, 0.05, "soon", None, -1, 61])
    return chosen


async def rpc(http: httpx2.AsyncClient, token: str, body: bytes) -> httpx2.Response:
    return await http.post(
        ENDPOINT,
        content=body,
        headers={
            "Authorization": f"Bearer {token}",
            "Content-Type": "application/json",
            "Accept": "application/json, text/event-stream",
            "MCP-Protocol-Version": "2025-11-25",
        },
    )


def call_body(name: str, given: dict[str, Any]) -> bytes:
    message = {"jsonrpc": "2.0", "id": 1, "method": "tools/call"}
    message["params"] = {"name": name, "arguments": given}
    return json.dumps(message).encode()


def assert_answered(response: httpx2.Response, case: Any) -> str:
    """A tool result (a success, or an error with an error code) or a JSON-RPC error, never a
    server error; what it was: "ok", the error code, or "rpc"."""
    assert response.status_code < 500, (case, response.status_code, response.text[:300])
    message = response.json()
    if "error" in message:
        assert message["error"]["code"] in (-32700, -32600, -32602), (case, message)
        return "rpc"
    result = message["result"]
    if not result.get("isError"):
        return "ok"
    code = result["structuredContent"]["error"]
    assert code in CODES, (case, result)
    assert result["content"][0]["text"].startswith(f"{code}: "), (case, result)
    return code


async def test_random_arguments_of_every_tool_are_answered(make_arena, make_agent, caplog):
    arena_ids = [
        str(await sync_to_async(make_arena)("alice", status=status, participants=members))
        for status, members in (
            ("active", [{"agent_id": "bob", "role": "worker"}]),
            ("created", []),
            ("settling", [{"agent_id": "bob", "role": "observer"}]),
            ("archived", []),
        )
    ]
    tokens = {name: (await sync_to_async(make_agent)(name))[1] for name in ("alice", "bob")}
    rng = random.Random(20261124)
    caplog.set_level(logging.ERROR)
    outcomes: Counter[str] = Counter()
    async with httpx2.AsyncClient(transport=asgi(), timeout=60) as http:
        for name in TOOLS:
            for _ in range(CALLS_PER_TOOL):
                given = arguments(rng, name, arena_ids)
                token = tokens[rng.choice(["alice", "bob"])]
                response = await rpc(http, token, call_body(name, given))
                outcomes[assert_answered(response, (name, given))] += 1
        raw = [
            '{"goal": "\\ud800"}',
            '{"goal": "a\\u0000b"}',
            '{"goal": "\\udfff\\ud800x"}',
            '{"goal": "ok", "participants": [{"agent_id": "\\ud83d", "role": "worker"}]}',
            '{"goal": 1e400}',
        ]
        for arguments_json in raw:
            body = (
                '{"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": '
                f'{{"name": "create_arena", "arguments": {arguments_json}}}}}'
            ).encode()
            assert_answered(await rpc(http, tokens["alice"], body), arguments_json)
        for bad in (
            b'{"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": 5}',
            b'{"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": 5}}',
            b'{"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": '
            b'{"name": "whoami", "arguments": [1]}}',
        ):
            assert_answered(await rpc(http, tokens["alice"], bad), bad)
    assert not [r for r in caplog.records if r.name.startswith("arenas")], caplog.text
    assert outcomes["ok"] > 20 and {"invalid", "not_found"} <= set(outcomes), outcomes
    await sync_to_async(call_command)("verify_arenas")
