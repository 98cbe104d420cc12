"""Errors: every error code of the REST API that a client can meet raises its own ArenaError
subclass with `code`, `status`, `detail` and the code's extra fields (against a live
server); codes and bodies the client does not know map by status (against canned answers).
The codes of claims and requests are in test_claims_and_requests.py."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from arena_helpers import Forwarding, raised

import aleph_client
from aleph_client import ArenaClient, AsyncArenaClient, Retry, errors, etag


@pytest.mark.e2e
@pytest.mark.timeout(180)
def test_each_error_code_of_the_server_raises_its_class_with_its_fields(live_server, tokens):
    keys = tokens("lead", "ana", "obs")
    lead = ArenaClient(live_server.url, keys["lead"])
    ana = ArenaClient(live_server.url, keys["ana"])
    obs = ArenaClient(live_server.url, keys["obs"])
    arena = lead.create_arena(
        goal="Errors",
        strategy="pipeline",
        total_steps=3,
        participants=[
            {"agent_id": "ana", "role": "worker"},
            {"agent_id": "obs", "role": "observer"},
        ],
    )
    arena_id = arena["id"]
    stale = etag(arena)
    lead.update_goal(arena_id, "Errors, again")
    waiting = lead.create_arena(goal="Not active yet", total_steps=1)["id"]
    archived = lead.create_arena(goal="Archived", total_steps=1)["id"]
    for action in ("activate", "settle", "archive"):
        lead.transition(archived, action)
    lead.transition(arena_id, "activate")
    ana.complete_step(arena_id, 1)

    cases: list[tuple[type[errors.ArenaError], str, int, Callable[[], Any]]] = [
        (errors.Invalid, "invalid", 400, lambda: lead.create_arena(goal="")),
        (
            errors.NotAuthenticated,
            "not_authenticated",
            401,
            ArenaClient(live_server.url, "aa_x").whoami,
        ),
        (errors.PermissionDenied, "permission_denied", 403, lambda: obs.complete_step(arena_id, 2)),
        (errors.NotFound, "not_found", 404, lambda: ana.get_arena(str(uuid.uuid4()))),
        (
            errors.InvalidTransition,
            "invalid_transition",
            409,
            lambda: lead.transition(waiting, "settle"),
        ),
        (errors.ArenaNotActive, "arena_not_active", 409, lambda: lead.complete_step(waiting, 1)),
        (errors.ArenaArchived, "arena_archived", 409, lambda: lead.post_message(archived, "late")),
        (
            errors.StepAlreadyCompleted,
            "step_already_completed",
            409,
            lambda: ana.complete_step(arena_id, 1),
        ),
        (errors.StepBlocked, "step_blocked", 409, lambda: lead.complete_step(arena_id, 3)),
        (
            errors.AlreadyParticipant,
            "already_participant",
            409,
            lambda: lead.add_participant(arena_id, "ana", "worker"),
        ),
        (errors.LastCoordinator, "last_coordinator", 409, lambda: lead.leave(arena_id)),
        (
            errors.PreconditionFailed,
            "precondition_failed",
            412,
            lambda: lead.update_goal(arena_id, "x", if_match=stale),
        ),
        (
            errors.PayloadTooLarge,
            "payload_too_large",
            413,
            # Past the request body limit (ALEPH_MAX_BODY_BYTES, 8 MiB); a content over its
            # own limit (1 MiB) in a body under it is `invalid`.
            lambda: ana.publish_artifact(arena_id, "text", "Big", "x" * 9 * 2**20),
        ),
    ]
    for cls, code, status, call in cases:
        error = raised(call)
        assert type(error) is cls, (code, error)
        assert (error.code, error.status) == (code, status), error
        assert isinstance(error.detail, str) and error.detail, error
        assert error.body["error"] == code

    invalid = raised(lambda: lead.create_arena(goal=""))
    assert isinstance(invalid, errors.Invalid) and "goal" in invalid.fields
    content = raised(lambda: ana.publish_artifact(arena_id, "text", "Big", "x" * 2**21))
    assert isinstance(content, errors.Invalid) and "content" in content.fields
    transition = raised(lambda: lead.transition(waiting, "settle"))
    assert isinstance(transition, errors.InvalidTransition)
    assert (transition.current, transition.allowed) == ("created", ["active"])
    blocked = raised(lambda: lead.complete_step(arena_id, 3))
    assert isinstance(blocked, errors.StepBlocked) and blocked.waiting_for == [2]
    assert isinstance(raised(lambda: lead.post_message(archived, "late")), errors.ArenaNotActive)


@pytest.mark.e2e
@pytest.mark.timeout(120)
def test_a_body_that_is_not_json_and_a_reused_key_raise_their_classes(live_server, tokens):
    token = tokens("lead")["lead"]

    class PlainText(Forwarding):
        def handle_request(self, request: httpx.Request) -> httpx.Response:
            request.headers["Content-Type"] = "text/plain"
            return super().handle_request(request)

    class OneKey(Forwarding):
        def handle_request(self, request: httpx.Request) -> httpx.Response:
            request.headers["Idempotency-Key"] = "always-the-same"
            return super().handle_request(request)

    with ArenaClient(live_server.url, token, transport=PlainText()) as client:
        error = raised(lambda: client.create_arena(goal="Plain", total_steps=1))
    assert type(error) is errors.UnsupportedMediaType and error.status == 415

    with ArenaClient(live_server.url, token, transport=OneKey()) as client:
        client.create_arena(goal="First", total_steps=1)
        error = raised(lambda: client.create_arena(goal="Second", total_steps=1))
        assert type(error) is errors.IdempotencyKeyReused
        assert (error.code, error.status) == ("idempotency_key_reused", 422)
        assert [a["goal"] for a in client.all(client.list_arenas())] == ["First"]


def canned(status: int, body: Any = None, text: str = "", **headers: str) -> ArenaClient:
    """A client whose every request gets this one answer."""

    def answer(request: httpx.Request) -> httpx.Response:
        if body is not None:
            return httpx.Response(status, json=body, headers=headers)
        return httpx.Response(status, text=text, headers=headers)

    return ArenaClient(
        "http://arena.invalid",
        "aa_token",
        retry=Retry(attempts=1),
        transport=httpx.MockTransport(answer),
    )


@pytest.mark.parametrize(
    ("status", "code", "cls"),
    [
        (405, "method_not_allowed", errors.MethodNotAllowed),
        (409, "idempotency_in_progress", errors.IdempotencyInProgress),
        (500, "server_error", errors.ServerError),
        (409, "some_new_conflict", errors.Conflict),
        (404, "gone_elsewhere", errors.NotFound),
        (418, "teapot", errors.ArenaError),
        (507, "out_of_disk", errors.ServerError),
    ],
)
def test_codes_map_to_their_class_and_unknown_codes_to_the_class_of_their_status(status, code, cls):
    error = raised(canned(status, {"error": code, "detail": "Said the server.", "extra": 7}).whoami)
    assert type(error) is cls
    assert (error.code, error.status, error.detail) == (code, status, "Said the server.")
    assert error.body["extra"] == 7


def test_an_answer_without_an_error_body_keeps_its_status_and_text():
    error = raised(canned(502, text="<html>Bad gateway</html>").whoami)
    assert type(error) is errors.ServerError
    assert (error.code, error.status) == ("http_502", 502)
    assert "Bad gateway" in error.detail


def test_throttled_carries_retry_after_in_either_form():
    error = raised(
        canned(429, {"error": "throttled", "detail": "Slow down."}, **{"Retry-After": "7"}).whoami
    )
    assert type(error) is errors.Throttled and error.retry_after == 7.0
    date = "Wed, 21 Oct 2015 07:28:00 GMT"  # in the past: nothing to wait
    error = raised(
        canned(429, {"error": "throttled", "detail": "Slow."}, **{"Retry-After": date}).whoami
    )
    assert type(error) is errors.Throttled and error.retry_after == 0.0


def test_a_traceback_names_the_method_called_and_the_operations_it_went_through():
    """A note under the traceback (the message, type and fields are the server's)."""
    answer = {"error": "not_found", "detail": "Not found."}
    error = raised(lambda: canned(404, answer).get_arena("a1"))
    assert str(error) == "not_found: Not found."
    assert error.__notes__ == ["raised by ArenaClient.get_arena(): GET /api/arenas/{arena_id}/"]

    async def work() -> None:
        transport = httpx.MockTransport(lambda request: httpx.Response(404, json=answer))
        async with AsyncArenaClient("http://arena.invalid", "aa_token", transport=transport) as c:
            await c.work("a1", lambda step: None)

    with pytest.raises(errors.NotFound) as caught:
        asyncio.run(work())
    assert caught.value.__notes__ == [
        "raised by AsyncArenaClient.claim_next_step(): POST /api/arenas/{arena_id}/claims/next/",
        "raised by AsyncArenaClient.work()",
    ]


def test_every_error_class_is_exported_once_per_code():
    from aleph_client.errors import BY_CODE

    for code, cls in BY_CODE.items():
        assert getattr(aleph_client, cls.__name__) is cls, code
    assert issubclass(errors.ArenaArchived, errors.ArenaNotActive) and issubclass(
        errors.ArenaNotActive, errors.Conflict
    )


@pytest.mark.e2e
@pytest.mark.timeout(120)
def test_a_base_url_ending_in_api_is_named_in_the_error(live_server, tokens):
    key = tokens("lead")["lead"]
    with (
        ArenaClient(live_server.url + "/api/", key) as client,
        pytest.raises(aleph_client.NotFound) as refused,
    ):
        client.whoami()
    assert "base URL ends in /api" in str(refused.value)
    assert "http://127.0.0.1:8000" in refused.value.detail
    with ArenaClient(live_server.url, key) as client:
        assert client.whoami()["agent_id"] == "lead"
