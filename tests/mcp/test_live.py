"""The MCP server end to end: real server processes (Daphne, and uvicorn and granian), the
SDK's client over Streamable HTTP as an MCP host runs it, results checked through the REST
API and `manage.py verify_arenas`; several processes on one database (and Redis)."""

from __future__ import annotations

import asyncio
import itertools
import os
import re
import time
from collections import Counter
from urllib.parse import urlparse

import httpx
import httpx2
import pytest

from tests.mcp.helpers import connect, ok
from tests.support.liveserver import Database, LiveServer
from tests.support.waiting import until_async

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

WAIT = 30
UNICODE = "🦄👩‍👩‍👧 שָׁלוֹם e\u0301\u0301 \u202eevil\u202c 𝔘"


def agents(database: Database, *names: str) -> dict[str, str]:
    """Create the agents in the live database (`manage.py create_agent`); their tokens."""
    return {name: database.create_agent(name) for name in names}


def endpoint(server: LiveServer) -> str:
    return f"{server.url}/mcp/"


# A server started with these settings shows how many wait_for_events calls wait in it.
METRICS_TOKEN = "mcp-live-metrics"
METRICS = {"ALEPH_METRICS_TOKEN": METRICS_TOKEN}


async def calls_waiting(server: LiveServer, count: int) -> None:
    """Until `count` wait_for_events calls wait in the server (its `aleph_mcp_waits` gauge;
    the server runs with METRICS)."""

    def waiting() -> bool:
        text = httpx.get(
            f"{server.url}/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"}
        ).text
        found = re.search(r"^aleph_mcp_waits (\S+)$", text, re.MULTILINE)
        return found is not None and float(found.group(1)) == count

    await until_async(lambda: asyncio.to_thread(waiting), interval=0.1)


def rest(server: LiveServer, token: str, path: str) -> dict:
    response = httpx.get(
        f"{server.url}{path}", headers={"Authorization": f"Bearer {token}"}, timeout=WAIT
    )
    assert response.status_code == 200, response.text
    return response.json()


def all_events(server: LiveServer, token: str, arena_id: str) -> list[dict]:
    events: list[dict] = []
    while True:
        page = rest(server, token, f"/api/arenas/{arena_id}/events/?after={len(events)}&limit=500")
        events += page["events"]
        if page["next_after"] is None:
            return events


def assert_gapless(events: list[dict]) -> None:
    assert [event["seq"] for event in events] == list(range(1, len(events) + 1))


async def work_through(client, arena_id: str, mine: list[int], depends: dict[int, list[int]]):
    """An agent's loop: for each of its steps, wait (on the feed) until the steps it depends
    on are completed, then publish a result and complete it."""
    after, done = 0, set()
    for step in mine:
        while not set(depends.get(step, [])) <= done:
            answer = await ok(
                client,
                "wait_for_events",
                arena_id=arena_id,
                after=after,
                types=["step_completed"],
                timeout_seconds=WAIT,
            )
            done |= {event["step"] for event in answer["events"]}
            after = answer["next_after"]
        await ok(client, "report_progress", arena_id=arena_id, current=f"working on {step}")
        await ok(
            client,
            "publish_artifact",
            arena_id=arena_id,
            kind="text",
            title=f"Step {step} {UNICODE}",
            content=f"The result of step {step}: {UNICODE}",
        )
        await ok(client, "complete_step", arena_id=arena_id, step=step)


async def test_two_agents_collaborate_through_mcp_alone(live_server, live_db):
    tokens = agents(live_db, "alice", "bob")
    plan = [
        {"title": "gather", "assignee": "bob"},
        {"title": "outline", "assignee": "alice"},
        {"title": "draft", "assignee": "bob", "depends_on": [1, 2]},
        {"title": "review", "assignee": "alice", "depends_on": [3]},
    ]
    depends = {n: item.get("depends_on", []) for n, item in enumerate(plan, start=1)}
    url = endpoint(live_server)
    async with (
        connect(url, tokens["alice"], mode="auto") as alice,
        connect(url, tokens["bob"], mode="legacy") as bob,
    ):
        arena = await ok(
            alice,
            "create_arena",
            goal=f"Write a short report {UNICODE}",
            plan=plan,
            participants=[{"agent_id": "bob", "role": "worker"}],
        )
        arena_id = arena["id"]
        await ok(alice, "transition", arena_id=arena_id, action="activate")
        assert (await ok(bob, "whoami"))["active_arenas"] == [arena_id]
        await asyncio.gather(
            work_through(alice, arena_id, [2, 4], depends),
            work_through(bob, arena_id, [1, 3], depends),
        )
        await ok(bob, "share_fact", arena_id=arena_id, content="Drafts need review", confidence=1)
        await ok(bob, "post_message", arena_id=arena_id, text="All mine are done", to="alice")
        merged = await ok(
            alice, "merge_artifacts", arena_id=arena_id, sources=["alice", "bob"], title="Report"
        )
        assert len(merged["metadata"]["sources"]) == 4
        await ok(alice, "transition", arena_id=arena_id, action="settle")
        await ok(alice, "transition", arena_id=arena_id, action="archive")
        late = await ok(bob, "wait_for_events", arena_id=arena_id, after=0, timeout_seconds=0)

    events = all_events(live_server, tokens["alice"], arena_id)
    assert_gapless(events)
    assert late["events"] == events[: len(late["events"])]
    detail = rest(live_server, tokens["bob"], f"/api/arenas/{arena_id}/")
    assert detail["status"] == "archived" and detail["last_seq"] == len(events)
    assert detail["aggregate"] == {
        "completed_steps": 4,
        "total_steps": 4,
        "participants": ["alice", "bob"],
        "progress": 1.0,
        "status": "archived",
        "last_seq": len(events),
        "usage": {
            "input_tokens": 0,
            "output_tokens": 0,
            "cached_input_tokens": 0,
            "calls": 0,
            "cost_usd": "0.000000",
            "unpriced_calls": 0,
        },
    }
    assert [e["step"] for e in events if e["type"] == "step_completed"] in (
        [1, 2, 3, 4],
        [2, 1, 3, 4],
    )
    assert detail["settle_report"]["facts_persisted"] == 1
    artifacts = rest(live_server, tokens["alice"], f"/api/arenas/{arena_id}/artifacts/?agent=bob")
    assert [a["title"] for a in artifacts["results"]] == [f"Step {n} {UNICODE}" for n in (1, 3)]
    read = rest(live_server, tokens["alice"], f"/api/arenas/{arena_id}/artifacts/{merged['id']}/")
    assert f"The result of step 3: {UNICODE}" in [
        a["content"] for a in read["content"]["artifacts"]
    ]
    assert detail["goal"] == f"Write a short report {UNICODE}"
    assert "match" in live_db.manage("verify_arenas")


def answer_first_question(person: httpx.Client, arena_id: str, choice: str) -> dict:
    """What a person does on the dashboard: wait for the arena's open question, read it for
    a second (the asker is waiting on its feed meanwhile), then answer it through the REST
    API; the answered request."""
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        listed = person.get(f"/api/arenas/{arena_id}/requests/?status=open").json()["results"]
        if listed:
            time.sleep(1.0)
            path = f"/api/arenas/{arena_id}/requests/{listed[0]['id']}/answer/"
            response = person.post(path, json={"choice": choice, "text": "Use SI units."})
            assert response.status_code == 200, response.text
            return response.json()
        time.sleep(0.1)
    raise AssertionError("no question was asked")


async def claim_and_work(client, arena_id: str, name: str, done: list[tuple[str, int]]) -> None:
    """An agent's loop with claims: claim the next step, publish its result, renew the
    claim, complete the step with the claim_id; when no step is free, wait on the feed for
    one to be completed, released or expired; stop when none remains."""
    while True:
        seen = (await ok(client, "get_arena", arena_id=arena_id))["last_seq"]
        answer = await ok(client, "claim_next_step", arena_id=arena_id, lease_seconds=60)
        claim = answer["claim"]
        if claim is None:
            if answer["remaining"] == 0:
                return
            await ok(
                client,
                "wait_for_events",
                arena_id=arena_id,
                after=seen,
                types=["step_completed", "claim_released", "claim_expired"],
                timeout_seconds=WAIT,
            )
            continue
        step, claim_id = claim["step"], claim["claim_id"]
        await ok(
            client,
            "publish_artifact",
            arena_id=arena_id,
            kind="text",
            title=f"Step {step} by {name}",
            content=f"The result of step {step}: {UNICODE}",
        )
        renewed = await ok(client, "renew_claim", arena_id=arena_id, claim_id=claim_id)
        assert renewed["claim"]["expires_at"] >= claim["expires_at"]
        await ok(client, "complete_step", arena_id=arena_id, step=step, claim_id=claim_id)
        done.append((name, step))


async def ask_and_wait(client, arena_id: str) -> dict:
    """Ask people a question, then follow the feed until its answer comes; the answer's
    input_provided event."""
    after = (await ok(client, "get_arena", arena_id=arena_id))["last_seq"]
    asked = await ok(
        client,
        "ask_people",
        arena_id=arena_id,
        text=f"Metric or imperial units in the report? {UNICODE}",
        choices=["metric", "imperial"],
    )
    while True:
        answer = await ok(
            client,
            "wait_for_events",
            arena_id=arena_id,
            after=after,
            types=["input_provided"],
            timeout_seconds=WAIT,
        )
        for event in answer["events"]:
            if event["request_id"] == asked["id"]:
                return event
        after = answer["next_after"]


async def test_two_agents_divide_a_plan_with_claims_and_ask_a_person(live_server, live_db):
    """alice and bob take the steps of one plan with claim_next_step and complete each with
    its claim_id; bob asks people a question and waits on the feed for the answer, which a
    staff user gives through the REST API, while alice goes on working."""
    tokens = agents(live_db, "alice", "bob")
    await asyncio.to_thread(live_db.create_staff, "ada", "pw-ada-123")
    person = await asyncio.to_thread(live_server.signed_in, "ada", "pw-ada-123")
    plan = [
        {"title": "sources"},
        {"title": "figures"},
        {"title": "outline", "depends_on": [1]},
        {"title": "draft", "depends_on": [2, 3]},
        {"title": "tables", "depends_on": [2]},
        {"title": "summary", "depends_on": [4, 5]},
    ]
    url = endpoint(live_server)
    done: list[tuple[str, int]] = []
    async with (
        connect(url, tokens["alice"], mode="auto") as alice,
        connect(url, tokens["bob"], mode="legacy") as bob,
    ):
        arena = await ok(
            alice,
            "create_arena",
            goal="A report on the moons of Jupiter",
            plan=plan,
            participants=[{"agent_id": "bob", "role": "worker"}],
            lease_seconds=120,
        )
        arena_id = arena["id"]
        await ok(alice, "transition", arena_id=arena_id, action="activate")

        async def bob_works() -> dict:
            first = await ok(bob, "claim_next_step", arena_id=arena_id)
            step = first["claim"]["step"]
            answered = asyncio.ensure_future(ask_and_wait(bob, arena_id))
            await ok(
                bob,
                "complete_step",
                arena_id=arena_id,
                step=step,
                claim_id=first["claim"]["claim_id"],
            )
            done.append(("bob", step))
            event = await answered
            await claim_and_work(bob, arena_id, "bob", done)
            return event

        answered, _, request = await asyncio.gather(
            bob_works(),
            claim_and_work(alice, arena_id, "alice", done),
            asyncio.to_thread(answer_first_question, person, arena_id, "metric"),
        )
        person.close()
        assert (answered["choice"], answered["by"], answered["agent_id"]) == (
            "metric",
            "staff:ada",
            "bob",
        )
        assert answered["request_id"] == request["id"] and request["status"] == "answered"
        assert request["text"] == f"Metric or imperial units in the report? {UNICODE}"
        last = await ok(alice, "claim_next_step", arena_id=arena_id)
        assert last == {"claim": None, "remaining": 0, "claimed": 0, "blocked": 0}

    assert sorted(step for _, step in done) == [1, 2, 3, 4, 5, 6]
    assert {name for name, _ in done} == {"alice", "bob"}
    events = all_events(live_server, tokens["alice"], arena_id)
    assert_gapless(events)
    claimed = {e["claim_id"]: e["agent_id"] for e in events if e["type"] == "step_claimed"}
    completed = [e for e in events if e["type"] == "step_completed"]
    assert sorted(e["step"] for e in completed) == [1, 2, 3, 4, 5, 6]
    assert sorted(claimed.values()) == sorted(name for name, _ in done)
    assert {(e["agent_id"], e["step"]) for e in completed} == {(n, s) for n, s in done}
    assert [e["type"] for e in events if e["type"].startswith("input_")] == [
        "input_requested",
        "input_provided",
    ]
    assert not [e for e in events if e["type"] in ("claim_released", "claim_expired")]
    assert rest(live_server, tokens["bob"], f"/api/arenas/{arena_id}/claims/")["results"] == []
    detail = rest(live_server, tokens["bob"], f"/api/arenas/{arena_id}/")
    assert (detail["completed_steps"], detail["lease_seconds"]) == (6, 120)
    assert "match" in live_db.manage("verify_arenas")


async def test_forty_concurrent_tool_calls_from_one_client(live_server, live_db):
    tokens = agents(live_db, "alice")
    async with connect(endpoint(live_server), tokens["alice"]) as alice:
        arena_id = (await ok(alice, "create_arena", goal="Busy", total_steps=0))["id"]
        await ok(alice, "transition", arena_id=arena_id, action="activate")
        before = (await ok(alice, "get_arena", arena_id=arena_id))["last_seq"]
        calls = []
        for number in range(40):
            if number % 4 == 0:
                calls.append(ok(alice, "get_arena", arena_id=arena_id))
            elif number % 4 == 1:
                calls.append(ok(alice, "post_message", arena_id=arena_id, text=f"m{number}"))
            elif number % 4 == 2:
                calls.append(ok(alice, "complete_step", arena_id=arena_id, step=number))
            else:
                calls.append(ok(alice, "report_progress", arena_id=arena_id, current=f"c{number}"))
        results = await asyncio.gather(*calls)
        assert len(results) == 40
        quiet = await ok(
            alice, "wait_for_events", arena_id=arena_id, after=before + 30, timeout_seconds=1
        )
        assert quiet == {"events": [], "next_after": before + 30}
    events = all_events(live_server, tokens["alice"], arena_id)
    assert_gapless(events)
    assert len(events) == before + 30
    assert Counter(e["type"] for e in events[before:]) == {
        "message_posted": 10,
        "step_completed": 10,
        "progress_updated": 10,
    }
    assert (
        rest(live_server, tokens["alice"], f"/api/arenas/{arena_id}/aggregate/")["completed_steps"]
        == 10
    )
    assert "match" in live_db.manage("verify_arenas")


async def test_daphne_refuses_without_a_token_and_from_a_foreign_origin(live_server, live_db):
    tokens = agents(live_db, "alice")
    body = {"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": "whoami"}}
    headers = {
        "Accept": "application/json, text/event-stream",
        "MCP-Protocol-Version": "2025-11-25",
    }
    async with httpx2.AsyncClient(timeout=WAIT) as http:
        for authorization in ({}, {"Authorization": "Bearer aa_revoked-or-never-issued"}):
            response = await http.post(
                endpoint(live_server), json=body, headers={**headers, **authorization}
            )
            assert response.status_code == 401
            assert response.headers["www-authenticate"] == 'Bearer realm="api"'
            assert response.json()["error"] == "not_authenticated"
        signed = {**headers, "Authorization": f"Bearer {tokens['alice']}"}
        response = await http.post(
            endpoint(live_server), json=body, headers={**signed, "Origin": "https://evil.example"}
        )
        assert response.status_code == 403 and response.json()["error"] == "permission_denied"
        response = await http.post(endpoint(live_server), json=body, headers=signed)
        assert response.status_code == 200
        assert response.json()["result"]["structuredContent"]["agent_id"] == "alice"


class RoundRobin(httpx2.AsyncBaseTransport):
    """Sends each request to the next of several server processes, as a load balancer
    without sticky sessions does; `used` counts the requests each port got."""

    def __init__(self, ports: list[int]) -> None:
        self._ports = itertools.cycle(ports)
        self._inner = httpx2.AsyncHTTPTransport()
        self.used: Counter[int] = Counter()

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        port = next(self._ports)
        self.used[port] += 1
        request.url = request.url.copy_with(port=port)
        return await self._inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self._inner.aclose()


@pytest.mark.parametrize("mode", ["auto", "legacy"])
async def test_a_session_works_whichever_process_answers_each_request(live_db, tmp_path, mode):
    """Two Daphne processes on one database (and Redis when REDIS_URL is set): every request
    of one client session goes to the other process than the one before."""
    redis = os.environ.get("REDIS_URL") or None
    first = LiveServer(live_db, redis_url=redis, log_path=tmp_path / "first.log").start()
    second = LiveServer(live_db, redis_url=redis, log_path=tmp_path / "second.log").start()
    try:
        tokens = agents(live_db, "alice")
        balancer = RoundRobin([first.port, second.port])
        async with connect(
            endpoint(first), tokens["alice"], mode=mode, transport=balancer
        ) as alice:
            arena_id = (await ok(alice, "create_arena", goal="Anywhere", total_steps=3))["id"]
            await ok(alice, "transition", arena_id=arena_id, action="activate")
            for step in (1, 2, 3):
                await ok(alice, "complete_step", arena_id=arena_id, step=step)
            assert (await ok(alice, "get_arena", arena_id=arena_id))["completed_steps"] == 3
        assert balancer.used[first.port] >= 3 and balancer.used[second.port] >= 3
    finally:
        second.stop()
        first.stop()


async def test_a_wait_on_one_process_wakes_on_a_commit_through_another(
    postgres, redis_url, live_db, tmp_path
):
    """PostgreSQL and Redis, two Daphne processes. The waiting process polls the log only
    once an hour, so the wake-up must come through Redis. While the calls wait, the waiting
    process holds no database connection: the servers run without psycopg's pool (whose
    idle connections stay open by design) and without the periodic claim sweep and look for
    due webhook deliveries, so every connection open is one a thread holds."""
    quiet = {
        "ALEPH_DB_POOL": "0",
        "ALEPH_CLAIM_SWEEP_SECONDS": "3600",
        "ALEPH_WEBHOOK_POLL_SECONDS": "3600",
    }
    waiting = LiveServer(
        live_db,
        redis_url=redis_url,
        extra_env={**quiet, **METRICS, "ALEPH_LIVE_POLL_SECONDS": "3600"},
        log_path=tmp_path / "waiting.log",
    ).start()
    writing = LiveServer(
        live_db, redis_url=redis_url, extra_env=quiet, log_path=tmp_path / "writing.log"
    ).start()
    try:
        tokens = agents(live_db, "alice", "bob")
        async with (
            connect(endpoint(writing), tokens["alice"]) as alice,
            connect(endpoint(waiting), tokens["bob"]) as bob,
        ):
            arena = await ok(
                alice,
                "create_arena",
                goal="Across processes",
                total_steps=0,
                participants=[{"agent_id": "bob", "role": "worker"}],
            )
            arena_id = arena["id"]
            await ok(alice, "transition", arena_id=arena_id, action="activate")
            after = (await ok(bob, "get_arena", arena_id=arena_id))["last_seq"]
            calls = [
                asyncio.ensure_future(
                    ok(bob, "wait_for_events", arena_id=arena_id, after=after, timeout_seconds=WAIT)
                )
                for _ in range(20)
            ]
            await calls_waiting(waiting, 20)
            # Once no connection is open, every call has joined and read the log: it sleeps.
            held = connections_to(live_db, samples=10)
            assert not any(call.done() for call in calls)
            started = time.monotonic()
            posted = await ok(alice, "post_message", arena_id=arena_id, text="across")
            answers = await asyncio.gather(*calls)
            assert time.monotonic() - started < WAIT
            empty = await ok(
                bob, "wait_for_events", arena_id=arena_id, after=posted["seq"], timeout_seconds=1
            )
        assert all(
            answer == {"events": [posted], "next_after": posted["seq"]} for answer in answers
        )
        assert empty == {"events": [], "next_after": posted["seq"]}
        assert held == [0] * 10
    finally:
        writing.stop()
        waiting.stop()


def connections_to(live_db, samples: int, settle: float = 15.0) -> list[int]:
    """How many connections other processes have open to the database: `samples` readings
    50 ms apart, from the first reading of none (the calls may still be starting on a busy
    machine; a call that held its connection while waiting would never let it come)."""
    import psycopg

    name = urlparse(live_db.url).path.lstrip("/")
    query = (
        "SELECT count(*) FROM pg_stat_activity WHERE datname = %s "
        "AND pid <> pg_backend_pid() AND backend_type = 'client backend'"
    )
    counts: list[int] = []
    deadline = time.monotonic() + settle
    with psycopg.connect(live_db.url, autocommit=True) as conn:
        while len(counts) < samples:
            count = conn.execute(query, [name]).fetchone()[0]
            if counts or count == 0 or time.monotonic() > deadline:
                counts.append(count)
            time.sleep(0.05)
    return counts


@pytest.mark.parametrize("program", ["uvicorn", "granian"])
async def test_uvicorn_and_granian_serve_it_too(live_db, tmp_path, program):
    server = LiveServer(
        live_db,
        redis_url=os.environ.get("REDIS_URL") or None,
        kind=program,
        log_path=tmp_path / f"{program}.log",
        extra_env=METRICS,
    ).start()
    try:
        tokens = agents(live_db, "alice", "bob")
        async with (
            connect(endpoint(server), tokens["alice"]) as alice,
            connect(endpoint(server), tokens["bob"], mode="legacy") as bob,
        ):
            first_calls = await asyncio.gather(*(ok(alice, "whoami") for _ in range(5)))
            assert all(me["agent_id"] == "alice" for me in first_calls)
            arena_id = (
                await ok(
                    alice,
                    "create_arena",
                    goal=f"Served by {program}",
                    total_steps=1,
                    participants=[{"agent_id": "bob", "role": "worker"}],
                )
            )["id"]
            await ok(alice, "transition", arena_id=arena_id, action="activate")
            after = (await ok(bob, "get_arena", arena_id=arena_id))["last_seq"]
            waiting = asyncio.ensure_future(
                ok(bob, "wait_for_events", arena_id=arena_id, after=after, timeout_seconds=WAIT)
            )
            await calls_waiting(server, 1)
            done = await ok(alice, "complete_step", arena_id=arena_id, step=1)
            assert (await asyncio.wait_for(waiting, WAIT))["events"] == [done["event"]]
        assert_gapless(all_events(server, tokens["alice"], arena_id))
    finally:
        server.stop()
