"""Webhooks end to end: live server processes deliver to a real receiver that
verifies every signature with `standardwebhooks`; a server SIGKILLed in the middle of a
delivery loses and reorders nothing (its lease lapses and a new process takes over); two
`manage.py deliver_webhooks` processes share one subscription without ever sending one
arena's events at the same time."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator

import httpx
import pytest

from tests.support.liveserver import LiveServer
from tests.webhooks.receiver import Answer, Receiver

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

LEASE = "15"  # seconds; the shortest the settings take (the 10 s timeout and a margin)
ENV = {
    "ALEPH_WEBHOOK_ALLOW_HTTP": "1",
    "ALEPH_WEBHOOK_ALLOW_PRIVATE": "1",
    "ALEPH_WEBHOOK_POLL_SECONDS": "0.2",
    "ALEPH_WEBHOOK_LEASE_SECONDS": LEASE,
}


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with Receiver() as running:
        yield running


def agent(server: LiveServer, token: str) -> httpx.Client:
    return httpx.Client(
        base_url=server.url, headers={"Authorization": f"Bearer {token}"}, timeout=30
    )


def new_arena(lead: httpx.Client) -> str:
    created = lead.post("/api/arenas/", json={"goal": "Tell the tracker", "total_steps": 100})
    assert created.status_code == 201, created.text
    arena_id = created.json()["id"]
    assert lead.post(f"/api/arenas/{arena_id}/activate/").status_code == 200
    return arena_id


def subscribe(server: LiveServer, database, receiver: Receiver) -> None:
    database.create_staff("root", "pw-root-123")
    person = server.signed_in("root", "pw-root-123")
    created = person.post("/api/webhooks/", json={"url": receiver.url})
    person.close()
    assert created.status_code == 201, created.text
    receiver.secret = created.json()["secret"]


def logged(lead: httpx.Client, arena_id: str) -> list[dict]:
    return lead.get(f"/api/arenas/{arena_id}/events/", params={"limit": 500}).json()["events"]


@pytest.mark.parametrize("kind", ["daphne", "granian-wsgi"])
def test_a_live_server_delivers_every_event_signed_and_in_order(kind, live_db, tmp_path, receiver):
    """Daphne, and granian over WSGI (docs/deploy.md's HTTP processes, which deliver from
    their own loop thread)."""
    token = live_db.create_agent("alice")
    with LiveServer(live_db, kind=kind, extra_env=ENV, log_path=tmp_path / "s.log") as server:
        subscribe(server, live_db, receiver)
        lead = agent(server, token)
        arenas = [new_arena(lead), new_arena(lead)]
        for step in range(1, 6):
            for arena_id in arenas:
                assert (
                    lead.post(f"/api/arenas/{arena_id}/steps/", json={"step": step}).status_code
                    == 201
                )
        for arena_id in arenas:
            expected = logged(lead, arena_id)
            receiver.wait_for(lambda a=arena_id, e=expected: len(receiver.seqs(a)) >= len(e))
            assert receiver.events(arena_id) == expected  # each arena's events, in seq order
        assert all(got.verified for got in receiver.received)
        assert receiver.overlaps == []


def test_a_server_killed_mid_delivery_skips_and_reorders_nothing(live_db, tmp_path, receiver):
    token = live_db.create_agent("alice")
    server = LiveServer(live_db, extra_env=ENV, log_path=tmp_path / "first.log").start()
    held = threading.Event()
    release = threading.Event()

    def answer(got) -> Answer:
        event = got.event or {}
        if event.get("type") == "step_completed" and event["step"] == 3 and not held.is_set():
            held.set()
            release.wait(60)  # the server dies while this delivery is in flight
        return Answer(200)

    receiver.answer = answer
    try:
        subscribe(server, live_db, receiver)
        lead = agent(server, token)
        arena_id = new_arena(lead)
        for step in range(1, 6):
            assert (
                lead.post(f"/api/arenas/{arena_id}/steps/", json={"step": step}).status_code == 201
            )
        assert held.wait(30), "the delivery of step 3 never arrived"
    finally:
        server.kill()
        release.set()

    with LiveServer(live_db, extra_env=ENV, log_path=tmp_path / "second.log") as server:
        lead = agent(server, token)
        for step in range(6, 9):
            assert (
                lead.post(f"/api/arenas/{arena_id}/steps/", json={"step": step}).status_code == 201
            )
        expected = [e["seq"] for e in logged(lead, arena_id)]
        receiver.wait_for(lambda: receiver.seqs(arena_id)[-1:] == expected[-1:], timeout=60)
    got = receiver.seqs(arena_id)
    # Nothing skipped, and in order from where the new process took over.
    first_seen = list(dict.fromkeys(got))
    assert first_seen == expected
    # At least once: the event in flight when the process died came again, and so may the
    # ones acknowledged just before it that the cursor had not recorded yet (it moves every
    # 0.1 s), in order; nothing after it came twice.
    in_flight = next(e["seq"] for e in receiver.events(arena_id) if e.get("step") == 3)
    repeated = [seq for i, seq in enumerate(got) if seq in got[:i]]
    assert repeated == list(range(in_flight - len(repeated) + 1, in_flight + 1))
    assert repeated[-1:] == [in_flight]
    assert all(got.verified for got in receiver.received)


def test_two_delivering_processes_send_each_arena_s_events_one_at_a_time(
    live_db, tmp_path, receiver
):
    token = live_db.create_agent("alice")
    quiet = {**ENV, "ALEPH_WEBHOOK_CONCURRENCY": "0", "ALEPH_WEBHOOK_POLL_SECONDS": "0.05"}
    receiver.answer = lambda got: Answer(200, delay=0.02)  # a window for overlaps to show
    with LiveServer(live_db, extra_env=quiet, log_path=tmp_path / "daphne.log") as server:
        subscribe(server, live_db, receiver)
        deliverers = [
            subprocess.Popen(
                [sys.executable, "manage.py", "deliver_webhooks", "--concurrency", "4"],
                cwd=live_db.source,
                env=live_db.env(**quiet),
                stdout=subprocess.DEVNULL,
                stderr=open(tmp_path / f"deliverer-{n}.log", "wb"),  # noqa: SIM115
            )
            for n in range(2)
        ]
        try:
            lead = agent(server, token)
            arenas = [new_arena(lead) for _ in range(4)]
            for step in range(1, 11):
                for arena_id in arenas:
                    response = lead.post(f"/api/arenas/{arena_id}/steps/", json={"step": step})
                    assert response.status_code == 201
            for arena_id in arenas:
                expected = [e["seq"] for e in logged(lead, arena_id)]
                receiver.wait_for(lambda a=arena_id, e=expected: receiver.seqs(a) == e)
        finally:
            for process in deliverers:
                process.send_signal(signal.SIGTERM)
            for process in deliverers:
                try:
                    process.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    os.kill(process.pid, signal.SIGKILL)
                    process.wait()
    assert receiver.overlaps == []
    assert all(got.verified for got in receiver.received)
