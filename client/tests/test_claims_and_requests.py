"""Claims and requests for people through the client: every method once,
and the errors of their codes (`step_claimed`, `claim_lost`, `review_pending`,
`request_closed`) with their fields."""

from __future__ import annotations

import typing
from datetime import datetime

import pytest
from arena_helpers import raised

from aleph_client import (
    ENDPOINTS,
    ArenaClient,
    ClaimLost,
    RequestClosed,
    ReviewPending,
    StepClaimed,
)
from aleph_client.types import Request as PeopleRequest
from aleph_client.types import ReviewOpened, ReviewStateEnum, StepResult

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(180)]


def at(timestamp: str) -> datetime:
    return datetime.fromisoformat(timestamp)


def test_claims_divide_steps_with_leases_and_fencing_tokens(live_server, tokens):
    keys = tokens("lead", "ana", "bob")
    lead, ana, bob = (ArenaClient(live_server.url, keys[name]) for name in ("lead", "ana", "bob"))
    arena = lead.create_arena(
        goal="Divide the work",
        total_steps=3,
        lease_seconds=30,
        participants=[{"agent_id": "ana", "role": "worker"}, {"agent_id": "bob", "role": "worker"}],
    )
    arena_id = arena["id"]
    assert arena["lease_seconds"] == 30
    lead.transition(arena_id, "activate")

    granted = ana.claim_next_step(arena_id)
    claim = granted["claim"]
    assert (claim["step"], claim["agent_id"], claim["renewed_at"]) == (1, "ana", None)
    assert granted["event"]["type"] == "step_claimed"
    assert claim["claim_id"] == granted["event"]["seq"]
    assert 29 <= (at(claim["expires_at"]) - at(claim["claimed_at"])).total_seconds() <= 31

    held = raised(lambda: bob.claim_step(arena_id, 1))
    assert isinstance(held, StepClaimed)
    assert (held.holder, held.claim_id, held.expires_at) == (
        "ana",
        claim["claim_id"],
        claim["expires_at"],
    )
    assert isinstance(raised(lambda: bob.complete_step(arena_id, 1)), StepClaimed)

    again = ana.claim_step(arena_id, 1, lease_seconds=60)
    assert "event" not in again and again["claim"]["claim_id"] == claim["claim_id"]
    renewed = ana.renew_claim(arena_id, claim["claim_id"], lease_seconds=120)["claim"]
    assert renewed["renewed_at"] is not None
    assert at(renewed["expires_at"]) > at(again["claim"]["expires_at"])
    assert [c["step"] for c in lead.list_claims(arena_id)["results"]] == [1]
    step_one = lead.get_plan(arena_id, limit=1)["results"][0]
    assert step_one["claim"] == {
        "claim_id": claim["claim_id"],
        "agent_id": "ana",
        "expires_at": renewed["expires_at"],
    }

    second = bob.claim_next_step(arena_id)["claim"]
    assert second["step"] == 2
    lost = raised(lambda: ana.complete_step(arena_id, 1, claim_id=second["claim_id"]))
    assert isinstance(lost, ClaimLost) and lost.status == 409
    assert lost.claim_id == second["claim_id"]
    done = ana.complete_step(arena_id, 1, claim_id=claim["claim_id"])
    assert done["aggregate"]["completed_steps"] == 1

    assert bob.release_claim(arena_id, second["claim_id"]) is None
    assert isinstance(raised(lambda: bob.renew_claim(arena_id, second["claim_id"])), ClaimLost)
    assert isinstance(raised(lambda: bob.release_claim(arena_id, second["claim_id"])), ClaimLost)
    assert ana.claim_next_step(arena_id)["claim"]["step"] == 2
    assert bob.claim_next_step(arena_id)["claim"]["step"] == 3
    assert lead.claim_next_step(arena_id) == {
        "claim": None,
        "remaining": 2,
        "claimed": 2,
        "blocked": 0,
    }

    types = [e["type"] for e in lead.list_events(arena_id, after=0, limit=500)["events"]]
    assert types.count("step_claimed") == 4 and types.count("claim_released") == 1


def test_people_answer_questions_and_review_steps(live_server, tokens):
    keys = tokens("lead", "ana")
    lead, ana = (
        ArenaClient(live_server.url, keys["lead"]),
        ArenaClient(live_server.url, keys["ana"]),
    )
    arena_id = lead.create_arena(
        goal="Ask first",
        plan=[{"title": "Draft", "review": True}, {"title": "Publish", "depends_on": [1]}],
        participants=[{"agent_id": "ana", "role": "worker"}],
    )["id"]
    lead.transition(arena_id, "activate")

    question = ana.ask_people(arena_id, "Which venue?", choices=["lake", "city"])
    assert (question["kind"], question["status"], question["answer"]) == ("question", "open", None)
    assert [r["id"] for r in lead.list_requests(arena_id)["results"]] == [question["id"]]
    assert question["id"] in [r["id"] for r in lead.list_all_requests(status="open")["results"]]
    answered = lead.answer_request(arena_id, question["id"], choice="lake")
    assert answered["status"] == "answered"
    assert (answered["answer"]["choice"], answered["answer"]["by"]) == ("lake", "lead")
    closed = raised(lambda: lead.answer_request(arena_id, question["id"], choice="city"))
    assert isinstance(closed, RequestClosed) and closed.status == 409
    withdrawn = ana.ask_people(arena_id, "Anything else?")
    assert ana.cancel_request(arena_id, withdrawn["id"]) is None
    assert isinstance(
        raised(lambda: lead.answer_request(arena_id, withdrawn["id"], text="no")), RequestClosed
    )

    assert ENDPOINTS["complete_step"].results == {201: StepResult, 202: ReviewOpened}
    assert lead.get_plan(arena_id, limit=1)["results"][0]["review"] == "required"
    claim = ana.claim_step(arena_id, 1)["claim"]
    submitted = ana.complete_step(arena_id, 1, claim_id=claim["claim_id"])
    assert "request" in submitted and "aggregate" not in submitted
    # The 202 answer has the fields of its type, ReviewOpened: {request, event}.
    assert set(submitted) == ReviewOpened.__required_keys__
    assert set(submitted["request"]) == PeopleRequest.__required_keys__
    assert lead.list_claims(arena_id)["results"] == []  # the submission ended the claim
    review = submitted["request"]
    assert (review["kind"], review["step"], review["choices"]) == (
        "review",
        1,
        ["approve", "reject"],
    )
    assert submitted["event"]["type"] == "input_requested"
    assert isinstance(raised(lambda: ana.complete_step(arena_id, 1)), ReviewPending)
    assert isinstance(raised(lambda: ana.claim_step(arena_id, 1)), ReviewPending)
    assert lead.get_plan(arena_id, limit=1)["results"][0]["review"] == "pending"
    assert lead.claim_next_step(arena_id) == {  # step 2 waits for step 1
        "claim": None,
        "remaining": 2,
        "claimed": 0,
        "blocked": 1,
    }

    lead.answer_request(arena_id, review["id"], choice="approve")
    step_one = lead.get_plan(arena_id, limit=1)["results"][0]
    assert step_one["completed"] and step_one["review"] == "approved"
    assert step_one["review"] in typing.get_args(ReviewStateEnum)
    events = lead.list_events(arena_id, after=0, limit=500)["events"]
    approval = [e for e in events if e["type"] == "step_completed"]
    assert [(e["step"], e["agent_id"], e["actor"]) for e in approval] == [(1, "ana", "lead")]
    kinds = [e["type"] for e in events]
    assert kinds.count("input_requested") == 3 and kinds.count("input_provided") == 2
    assert kinds.count("input_cancelled") == 1
