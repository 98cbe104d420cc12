"""The worker loop's decisions, effect by effect, against a scripted arena (no server): it
claims, renews beside the step, completes with the claim's id, waits on the feed when
nothing can be claimed, abandons a lost claim, releases the claim of a step that failed,
submits a review step and waits for a person's approval without claiming the step again,
and stops when the plan is done or the arena leaves `active`. The same loop runs against
live servers in test_client_work.py."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from aleph_client import ArenaClient
from aleph_client.core import Connect, Disconnect, Driver, Receive, RunStep, Send, Sleep

ARENA = "00000000-0000-0000-0000-000000000001"
TIME = "2030-01-01T00:00:00+00:00"
LATER = "2030-01-01T00:00:30+00:00"


class ScriptedArena:
    """Answers the loop's requests as the claim rules say, from a few dicts; `messages` is what
    its feed sends, and `on_message` may change the arena as each one is read."""

    def __init__(
        self, steps: int, held: dict[int, str] | None = None, reviews: frozenset[int] = frozenset()
    ) -> None:
        self.steps = steps
        self.reviews = reviews  # the review steps
        self.pending: set[int] = set()  # of them, those whose review is open
        self.done: list[int] = []
        self.claims = {step: (100 + step, agent) for step, agent in (held or {}).items()}
        self.seq = 10
        self.status = "active"
        self.messages: list[dict[str, Any]] = []
        self.requests: list[tuple[str, str, dict[str, Any]]] = []
        self.urls: list[str] = []

    def claim(self, step: int) -> dict[str, Any]:
        claim_id, agent = self.claims[step]
        return {"claim_id": claim_id, "arena_id": ARENA, "step": step, "agent_id": agent,
                "claimed_at": TIME, "expires_at": LATER, "renewed_at": None}  # fmt: skip

    def answer(self, send: Send) -> httpx.Response:
        url = httpx.URL(send.url, params=send.params)
        body = json.loads(send.content) if send.content else {}
        self.requests.append((send.method, url.path, body))
        path = url.path.removeprefix(f"/api/arenas/{ARENA}/")
        if self.status != "active" and send.method == "POST":
            return httpx.Response(409, json={"error": "arena_not_active", "detail": "Not."})
        if path == "":
            return httpx.Response(200, json={"id": ARENA, "status": self.status})
        if path == "claims/next/":
            taken = [*self.done, *self.claims, *self.pending]
            free = [n for n in range(1, self.steps + 1) if n not in taken]
            if not free:
                remaining = self.steps - len(self.done)
                counts = {"remaining": remaining, "claimed": len(self.claims), "blocked": 0}
                return httpx.Response(200, json={"claim": None, **counts})
            self.seq += 1
            self.claims[free[0]] = (self.seq, "me")
            return httpx.Response(201, json={"claim": self.claim(free[0]), "event": {}})
        if path == "steps/" and send.method == "GET":
            step = int(url.params["after"]) + 1
            results = [{"step": step, "title": f"Step {step}"}]
            return httpx.Response(200, json={"results": results, "next": None})
        live = {claim_id: step for step, (claim_id, agent) in self.claims.items() if agent == "me"}
        if path == "steps/":
            if body["step"] in self.pending:  # the step is checked before the claim
                return httpx.Response(409, json={"error": "review_pending", "detail": "Open."})
            if body.get("claim_id") not in live:
                return httpx.Response(409, json={"error": "claim_lost", "detail": "Lost."})
            del self.claims[body["step"]]
            if body["step"] in self.reviews:
                self.pending.add(body["step"])
                request = {"kind": "review", "step": body["step"], "status": "open"}
                return httpx.Response(202, json={"request": request, "event": {}})
            self.done.append(body["step"])
            return httpx.Response(201, json={"event": {}, "aggregate": {}})
        claim_id = int(path.split("/")[1])
        if claim_id not in live:
            return httpx.Response(409, json={"error": "claim_lost", "detail": "Lost."})
        if path.endswith("/renew/"):
            return httpx.Response(200, json={"claim": self.claim(live[claim_id])})
        del self.claims[live[claim_id]]
        return httpx.Response(204)

    def completions(self) -> list[dict[str, Any]]:
        return [
            b for method, path, b in self.requests if method == "POST" and path.endswith("/steps/")
        ]

    def claimed_next(self) -> int:
        return sum(1 for _, path, _ in self.requests if path.endswith("/claims/next/"))

    def renewed(self) -> list[int]:
        return [
            int(path.split("/")[-3]) for _, path, _ in self.requests if path.endswith("/renew/")
        ]

    def receive(self) -> str:
        if not self.messages:
            raise TimeoutError
        message = self.messages.pop(0)
        if message.get("type") == "event":
            event = message["event"]
            if event["type"] == "claim_expired":
                del self.claims[event["step"]]
            if event["type"] == "status_changed":
                self.status = event["to_status"]
            if event["type"] == "step_completed":  # a person approved the step's review
                self.pending.discard(event["step"])
                self.done.append(event["step"])
            if event["type"] == "input_provided" and event.get("choice") == "reject":
                self.pending.discard(event["step"])  # open to be done again
        return json.dumps(message)

    def run(self, program: Any) -> Any:
        """Perform the program's effects against this arena; its result."""
        driver = Driver(program)
        while not driver.finished:
            effect = driver.effect
            try:
                value = self.perform(effect)
            except Exception as error:
                driver.settle(error=error)
            else:
                driver.settle(value)
        return driver.value

    def perform(self, effect: Any) -> Any:
        match effect:
            case Send():
                return self.answer(effect)
            case Connect():
                self.urls.append(effect.url)
                return "socket"
            case Receive():
                return self.receive()
            case Sleep() | Disconnect():
                return None
            case RunStep():
                result = effect.do_step(effect.item)
                self.renew_once(effect.renewal)
                return result
        raise AssertionError(effect)

    def renew_once(self, renewal: Any) -> None:
        """Let the renewal beside the step wait once and renew once (or find the claim lost)."""
        driver = Driver(renewal)
        assert isinstance(driver.effect, Sleep) and driver.effect.seconds == pytest.approx(10)
        driver.settle()
        while isinstance(driver.effect, Send):
            driver.settle(self.answer(driver.effect))
        renewal.close()


def snapshot() -> dict[str, Any]:
    return {"type": "snapshot", "arena": {"id": ARENA, "status": "active", "last_seq": 10}}


def event(seq: int, kind: str, **fields: Any) -> dict[str, Any]:
    return {"type": "event", "event": {"seq": seq, "type": kind, **fields}}


def work(arena: ScriptedArena, do_step: Any) -> Any:
    client = ArenaClient("http://arena.invalid", "aa_token")
    return arena.run(client.work.program(ARENA, do_step))


def test_it_claims_renews_completes_and_waits_on_the_feed_for_a_freed_step():
    arena = ScriptedArena(2, held={2: "other"})
    arena.messages = [snapshot(), event(11, "message_posted"), event(12, "claim_expired", step=2)]
    seen = []

    report = work(arena, lambda step: seen.append((step.step, step.title)) or step.step * 10)

    assert seen == [(1, "Step 1"), (2, "Step 2")]
    assert (report.completed, report.lost, report.results) == ([1, 2], [], {1: 10, 2: 20})
    assert arena.completions() == [{"step": 1, "claim_id": 11}, {"step": 2, "claim_id": 12}]
    assert arena.renewed() == [11, 12]
    assert arena.urls == [f"ws://arena.invalid/ws/arenas/{ARENA}/"]  # from its snapshot on


def test_a_lost_claim_abandons_the_result_and_the_step_is_claimed_again():
    arena = ScriptedArena(1)
    calls = []

    def do_step(step: Any) -> str:
        calls.append(step.claim["claim_id"])
        if len(calls) == 1:
            del arena.claims[1]  # taken back while the step runs: the renewal finds it lost
        return "result"

    report = work(arena, do_step)

    assert (report.lost, report.completed, calls) == ([1], [1], [11, 12])
    # The lost claim's result was never sent.
    assert arena.completions() == [{"step": 1, "claim_id": 12}]
    assert arena.done == [1]


def test_it_stops_when_the_arena_leaves_active_while_it_waits():
    arena = ScriptedArena(1, held={1: "other"})
    arena.messages = [snapshot(), event(11, "status_changed", to_status="settling")]

    report = work(arena, lambda step: None)

    assert (report.status, report.completed) == ("settling", [])


def test_a_failing_step_releases_its_claim_and_ends_the_loop():
    arena = ScriptedArena(2)

    def do_step(step: Any) -> None:
        raise RuntimeError("the model is down")

    with pytest.raises(RuntimeError, match="the model is down"):
        work(arena, do_step)
    assert ("DELETE", f"/api/arenas/{ARENA}/claims/11/", {}) in arena.requests
    assert arena.claims == {} and arena.done == []


def test_a_review_step_is_submitted_and_the_loop_waits_for_its_approval():
    arena = ScriptedArena(2, reviews=frozenset({1}))
    arena.messages = [
        snapshot(),
        event(11, "input_requested", request_id="q1"),  # a question: it frees no step
        event(12, "step_completed", step=1),  # approved
    ]

    report = work(arena, lambda step: f"did {step.step}")

    assert (report.submitted, report.completed, report.lost) == ([1], [2], [])
    assert report.results == {1: "did 1", 2: "did 2"}
    # Submitted once; while its review was open, claims/next offered nothing and the loop
    # waited on the feed: claim 1, claim 2, nothing, nothing (feed open), the plan done.
    assert [c["step"] for c in arena.completions()] == [1, 2]
    assert arena.claimed_next() == 5
    assert arena.done == [2, 1] and len(arena.urls) == 1


def test_a_rejected_review_step_is_done_and_submitted_again():
    arena = ScriptedArena(1, reviews=frozenset({1}))
    arena.messages = [
        snapshot(),
        event(11, "input_provided", choice="reject", step=1),
        event(12, "step_completed", step=1),  # the second submission approved
    ]
    drafts = []

    report = work(arena, lambda step: drafts.append(step.claim["claim_id"]) or len(drafts))

    assert (report.submitted, report.completed, report.results) == ([1, 1], [], {1: 2})
    assert len(drafts) == 2 and drafts[0] != drafts[1]
    assert arena.done == [1] and len(arena.urls) == 1


def test_a_completion_refused_for_an_open_review_abandons_the_result():
    arena = ScriptedArena(1, reviews=frozenset({1}))
    arena.messages = [snapshot(), event(11, "step_completed", step=1)]

    def do_step(step: Any) -> str:
        # Meanwhile another agent took the step over and submitted it for review.
        arena.pending.add(step.step)
        return "late"

    report = work(arena, do_step)

    assert (report.lost, report.submitted, report.completed, report.results) == ([1], [], [], {})
    assert arena.done == [1]
