"""The prompt `work_in_arena` and the resource `arena://{arena_id}`.

The prompt tells a model how to work in one arena with the tools this server has: claim a
step, do it, publish, complete it with its claim id, renew long work, ask people and wait
for the answer, follow the feed. A test checks that every tool it names exists.
"""

from __future__ import annotations

import json
from typing import Any

from .registry import Caller, manager
from .schemas import ADVICE

PROMPT = "work_in_arena"
PROMPT_DESCRIPTION = (
    "How to work in an arena with this server's tools: claim a step, do it, publish the "
    "result, complete the step with its claim, renew long work, ask people, and follow "
    "the arena's feed."
)
RESOURCE_SCHEME = "arena://"
RESOURCE_TEMPLATE = RESOURCE_SCHEME + "{arena_id}"
RESOURCE_DESCRIPTION = "An arena as get_arena shows it: goal, state, progress, participants."
JSON = "application/json"


def arena_json(caller: Caller, arena_id: Any) -> str:
    """The resource's text: the arena as get_arena answers it (NotFound if not visible)."""
    return json.dumps(caller.arena(arena_id).detail(), ensure_ascii=False)


def arena_resources(caller: Caller) -> list[tuple[str, str]]:
    """(uri, name) of the caller's arenas that are not archived, ascending by id."""
    return [
        (RESOURCE_SCHEME + str(arena_id), f"Arena {arena_id}")
        for arena_id in manager.unarchived_arena_ids(caller.agent_id)
    ]


def work_in_arena(caller: Caller, arena_id: Any) -> str:
    """The prompt's text for the caller and the arena (NotFound if not visible)."""
    arena = caller.arena(arena_id).detail()
    you = arena["you"]
    allowed = [name for name, value in you["permissions"].items() if value] or ["none"]
    members = [f"{p['agent_id']} ({p['role']})" for p in arena["participants"]]
    lines = [
        f"You are the agent `{caller.agent_id}`, {you['role']} in an Aleph Arena arena: several "
        "agents work on one goal there while people watch and steer.",
        "",
        f"Arena: {arena['id']}",
        f"Goal: {arena['goal']}",
        f"State: {arena['status']}; {arena['completed_steps']} of {arena['total_steps']} steps "
        f"completed; newest event seq {arena['last_seq']}; a claim holds "
        f"{arena['lease_seconds']} s unless renewed.",
        f"Participants: {', '.join(members)}.",
        f"Your permissions: {', '.join(allowed)}.",
        "",
        "How to work here, with this server's tools (always pass the arena_id above):",
        "1. Look around: get_arena shows the state and who does what; get_plan lists the "
        "steps, their assignees, dependencies, claims and which are completed; list_artifacts "
        "and search_facts show what the others produced and found out.",
        "2. Claim a step: claim_next_step holds the lowest step you may do for you alone for "
        "a while (a lease) and answers its `step` and `claim_id`. If it answers claim null, "
        "no step is free now: with none remaining and none claimed the plan is done; else "
        "wait_for_events with types step_completed, claim_released and claim_expired, then "
        "claim again.",
        "3. Do the work. Keep report_progress up to date (`current`: what you are doing, a "
        "few words) so people see it live. While the work takes longer than the lease, call "
        "renew_claim with the claim_id before `expires_at`; if you give the step up, "
        "release_claim so another agent takes it.",
        "4. Publish what you produced with publish_artifact (text, code, a file's content, or "
        "structured data), and share what you found out that others need with share_fact.",
        "5. Complete the step with complete_step, giving its step and claim_id. claim_lost "
        "means your lease lapsed and the step may be someone else's now: drop that result "
        "and claim again. step_claimed means another agent holds it; step_already_completed "
        "that someone did it: take another. A step a person reviews is submitted for review "
        "instead; its approval comes as step_completed, a rejection as input_provided with "
        "choice reject (then do it again).",
        "6. When you need a decision or an answer only a person can give, ask_people (with "
        "choices when there are a few answers). It answers the request's id; the answer "
        "comes on the feed as an input_provided event with that request_id (its choice and "
        "text): wait_for_events with types input_provided until it arrives, doing other "
        "work meanwhile if you can. Use post_message for what the other agents should know "
        "(`to` addresses one).",
        "7. Follow the arena: wait_for_events with after = the newest seq you have seen "
        f"({arena['last_seq']} now) answers as soon as something happens (a step claimed or "
        "completed, an artifact published, a message, an answer, a state change); call it "
        "again with after = next_after. Use it whenever you would otherwise poll or have "
        "nothing to do.",
        "8. Repeat from 2 until every step is completed or the arena leaves the active state."
        + (
            " Then, as coordinator: merge_artifacts into one result, and transition settle, "
            "then archive (the arena's facts go to long-term memory, search_memory)."
            if you["role"] == "coordinator"
            else ""
        ),
        "",
        "A refused call answers an error whose text starts with its code (for example "
        "`not_found:` or `claim_lost:`). What each code means and what to do:",
        *(f"- {code}: {advice}" for code, advice in ADVICE.items()),
    ]
    return "\n".join(lines)
