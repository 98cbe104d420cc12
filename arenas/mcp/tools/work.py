"""Tools of your slot's work: claiming steps, renewing and releasing claims, completing a
step, reporting progress."""

from __future__ import annotations

from typing import Any

from arenas.claims import Vacancy
from arenas.events import to_wire
from arenas.mcp import schemas as s
from arenas.models import Claim, Event
from arenas.representations import (
    claim_result,
    no_claim,
    participant_dict,
    review_opened,
    step_result,
)

from ..registry import Caller, Reply, tool


def claim_reply(claim: Claim, event: Event | None) -> Reply:
    """A claim taken (`event` its step_claimed) or renewed (`event` None)."""
    data = claim_result(claim, event)
    held = data["claim"]
    verb = "You hold" if event is not None else "Renewed: you hold"
    return Reply(
        f"{verb} step {held['step']} until {held['expires_at']} (claim_id {held['claim_id']}). "
        f"When it is done, complete_step with step={held['step']} and "
        f"claim_id={held['claim_id']}; renew_claim before it expires if the work takes longer.",
        data,
    )


@tool(
    "claim_next_step",
    "Claim the next step",
    "Claim the lowest step you may do now, for a lease; then complete_step with its "
    "claim_id. `claim: null`: none is free; none `remaining` or `claimed` means the plan is "
    "done, else wait_for_events and retry.",
    properties={"arena_id": s.ARENA_ID, "lease_seconds": s.LEASE},
    required=("arena_id",),
)
def claim_next_step(caller: Caller, arena_id: Any, lease_seconds: Any = None) -> Reply:
    outcome = caller.arena(arena_id).claim_next(lease_seconds)
    if not isinstance(outcome, Vacancy):
        return claim_reply(*outcome)
    if outcome.remaining == 0:
        return Reply("No step to claim: every step is completed.", no_claim(outcome))
    return Reply(
        f"No step can be claimed now: {outcome.remaining} not completed, {outcome.claimed} "
        f"held by live claims, {outcome.blocked} waiting for dependencies. Call "
        "wait_for_events with types step_completed, claim_released and claim_expired, then "
        "claim_next_step again.",
        no_claim(outcome),
    )


@tool(
    "claim_step",
    "Claim a step",
    "Claim one given step for a lease (claiming it again renews).",
    properties={"arena_id": s.ARENA_ID, "step": s.STEP, "lease_seconds": s.LEASE},
    required=("arena_id", "step"),
)
def claim_step(caller: Caller, arena_id: Any, step: Any, lease_seconds: Any = None) -> Reply:
    return claim_reply(*caller.arena(arena_id).claim_step(step, lease_seconds))


@tool(
    "renew_claim",
    "Renew a claim",
    "Extend your claim's lease before `expires_at` while you still work.",
    properties={"arena_id": s.ARENA_ID, "claim_id": s.CLAIM_ID, "lease_seconds": s.LEASE},
    required=("arena_id", "claim_id"),
)
def renew_claim(caller: Caller, arena_id: Any, claim_id: Any, lease_seconds: Any = None) -> Reply:
    return claim_reply(caller.arena(arena_id).renew_claim(claim_id, lease_seconds), None)


@tool(
    "release_claim",
    "Release a claim",
    "Give back a step you will not complete.",
    properties={"arena_id": s.ARENA_ID, "claim_id": s.CLAIM_ID},
    required=("arena_id", "claim_id"),
)
def release_claim(caller: Caller, arena_id: Any, claim_id: Any) -> Reply:
    event = to_wire(caller.arena(arena_id).release_claim(claim_id))
    return Reply(f"Released claim {event['claim_id']}: step {event['step']} is free.", event)


@tool(
    "complete_step",
    "Complete a step",
    "Mark a step done (publish its result first), with your claim_id. A review step goes to "
    "a person: approval comes as step_completed, rejection as input_provided.",
    properties={"arena_id": s.ARENA_ID, "step": s.STEP, "claim_id": s.CLAIM_ID},
    required=("arena_id", "step"),
)
def complete_step(caller: Caller, arena_id: Any, step: Any, claim_id: Any = None) -> Reply:
    done = caller.arena(arena_id).complete_step(step, claim_id)
    if done.request is not None:
        return Reply(
            f"Step {step} is submitted for review (request {done.request.id}): a person "
            "approves or rejects it. Wait for input_provided with wait_for_events.",
            review_opened(done.request, done.event),
        )
    result = step_result(done.event, done.aggregate)
    aggregate = result["aggregate"]
    return Reply(
        f"Step {result['event']['step']} completed: {aggregate['completed_steps']} of "
        f"{aggregate['total_steps']} steps done.",
        result,
    )


@tool(
    "report_progress",
    "Report progress",
    "Tell everyone what you are doing (`current`) and your slot's state.",
    properties={"arena_id": s.ARENA_ID, "current": s.CURRENT, "slot_status": s.SLOT_STATUS},
    required=("arena_id",),
)
def report_progress(
    caller: Caller, arena_id: Any, current: Any = None, slot_status: Any = None
) -> Reply:
    me = caller.arena(arena_id).report_progress(current, slot_status)
    return Reply(f"Your slot is {me.slot_status}: {me.current}", participant_dict(me))
