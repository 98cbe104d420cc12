"""`client.work()`: workers divide a plan through claims, each step is
completed once, a killed worker's step is taken over after its lease, a lost claim
abandons its result, a review step is submitted and waited for (not claimed again) until a
coordinator approves it, and the loop ends when the plan is done or the arena leaves
`active`."""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from arena_helpers import Forwarding

from aleph_client import ArenaClient, AsyncArenaClient, ClaimedStep
from tests.support.waiting import until

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(240)]

WORKER = Path(__file__).with_name("worker_process.py")
WORKERS = ("ana", "bob", "cy")


def arena_for(client: ArenaClient, steps: int, **config) -> str:
    arena_id = client.create_arena(
        goal="Share the work",
        total_steps=steps,
        participants=[{"agent_id": name, "role": "worker"} for name in WORKERS],
        **config,
    )["id"]
    client.transition(arena_id, "activate")
    return arena_id


def step_events(client: ArenaClient, arena_id: str) -> list[dict]:
    return client.list_events(arena_id, after=0, limit=500)["events"]


def claimers(client: ArenaClient, arena_id: str) -> set[str]:
    """The agents that claimed a step of the arena so far."""
    return {e["agent_id"] for e in step_events(client, arena_id) if e["type"] == "step_claimed"}


class Answers:
    """An `on_response` of `Forwarding` that keeps, in `seen`, the answers to requests whose
    path ends with `path_end` and that meet `condition`: what a worker was told, observed."""

    def __init__(self, path_end: str, condition: Callable[[httpx.Response], bool]) -> None:
        self.path_end = path_end
        self.condition = condition
        self.seen: list[httpx.Response] = []

    def __call__(self, request: httpx.Request, response: httpx.Response) -> httpx.Response:
        if request.url.path.endswith(self.path_end) and self.condition(response):
            self.seen.append(response)
        return response


def test_three_workers_divide_a_plan_and_take_over_a_killed_workers_step(
    live_server, live_db, tokens
):
    keys = tokens("lead", *WORKERS)
    lead = ArenaClient(live_server.url, keys["lead"])
    arena_id = arena_for(lead, 6, lease_seconds=5)

    def start(name: str, step_seconds: float) -> subprocess.Popen:
        return subprocess.Popen(
            [
                sys.executable,
                str(WORKER),
                live_server.url,
                keys[name],
                arena_id,
                "5",
                str(step_seconds),
            ],
            stdout=subprocess.PIPE,
            text=True,
        )

    victim = start("cy", 600)  # it never finishes a step: it is killed in the middle of one
    taken = victim.stdout.readline().split()
    assert taken[0] == "started", taken
    survivors = [start("ana", 0.5), start("bob", 0.5)]
    until(lambda: {"ana", "bob"} <= claimers(lead, arena_id), interval=0.2)  # at work
    victim.send_signal(signal.SIGKILL)
    victim.wait()

    reports = []
    for worker in survivors:
        output, _ = worker.communicate(timeout=120)
        assert worker.returncode == 0, output
        reports.append(json.loads(output.strip().splitlines()[-1]))

    completed = [step for report in reports for step in report["completed"]]
    assert sorted(completed) == [1, 2, 3, 4, 5, 6]  # each once, by the survivors
    killed_step = int(taken[1])
    events = step_events(lead, arena_id)
    done = Counter(e["step"] for e in events if e["type"] == "step_completed")
    assert set(done.values()) == {1} and len(done) == 6
    expired = [e for e in events if e["type"] == "claim_expired"]
    assert [(e["step"], e["agent_id"]) for e in expired] == [(killed_step, "cy")]
    retaken = [e for e in events if e["type"] == "step_claimed" and e["step"] == killed_step]
    assert [e["agent_id"] for e in retaken][0] == "cy" and len(retaken) == 2
    assert retaken[1]["seq"] > expired[0]["seq"]
    assert all(report["status"] == "active" and report["lost"] == [] for report in reports)
    live_db.manage("verify_arenas")


async def test_async_workers_divide_a_plan_and_each_step_is_done_once(live_server, tokens):
    keys = tokens("lead", *WORKERS)
    with ArenaClient(live_server.url, keys["lead"]) as lead:
        arena_id = arena_for(lead, 9)

    async def worker(name: str):
        async def do_step(step: ClaimedStep) -> str:
            await asyncio.sleep(0.2)
            return f"{name} did {step.step}"

        async with AsyncArenaClient(live_server.url, keys[name]) as client:
            return await client.work(arena_id, do_step, lease_seconds=10, wait_seconds=5)

    reports = await asyncio.gather(*(worker(name) for name in WORKERS))

    completed = [step for report in reports for step in report.completed]
    assert sorted(completed) == list(range(1, 10))
    for name, report in zip(WORKERS, reports, strict=True):
        assert report.results == {step: f"{name} did {step}" for step in report.completed}
    with ArenaClient(live_server.url, keys["lead"]) as lead:
        assert lead.get_aggregate(arena_id)["completed_steps"] == 9


def test_a_lost_claim_abandons_the_result_and_the_step_is_done_again(live_server, tokens):
    keys = tokens("lead", *WORKERS)
    lead = ArenaClient(live_server.url, keys["lead"])
    arena_id = arena_for(lead, 1)
    calls = []
    refused = Answers("/renew/", lambda response: response.status_code >= 400)

    def do_step(step: ClaimedStep) -> str:
        calls.append(step.claim["claim_id"])
        if len(calls) == 1:  # a coordinator takes the step back while it is being done
            lead.release_claim(arena_id, step.claim["claim_id"])
            until(lambda: refused.seen)  # the next renewal (a third of the 5 s lease) is refused
        return "done"

    with ArenaClient(live_server.url, keys["ana"], transport=Forwarding(refused)) as ana:
        report = ana.work(arena_id, do_step, lease_seconds=5)

    assert (report.lost, report.completed) == ([1], [1])
    assert len(calls) == 2 and calls[0] != calls[1]
    events = step_events(lead, arena_id)
    assert [e["type"] for e in events].count("step_completed") == 1


def test_work_ends_when_the_arena_leaves_active(live_server, tokens):
    keys = tokens("lead", *WORKERS)
    lead = ArenaClient(live_server.url, keys["lead"])
    arena_id = lead.create_arena(
        goal="Someone else's step",
        plan=[{"title": "Lead's own", "assignee": "lead"}],
        participants=[{"agent_id": "ana", "role": "worker"}],
    )["id"]
    reports = []
    # The worker's reads of the arena while it is `created`, and its claims that find nothing.
    created = Answers(f"/api/arenas/{arena_id}/", lambda r: r.json().get("status") == "created")
    nothing = Answers("/claims/next/", lambda r: r.is_success and r.json()["claim"] is None)

    def run() -> None:
        transport = Forwarding(
            lambda request, response: nothing(request, created(request, response))
        )
        with ArenaClient(live_server.url, keys["ana"], transport=transport) as ana:
            reports.append(ana.work(arena_id, lambda step: None, wait_seconds=60))

    worker = threading.Thread(target=run)
    worker.start()
    # Its first claim is refused (not active) and it sees `created`; it opens the feed and,
    # its second claim refused too, sees `created` again: it waits on the feed for activation.
    until(lambda: len(created.seen) == 2)
    lead.transition(arena_id, "activate")
    until(lambda: nothing.seen)  # nothing it may claim: it waits on the feed
    started = time.monotonic()
    lead.transition(arena_id, "settle")
    worker.join(timeout=30)

    assert not worker.is_alive()
    assert time.monotonic() - started < 15  # woken by the feed, not by its 60 s timeout
    assert reports[0].status == "settling" and reports[0].completed == []


def test_work_submits_a_review_step_and_finishes_when_a_coordinator_approves_it(
    live_server, tokens
):
    keys = tokens("lead", "ana")
    lead = ArenaClient(live_server.url, keys["lead"])
    arena_id = lead.create_arena(
        goal="Reviewed work",
        plan=[
            {"title": "Draft", "review": True},
            {"title": "Polish"},
            {"title": "Publish", "depends_on": [1]},
        ],
        participants=[{"agent_id": "ana", "role": "worker"}],
    )["id"]
    lead.transition(arena_id, "activate")
    nothing = []  # the worker's claims/next answers that gave it no step
    waiting = threading.Event()

    def on_response(request: httpx.Request, response: httpx.Response) -> httpx.Response:
        if request.url.path.endswith("/claims/next/") and response.json().get("claim") is None:
            nothing.append(response.json())
            if len(nothing) == 2:
                waiting.set()
        return response

    reports = []

    def run() -> None:
        with ArenaClient(live_server.url, keys["ana"], transport=Forwarding(on_response)) as ana:
            reports.append(ana.work(arena_id, lambda step: f"did {step.title}", wait_seconds=60))

    worker = threading.Thread(target=run)
    worker.start()
    try:
        # Steps 1 (submitted) and 2 done, step 3 waits for step 1's review: nothing to
        # claim, then nothing again once the feed is open; then the worker waits on the feed.
        assert waiting.wait(timeout=60)
        time.sleep(1.0)  # room for a loop that would claim again while the review is open
        assert nothing == [{"claim": None, "remaining": 2, "claimed": 0, "blocked": 1}] * 2
        review = lead.list_requests(arena_id, status="open")["results"][0]
        assert (review["kind"], review["step"], review["agent_id"]) == ("review", 1, "ana")
        lead.answer_request(arena_id, review["id"], choice="approve")
        worker.join(timeout=60)
    finally:
        if worker.is_alive():  # failed: end the worker's loop
            lead.transition(arena_id, "settle")
            worker.join(timeout=60)

    assert not worker.is_alive()
    report = reports[0]
    assert (report.submitted, report.completed, report.lost) == ([1], [2, 3], [])
    assert report.results == {1: "did Draft", 2: "did Polish", 3: "did Publish"}
    assert report.status == "active"
    events = step_events(lead, arena_id)
    claimed = [e["step"] for e in events if e["type"] == "step_claimed"]
    assert claimed == [1, 2, 3]  # step 1 once: not claimed again while its review was open
    done = [e for e in events if e["type"] == "step_completed"]
    assert [(e["step"], e["agent_id"], e["actor"]) for e in done] == [
        (2, "ana", "ana"),
        (1, "ana", "lead"),  # approved by the coordinator
        (3, "ana", "ana"),
    ]
    assert lead.get_aggregate(arena_id)["completed_steps"] == 3
