"""A database failing for a moment (a connection lost, no pooled connection in time, a
serialization failure or deadlock) is 503 `unavailable` with `Retry-After` on every door
(REST, the dashboard, MCP), applies nothing, and is logged in one line, not a traceback per
request. The live version, a terminated connection on PostgreSQL, is in
tests/production/test_idempotency_after_failures.py."""

from __future__ import annotations

import json
import logging

import httpx2
import psycopg.errors
import pytest
from django.db import InterfaceError, OperationalError
from django.test import Client
from psycopg_pool import PoolTimeout

from arenas import sql
from arenas.models import Event, IdempotencyRecord
from tests.api.helpers import assert_error, url
from tests.mcp.conftest import ENDPOINT, asgi

FAILURES = {
    "connection_lost": lambda: OperationalError("server closed the connection unexpectedly"),
    "connection_closed": lambda: InterfaceError("connection already closed"),
    "pool_timeout": lambda: _wrapped(PoolTimeout("couldn't get a connection after 30.00 sec")),
    "serialization": lambda: _wrapped(psycopg.errors.SerializationFailure("could not serialize")),
    "deadlock": lambda: _wrapped(psycopg.errors.DeadlockDetected("deadlock detected")),
}


def _wrapped(error: Exception) -> OperationalError:
    """What Django raises for a psycopg error (its DatabaseErrorWrapper)."""
    wrapped = OperationalError(str(error))
    wrapped.__cause__ = error
    return wrapped


@pytest.fixture
def failing_lock(monkeypatch):
    """fail(kind): the next arena lock (every write takes one) raises that failure."""

    def fail(kind: str) -> None:
        def lock_arena(arena_id):
            raise FAILURES[kind]()

        monkeypatch.setattr(sql, "lock_arena", lock_arena)

    return fail


def assert_unavailable(response) -> None:
    body = assert_error(response, 503, "unavailable")
    assert "nothing was applied" in body["detail"]
    assert response["Retry-After"] == "1"


@pytest.mark.django_db
@pytest.mark.parametrize("kind", FAILURES)
def test_a_transient_database_failure_is_503_with_retry_after(
    make_arena, client_for, failing_lock, kind
):
    arena_id = make_arena(status="active", total_steps=3)
    alice = client_for("alice")
    before = Event.objects.count()
    failing_lock(kind)
    response = alice.post(
        url(arena_id, "steps"), {"step": 1}, format="json", HTTP_IDEMPOTENCY_KEY="k"
    )
    assert_unavailable(response)
    assert Event.objects.count() == before
    assert not IdempotencyRecord.objects.exists()  # the retry is applied, not replayed


@pytest.mark.django_db
def test_the_retry_with_the_same_key_is_applied_once(make_arena, client_for, monkeypatch):
    arena_id = make_arena(status="active", total_steps=3)
    alice = client_for("alice")
    real = sql.lock_arena
    failures = [FAILURES["connection_lost"]()]

    def lock_arena(arena_id):
        if failures:
            raise failures.pop()
        return real(arena_id)

    monkeypatch.setattr(sql, "lock_arena", lock_arena)
    send = lambda: alice.post(  # noqa: E731
        url(arena_id, "steps"), {"step": 1}, format="json", HTTP_IDEMPOTENCY_KEY="k"
    )
    assert_unavailable(send())
    assert send().status_code == 201
    assert send()["Idempotent-Replayed"] == "true"
    assert Event.objects.filter(arena_id=arena_id, type="step_completed").count() == 1


@pytest.mark.django_db
def test_a_read_that_fails_is_503_too(make_arena, client_for, monkeypatch):
    arena_id = make_arena(status="active")

    def failing(*args, **kwargs):
        raise FAILURES["pool_timeout"]()

    alice = client_for("alice")
    monkeypatch.setattr(sql, "is_participant", failing)
    monkeypatch.setattr(sql, "participation", failing)
    assert_unavailable(alice.get(url(arena_id, "events")))


@pytest.mark.django_db
def test_a_dashboard_form_is_503_with_retry_after(make_arena, django_user_model, failing_lock):
    arena_id = make_arena(status="active")
    django_user_model.objects.create_user("root", password="pw-root-123", is_staff=True)
    browser = Client()
    browser.login(username="root", password="pw-root-123")
    failing_lock("connection_lost")
    response = browser.post(f"/arenas/{arena_id}/messages/", {"text": "hello"})
    assert response.status_code == 503
    assert response["Retry-After"] == "1"
    assert response["Content-Type"].startswith("text/html")
    assert b"nothing was changed" in response.content
    assert not Event.objects.filter(type="message_posted").exists()


@pytest.mark.django_db(transaction=True)
async def test_an_mcp_tool_call_answers_unavailable(make_arena, make_agent, failing_lock):
    from asgiref.sync import sync_to_async

    arena_id = await sync_to_async(make_arena)(status="active")
    _, token = await sync_to_async(make_agent)("alice")
    failing_lock("deadlock")
    call = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "tools/call",
        "params": {"name": "post_message", "arguments": {"arena_id": str(arena_id), "text": "hi"}},
    }
    headers = {
        "Authorization": f"Bearer {token}",
        "Content-Type": "application/json",
        "Accept": "application/json, text/event-stream",
        "MCP-Protocol-Version": "2025-11-25",
    }
    async with httpx2.AsyncClient(transport=asgi()) as http:
        response = await http.post(ENDPOINT, content=json.dumps(call), headers=headers)
    result = response.json()["result"]
    assert result["isError"] and result["content"][0]["text"].startswith("unavailable: ")


@pytest.mark.django_db(transaction=True)
async def test_mcp_refuses_with_503_when_the_token_cannot_be_checked(monkeypatch):
    from arenas import agents

    def failing(token):
        raise FAILURES["connection_lost"]()

    monkeypatch.setattr(agents, "authenticate", failing)
    async with httpx2.AsyncClient(transport=asgi()) as http:
        response = await http.post(
            ENDPOINT,
            content=b"{}",
            headers={"Authorization": "Bearer whatever", "Content-Type": "application/json"},
        )
    assert response.status_code == 503
    assert response.headers["content-type"] == "application/json"
    assert response.headers["retry-after"] == "1"
    assert response.json()["error"] == "unavailable"


@pytest.mark.django_db
def test_a_database_outage_is_logged_once_a_minute_without_a_traceback(
    make_arena, client_for, failing_lock, caplog
):
    arena_id = make_arena(status="active", total_steps=3)
    alice = client_for("alice")
    failing_lock("connection_lost")
    with caplog.at_level(logging.WARNING):
        for _ in range(5):
            assert_unavailable(alice.post(url(arena_id, "steps"), {"step": 1}, format="json"))
    ours = [r for r in caplog.records if r.name == "arenas.errors"]
    assert len(ours) <= 1
    assert not [r for r in caplog.records if r.exc_info]
