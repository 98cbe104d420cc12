"""An Idempotency-Key whose first attempt died, under two server processes on PostgreSQL: the
attempt is held inside its transaction (the test holds the arena's row lock, so the request
waits there after taking its key), then its database connection is terminated, or its server
process is killed outright. The retry with the key, on the other process, is applied once and
promptly. (Before the key's marker lived in that transaction, it outlived the attempt: every
retry waited 10 s and answered 409 `idempotency_in_progress` for 24 hours.)"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from urllib.parse import urlparse

import httpx
import psycopg
import pytest

from .client import ApiAgent

pytestmark = [pytest.mark.e2e, pytest.mark.postgres]

PROMPTLY_SECONDS = 5.0
KEY = {"Idempotency-Key": "the-first-attempt-died"}


@contextmanager
def arena_locked(database_url: str, arena_id: str) -> Iterator[psycopg.Connection]:
    """The arena's row locked by the test until the block ends."""
    with psycopg.connect(database_url) as holder:
        holder.execute("SELECT id FROM arenas_arena WHERE id = %s FOR UPDATE", [arena_id])
        yield holder
        holder.rollback()


def waiting_backend(database_url: str, deadline: float) -> int:
    """The pid of the server's connection that waits for a lock in the test's database."""
    name = urlparse(database_url).path.lstrip("/")
    with psycopg.connect(database_url, autocommit=True) as watcher:
        while time.monotonic() < deadline:
            row = watcher.execute(
                "SELECT pid FROM pg_stat_activity WHERE datname = %s"
                " AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()",
                [name],
            ).fetchone()
            if row is not None:
                return row[0]
            time.sleep(0.05)
    raise AssertionError("no request waited for the arena's lock")


def attempt_in_background(agent: ApiAgent, arena_id: str) -> Callable[[], object]:
    """POST the message with the key in a thread; a function that returns its outcome."""
    outcome: list[object] = []

    def send() -> None:
        try:
            outcome.append(
                agent.http.post(
                    f"/api/arenas/{arena_id}/messages/", json={"text": "once"}, headers=KEY
                )
            )
        except httpx.HTTPError as error:
            outcome.append(error)

    thread = threading.Thread(target=send)
    thread.start()

    def result() -> object:
        thread.join(timeout=60)
        return outcome[0]

    return result


def assert_retry_applied_once(agent: ApiAgent, arena_id: str) -> None:
    started = time.monotonic()
    retried = agent.http.post(
        f"/api/arenas/{arena_id}/messages/", json={"text": "once"}, headers=KEY
    )
    assert retried.status_code == 201, retried.text
    assert time.monotonic() - started < PROMPTLY_SECONDS
    again = agent.http.post(f"/api/arenas/{arena_id}/messages/", json={"text": "once"}, headers=KEY)
    assert again.json() == retried.json() and again.headers["Idempotent-Replayed"] == "true"
    posted = [e for e in agent.events(arena_id) if e["type"] == "message_posted"]
    assert [e["text"] for e in posted] == ["once"]


def test_a_retry_after_the_first_attempt_lost_its_connection_is_applied_once(
    postgres, start_server, tokens, connect_agent, live_db
):
    first, second = start_server(), start_server()
    tokens["worker-a"]
    lead = connect_agent(first, tokens["lead"])
    arena_id = lead.create_active_arena(3, ["worker-a"])
    with arena_locked(live_db.url, arena_id):
        outcome = attempt_in_background(lead, arena_id)
        pid = waiting_backend(live_db.url, time.monotonic() + 30)
        with psycopg.connect(live_db.url, autocommit=True) as admin:
            admin.execute("SELECT pg_terminate_backend(%s)", [pid])
        died = outcome()
        assert isinstance(died, httpx.Response) and died.status_code == 503, died
        assert died.json()["error"] == "unavailable" and died.headers["Retry-After"] == "1"
    assert_retry_applied_once(connect_agent(second, tokens["lead"]), arena_id)


def test_a_retry_after_the_first_attempts_process_was_killed_is_applied_once(
    postgres, start_server, tokens, connect_agent, live_db
):
    doomed, survivor = start_server(), start_server()
    tokens["worker-a"]
    lead = connect_agent(doomed, tokens["lead"])
    arena_id = lead.create_active_arena(3, ["worker-a"])
    with arena_locked(live_db.url, arena_id):
        outcome = attempt_in_background(lead, arena_id)
        waiting_backend(live_db.url, time.monotonic() + 30)
        doomed.kill()
        assert isinstance(outcome(), httpx.HTTPError)
    assert_retry_applied_once(connect_agent(survivor, tokens["lead"]), arena_id)


class Recording(httpx.HTTPTransport):
    """An httpx transport that keeps every request it sends."""

    def __init__(self) -> None:
        super().__init__()
        self.sent: list[httpx.Request] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.sent.append(request)
        return super().handle_request(request)


def test_the_client_retries_a_503_with_the_same_key_and_it_is_applied_once(
    postgres, start_server, tokens, connect_agent, live_db
):
    from aleph_client import ArenaClient

    server = start_server()
    tokens["worker-a"]
    lead = connect_agent(server, tokens["lead"])
    arena_id = lead.create_active_arena(3, ["worker-a"])
    transport = Recording()
    posted: list[object] = []
    with ArenaClient(server.url, tokens["lead"], transport=transport) as client:
        with arena_locked(live_db.url, arena_id):
            thread = threading.Thread(
                target=lambda: posted.append(client.post_message(arena_id, "once"))
            )
            thread.start()
            pid = waiting_backend(live_db.url, time.monotonic() + 30)
            with psycopg.connect(live_db.url, autocommit=True) as admin:
                admin.execute("SELECT pg_terminate_backend(%s)", [pid])
        thread.join(timeout=60)
    [event] = posted
    assert [e["seq"] for e in lead.events(arena_id) if e["type"] == "message_posted"] == [
        event["seq"]
    ]
    posts = [r for r in transport.sent if r.method == "POST" and "/messages/" in r.url.path]
    assert len(posts) == 2
    assert posts[0].headers["Idempotency-Key"] == posts[1].headers["Idempotency-Key"]
