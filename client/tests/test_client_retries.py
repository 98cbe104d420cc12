"""Retries: a POST whose answer is lost is sent again with the same Idempotency-Key and
applied once; 502/503/504 and connection failures are retried with backoff; 429 waits its
Retry-After; PATCH and DELETE are repeated only when they surely never reached the server."""

from __future__ import annotations

import time

import httpx
import pytest
from arena_helpers import AsyncForwarding, Forwarding, drop_first_response

from aleph_client import (
    ArenaClient,
    AsyncArenaClient,
    Retry,
    ServerError,
    Throttled,
    Unreachable,
)
from tests.support.liveserver import LiveServer, free_port

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(120)]

QUICK = Retry(backoff=0.01, max_backoff=0.05)


def dropping_every_first_post(request: httpx.Request, response: httpx.Response) -> httpx.Response:
    """Loses the answer to the first attempt of every POST (the server has applied it)."""
    key = request.headers.get("Idempotency-Key")
    if request.method == "POST" and key not in dropping_every_first_post.seen:
        dropping_every_first_post.seen.add(key)
        raise httpx.ReadError("connection reset on the way back", request=request)
    return response


def attempts_by_key(requests: list[httpx.Request]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for request in requests:
        if request.method == "POST":
            key = request.headers["Idempotency-Key"]
            counts[key] = counts.get(key, 0) + 1
    return counts


def test_posts_whose_answers_are_lost_are_applied_once(live_server, tokens):
    dropping_every_first_post.seen = set()
    transport = Forwarding(dropping_every_first_post)
    with ArenaClient(live_server.url, tokens("lead")["lead"], transport=transport) as client:
        arena = client.create_arena(goal="Once", total_steps=2)
        client.transition(arena["id"], "activate")
        message = client.post_message(arena["id"], "said once")
        step = client.complete_step(arena["id"], 1)

        assert [a["id"] for a in client.all(client.list_arenas())] == [arena["id"]]
        events = client.list_events(arena["id"])["events"]
    types = [e["type"] for e in events]
    assert types.count("message_posted") == 1 and types.count("step_completed") == 1
    assert types.count("status_changed") == 1
    assert message["seq"] == next(e["seq"] for e in events if e["type"] == "message_posted")
    assert step["aggregate"]["completed_steps"] == 1
    # Each call sent twice, both times with its own one key.
    assert list(attempts_by_key(transport.requests).values()) == [2, 2, 2, 2]


async def test_the_async_client_applies_a_post_with_a_lost_answer_once(live_server, tokens):
    transport = AsyncForwarding(drop_first_response("POST", "/messages/"))
    token = tokens("lead")["lead"]
    async with AsyncArenaClient(live_server.url, token, transport=transport) as client:
        arena = await client.create_arena(goal="Once", total_steps=1)
        event = await client.post_message(arena["id"], "said once")
        events = (await client.list_events(arena["id"]))["events"]
    assert [e["seq"] for e in events if e["type"] == "message_posted"] == [event["seq"]]
    posts = [r for r in transport.requests if r.url.path.endswith("/messages/")]
    assert len(posts) == 2
    assert posts[0].headers["Idempotency-Key"] == posts[1].headers["Idempotency-Key"]


def test_gateway_errors_are_retried_with_backoff_and_the_post_applied_once(live_server, tokens):
    statuses = iter([502, 503, 504])

    def gateway_trouble(request: httpx.Request, response: httpx.Response) -> httpx.Response:
        status = next(statuses, None)
        return response if status is None else httpx.Response(status, text="upstream trouble")

    transport = Forwarding(gateway_trouble)
    token = tokens("lead")["lead"]
    with ArenaClient(live_server.url, token, transport=transport, retry=QUICK) as client:
        arena = client.create_arena(goal="Through a proxy", total_steps=1)
        assert [a["id"] for a in client.all(client.list_arenas())] == [arena["id"]]
    assert len(transport.requests) == 5  # four tries of the POST, then the list


def test_patch_and_delete_are_not_repeated_when_they_may_have_been_applied(live_server, tokens):
    keys = tokens("lead", "ana")
    transport = Forwarding(drop_first_response("PATCH", "/"))
    with ArenaClient(live_server.url, keys["lead"], transport=transport, retry=QUICK) as client:
        arena = client.create_arena(
            goal="Old", total_steps=1, participants=[{"agent_id": "ana", "role": "worker"}]
        )
        with pytest.raises(Unreachable) as lost:
            client.update_goal(arena["id"], "New")
        assert isinstance(lost.value.__cause__, httpx.ReadError)
        assert client.get_arena(arena["id"])["goal"] == "New"  # applied, once
        transport.on_response = drop_first_response("DELETE", "/ana/")
        with pytest.raises(Unreachable):
            client.remove_participant(arena["id"], "ana")
        statuses = [504]
        transport.on_response = lambda request, response: (
            httpx.Response(statuses.pop()) if statuses else response
        )
        with pytest.raises(ServerError):
            client.update_goal(arena["id"], "Newer")
    assert sum(r.method == "PATCH" for r in transport.requests) == 2
    assert sum(r.method == "DELETE" for r in transport.requests) == 1


def test_requests_that_never_left_are_sent_again_whatever_their_method(live_server, tokens):
    class RefusingEachFirstWrite(Forwarding):
        writes = 0

        def handle_request(self, request: httpx.Request) -> httpx.Response:
            if request.method in ("PATCH", "DELETE"):
                self.writes += 1
                if self.writes % 2:
                    raise httpx.ConnectError("connection refused", request=request)
            return super().handle_request(request)

    keys = tokens("lead", "ana")
    transport = RefusingEachFirstWrite()
    with ArenaClient(live_server.url, keys["lead"], transport=transport, retry=QUICK) as client:
        arena = client.create_arena(
            goal="Old", total_steps=1, participants=[{"agent_id": "ana", "role": "worker"}]
        )
        assert client.update_goal(arena["id"], "New")["goal"] == "New"
        client.remove_participant(arena["id"], "ana")
        assert client.get_arena(arena["id"])["aggregate"]["participants"] == ["lead"]


def test_a_server_that_never_answers_raises_unreachable_after_the_attempts():
    transport = Forwarding()
    url = f"http://127.0.0.1:{free_port()}"
    retry = Retry(attempts=3, backoff=0.01, max_backoff=0.02)
    client = ArenaClient(url, "aa_token", transport=transport, retry=retry)
    with client, pytest.raises(Unreachable) as failure:
        client.whoami()
    assert failure.value.code == "unreachable" and failure.value.status is None
    assert isinstance(failure.value.__cause__, httpx.ConnectError)
    assert len(transport.requests) == 3


def test_throttled_requests_wait_their_retry_after(live_db, tokens, tmp_path):
    server = LiveServer(
        live_db,
        extra_env={"ALEPH_AGENT_THROTTLE_RATE": "3/second"},
        log_path=tmp_path / "throttled.log",
    ).start()
    answers: list[tuple[float, int, str | None]] = []

    def timed(request: httpx.Request, response: httpx.Response) -> httpx.Response:
        answers.append(
            (time.monotonic(), response.status_code, response.headers.get("Retry-After"))
        )
        return response

    try:
        token = tokens("lead")["lead"]
        with ArenaClient(server.url, token, transport=Forwarding(timed)) as client:
            for _ in range(7):
                assert client.whoami()["agent_id"] == "lead"
        impatient = Retry(max_retry_after=0.5)
        client = ArenaClient(server.url, token, retry=impatient)
        with client, pytest.raises(Throttled) as refused:
            for _ in range(5):
                client.whoami()
    finally:
        server.stop()

    throttled = [(i, float(after)) for i, (_, status, after) in enumerate(answers) if status == 429]
    assert throttled, answers
    for index, after in throttled:
        assert answers[index + 1][0] - answers[index][0] >= after
    assert sum(status == 200 for _, status, _ in answers) == 7
    assert refused.value.status == 429 and refused.value.retry_after >= 1


def test_a_503_unavailable_waits_its_retry_after_whatever_the_method():
    """The server's own 503 (`unavailable`: its database failed for a moment) applied
    nothing, so every method is sent again after Retry-After; another 503 (a proxy's) is
    retried only where repeating is safe. The end-to-end case, a connection terminated under a
    live server, is tests/production/test_idempotency_after_failures.py."""
    retry = Retry()
    unavailable = httpx.Response(
        503, json={"error": "unavailable", "detail": "Retry."}, headers={"Retry-After": "1"}
    )
    for method in ("GET", "POST", "PATCH", "DELETE"):
        assert 1.0 <= retry.after_response(method, unavailable, 0) <= 1.1
    upstream = httpx.Response(503, text="upstream trouble")
    assert retry.after_response("POST", upstream, 0) is not None
    assert retry.after_response("PATCH", upstream, 0) is None
