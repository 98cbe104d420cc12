"""Claim expiry end to end: with nobody writing to an arena, the server processes'
sweep records a lapsed claim within 10 s of its `expires_at`, once even when two processes
sweep the same database, and a feed sees `claim_expired` arrive; `manage.py expire_claims`
does the same from a timer; an open feed keeps its agent present."""

from __future__ import annotations

import json
import os
import time
from datetime import UTC, datetime

import httpx
import pytest
from websockets.sync.client import connect

from tests.support.liveserver import LiveServer
from tests.support.waiting import until

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

WAIT = 30.0


def api(server: LiveServer, token: str) -> httpx.Client:
    return httpx.Client(
        base_url=server.url, headers={"Authorization": f"Bearer {token}"}, timeout=WAIT
    )


def active_arena(lead: httpx.Client, workers: list[str], lease: int = 300) -> str:
    created = lead.post(
        "/api/arenas/",
        json={
            "goal": "Leases lapse",
            "total_steps": 10,
            "lease_seconds": lease,
            "participants": [{"agent_id": w, "role": "worker"} for w in workers],
        },
    )
    assert created.status_code == 201, created.text
    arena_id = created.json()["id"]
    assert lead.post(f"/api/arenas/{arena_id}/activate/").status_code == 200
    return arena_id


def events(client: httpx.Client, arena_id: str) -> list[dict]:
    return client.get(f"/api/arenas/{arena_id}/events/", params={"limit": 500}).json()["events"]


def parse(ts: str) -> datetime:
    return datetime.strptime(ts, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)


def test_two_sweeping_processes_record_each_expiry_once_and_the_feed_sees_it(live_db, tmp_path):
    redis_url = os.environ.get("REDIS_URL") or None
    # With Redis every expiry reaches the feed by its doorbell, whichever process swept it;
    # without, one swept by the other process reaches it by the feed's catch-up poll.
    poll = "3600" if redis_url else "1"
    env = {"ALEPH_CLAIM_SWEEP_SECONDS": "1", "ALEPH_LIVE_POLL_SECONDS": poll}
    one = LiveServer(live_db, redis_url=redis_url, extra_env=env, log_path=tmp_path / "a.log")
    two = LiveServer(live_db, redis_url=redis_url, extra_env=env, log_path=tmp_path / "b.log")
    one.start()
    two.start()
    try:
        tokens = {name: live_db.create_agent(name) for name in ("lead", "bob", "carol")}
        lead, bob, carol = (api(one, tokens[n]) for n in ("lead", "bob", "carol"))
        api(two, tokens["lead"]).get("/api/me/")  # the second process has served a request
        arena_id = active_arena(lead, ["bob", "carol"])
        with connect(
            f"{one.ws_url}/ws/arenas/{arena_id}/",
            additional_headers={"Authorization": f"Bearer {tokens['lead']}"},
            open_timeout=WAIT,
        ) as feed:
            assert json.loads(feed.recv(timeout=WAIT))["type"] == "snapshot"
            held = [
                bob.post(f"/api/arenas/{arena_id}/steps/{n}/claim/", json={"lease_seconds": 5})
                for n in (1, 2)
            ] + [carol.post(f"/api/arenas/{arena_id}/claims/next/", json={"lease_seconds": 5})]
            assert [r.status_code for r in held] == [201, 201, 201]
            claims = {r.json()["claim"]["claim_id"]: r.json()["claim"] for r in held}
            seen: list[dict] = []
            deadline = time.monotonic() + 20
            while len([e for e in seen if e["type"] == "claim_expired"]) < 3:
                assert time.monotonic() < deadline, seen
                message = json.loads(feed.recv(timeout=20))
                seen.append(message["event"])
        arrived = time.time()
        expired = [e for e in events(lead, arena_id) if e["type"] == "claim_expired"]
        assert sorted(e["claim_id"] for e in expired) == sorted(claims)
        assert [e for e in seen if e["type"] == "claim_expired"] == expired
        for event in expired:
            assert event["actor"] is None
            lapse = parse(event["timestamp"]) - parse(claims[event["claim_id"]]["expires_at"])
            assert 0 <= lapse.total_seconds() <= 10, event
        assert arrived - parse(expired[-1]["timestamp"]).timestamp() < 10
        assert lead.get(f"/api/arenas/{arena_id}/claims/").json()["results"] == []
        live_db.manage("verify_arenas")
    finally:
        one.stop()
        two.stop()


def test_a_wsgi_process_sweeps_lapsed_claims_with_no_asgi_process_running(live_db, tmp_path):
    """docs/deploy.md's HTTP processes (granian over WSGI) run the claim sweep on their own
    loop thread, as an ASGI process runs it on its server's loop."""
    server = LiveServer(
        live_db,
        kind="granian-wsgi",
        extra_env={"ALEPH_CLAIM_SWEEP_SECONDS": "1"},
        log_path=tmp_path / "wsgi.log",
    ).start()
    try:
        tokens = {name: live_db.create_agent(name) for name in ("lead", "bob")}
        lead, bob = api(server, tokens["lead"]), api(server, tokens["bob"])
        arena_id = active_arena(lead, ["bob"])
        claimed = bob.post(f"/api/arenas/{arena_id}/steps/1/claim/", json={"lease_seconds": 5})
        assert claimed.status_code == 201
        deadline = time.monotonic() + WAIT
        while not [e for e in events(lead, arena_id) if e["type"] == "claim_expired"]:
            assert time.monotonic() < deadline, server.log_tail()
            time.sleep(0.2)
        [expired] = [e for e in events(lead, arena_id) if e["type"] == "claim_expired"]
        lapse = parse(expired["timestamp"]) - parse(claimed.json()["claim"]["expires_at"])
        assert 0 <= lapse.total_seconds() <= 10, expired
    finally:
        server.stop()


def test_expire_claims_records_lapsed_claims_from_a_timer(live_db, tmp_path):
    server = LiveServer(
        live_db, extra_env={"ALEPH_CLAIM_SWEEP_SECONDS": "3600"}, log_path=tmp_path / "d.log"
    ).start()
    try:
        tokens = {name: live_db.create_agent(name) for name in ("lead", "bob")}
        lead, bob = api(server, tokens["lead"]), api(server, tokens["bob"])
        arena_id = active_arena(lead, ["bob"])
        expiries = []
        for step in (3, 4):
            claimed = bob.post(
                f"/api/arenas/{arena_id}/steps/{step}/claim/", json={"lease_seconds": 5}
            )
            assert claimed.status_code == 201
            expiries.append(parse(claimed.json()["claim"]["expires_at"]))
        until(lambda: datetime.now(UTC) > max(expiries), interval=0.1)  # both leases lapsed
        assert live_db.manage("expire_claims").strip() == "Expired 2 claim(s)."
        assert live_db.manage("expire_claims").strip() == "Expired 0 claim(s)."
        types = [e["type"] for e in events(lead, arena_id)]
        assert types[-2:] == ["claim_expired", "claim_expired"]
        live_db.manage("verify_arenas")
    finally:
        server.stop()


def test_an_open_feed_keeps_its_agent_present(live_db, tmp_path):
    server = LiveServer(live_db, log_path=tmp_path / "p.log").start()
    try:
        tokens = {name: live_db.create_agent(name) for name in ("lead", "bob")}
        lead = api(server, tokens["lead"])
        arena_id = active_arena(lead, ["bob"])
        with connect(
            f"{server.ws_url}/ws/arenas/{arena_id}/",
            additional_headers={"Authorization": f"Bearer {tokens['bob']}"},
            open_timeout=WAIT,
        ) as feed:
            snapshot = json.loads(feed.recv(timeout=WAIT))["arena"]
            bob = next(p for p in snapshot["participants"] if p["agent_id"] == "bob")
            assert bob["presence"] == "online"
            first = parse(bob["last_seen_at"])
            time.sleep(23)
            feed.send(json.dumps({"type": "ping"}))
            assert json.loads(feed.recv(timeout=WAIT)) == {"type": "pong"}
            people = lead.get(f"/api/arenas/{arena_id}/participants/").json()["results"]
            again = next(p for p in people if p["agent_id"] == "bob")
        assert again["presence"] == "online"
        assert parse(again["last_seen_at"]) > first
    finally:
        server.stop()
