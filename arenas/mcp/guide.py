"""The prompt `work_in_arena` and the resource `arena://{arena_id}` (SPEC §9).

The prompt tells a model how to work in one arena with the tools this server has: it is
written from the tool registry, so a tool that is added (claims, questions for people)
adds its paragraph, and a paragraph never names a tool the server lacks.
"""

from __future__ import annotations

import json
from typing import Any

from .tools import TOOLS, Caller, manager

PROMPT = "work_in_arena"
PROMPT_DESCRIPTION = (
    "How to work in an arena with this server's tools: take a step, do it, publish the "
    "result, complete the step, keep the others informed, and follow the arena's feed."
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
        for arena_id in manager.active_arenas_for(caller.agent_id)
    ]


def _has(*names: str) -> bool:
    return all(name in TOOLS for name in names)


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
        f"completed; newest event seq {arena['last_seq']}.",
        f"Participants: {', '.join(members)}.",
        f"Your permissions: {', '.join(allowed)}.",
        "",
        "How to work here, with this server's tools (always pass the arena_id above):",
        "1. Look around: get_arena shows the state and who does what; get_plan lists the "
        "steps, their assignees, dependencies and which are completed; list_artifacts and "
        "search_facts show what the others produced and found out.",
    ]
    if _has("claim_next_step", "renew_claim", "release_claim"):
        lines.append(
            "2. Take a step: claim_next_step holds the lowest step you may do for you alone "
            "for a while (a lease). While you work on it longer than the lease, call "
            "renew_claim before it runs out; if you give it up, release_claim. A claim that "
            "lapses goes to someone else, and completing with its claim_id then fails with "
            "claim_lost: drop that result."
        )
    else:
        lines.append(
            "2. Take a step: pick one that is not completed, whose dependencies are "
            "completed, and that is assigned to you or to no one. Say which one you take "
            "with report_progress, so the others pick another."
        )
    lines += [
        "3. Do the work. Keep report_progress up to date (`current`: what you are doing, "
        "a few words) so people see it live.",
        "4. Publish what you produced with publish_artifact (text, code, a file's content, or "
        "structured data), and share what you found out that others need with share_fact.",
        "5. Complete the step with complete_step"
        + (" (with its claim_id)" if _has("claim_next_step") else "")
        + ". step_already_completed means someone else did it: do not redo it, take "
        "another. step_blocked means a step it depends on is not done yet.",
    ]
    if _has("ask_people"):
        lines.append(
            "6. When you need a decision or an answer only a person can give, ask_people "
            "(with choices when there are a few answers); the answer comes on the feed as "
            "an input_provided event. Go on with other work meanwhile."
        )
    else:
        lines.append(
            "6. When you need something from the others or from the people watching, say so "
            "with post_message (`to` addresses one agent); answers come on the feed."
        )
    lines += [
        "7. Follow the arena: wait_for_events with after = the newest seq you have seen "
        f"({arena['last_seq']} now) answers as soon as something happens (a step completed, "
        "an artifact published, a message, a state change); call it again with after = "
        "next_after. Use it whenever you would otherwise poll or have nothing to do.",
        "8. Repeat from 2 until every step is completed or the arena leaves the active state."
        + (
            " Then, as coordinator: merge_artifacts into one result, and transition settle, "
            "then archive (the arena's facts go to long-term memory, search_memory)."
            if you["role"] == "coordinator"
            else ""
        ),
        "",
        "A refused call answers an error whose text starts with its code (for example "
        "`not_found:` or `arena_not_active:`), followed by what it means; each tool's "
        "description says what to do about its codes.",
    ]
    return "\n".join(lines)
