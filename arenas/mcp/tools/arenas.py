"""Tools of you and your arenas: who you are, your arenas, creating, reading, the plan,
participants, lifecycle, forks."""

from __future__ import annotations

from typing import Any

from arenas.doors.pages import NEWEST_FIRST, keyset_page
from arenas.inputs import PAGE_DEFAULT
from arenas.mcp import schemas as s
from arenas.representations import (
    arena_fields,
    me_dict,
    participant_dict,
)

from ..registry import Caller, Reply, manager, page, tool


def arena_reply(detail: dict[str, Any], verb: str = "") -> Reply:
    you = detail["you"]["role"]
    return Reply(
        f"Arena {detail['id']}{verb}: {detail['status']}, {detail['completed_steps']} of "
        f"{detail['total_steps']} steps completed, {len(detail['participants'])} "
        f"participant(s); you are {you}. Goal: {detail['goal']}",
        detail,
    )


@tool(
    "whoami",
    "Who am I",
    "Your agent id and the arenas you take part in that are not archived. Call it first.",
    read_only=True,
)
def whoami(caller: Caller) -> Reply:
    me = me_dict(caller.agent, manager.unarchived_arena_ids(caller.agent_id))
    return Reply(f"You are {me['agent_id']}, in {len(me['active_arenas'])} active arena(s).", me)


@tool(
    "list_arenas",
    "List your arenas",
    "Your arenas, newest first.",
    properties={"status": s.STATUS, "cursor": s.CURSOR},
    read_only=True,
)
def list_arenas(caller: Caller, status: Any = None, cursor: Any = None) -> Reply:
    arenas = manager.current_arenas(caller.agent_id, status)
    return page("arena(s)", *keyset_page(arenas, NEWEST_FIRST, arena_fields, cursor=cursor))


@tool(
    "create_arena",
    "Create an arena",
    "Start an arena for a goal; you coordinate it. It starts `created`: transition "
    "`activate` to begin work.",
    properties={
        "goal": s.GOAL,
        "strategy": s.STRATEGY,
        "total_steps": s.TOTAL_STEPS,
        "plan": s.PLAN,
        "participants": s.PARTICIPANTS,
        "lease_seconds": s.ARENA_LEASE,
        "budget": s.BUDGET,
    },
    required=("goal",),
)
def create_arena(caller: Caller, **config: Any) -> Reply:
    arena_id = manager.create(config, created_by=caller.agent_id)
    return arena_reply(caller.arena(arena_id).detail(), " created")


@tool(
    "get_arena",
    "Read an arena",
    "An arena: goal, state, progress, participants, `last_seq`, and `you` (your role and "
    "permissions).",
    properties={"arena_id": s.ARENA_ID},
    required=("arena_id",),
    read_only=True,
)
def get_arena(caller: Caller, arena_id: Any) -> Reply:
    return arena_reply(caller.arena(arena_id).detail())


@tool(
    "get_plan",
    "Read the plan",
    "The arena's steps: title, assignee, dependencies, completion, live claim, review.",
    properties={"arena_id": s.ARENA_ID, "after": s.AFTER_STEP},
    required=("arena_id",),
    read_only=True,
)
def get_plan(caller: Caller, arena_id: Any, after: Any = 0) -> Reply:
    steps, following = caller.arena(arena_id).steps(after, PAGE_DEFAULT)
    done = sum(step["completed"] for step in steps)
    more = f" More with after={following}." if following is not None else ""
    return Reply(
        f"{len(steps)} step(s), {done} of them completed.{more}",
        {"results": steps, "next_after": following},
    )


@tool(
    "add_participant",
    "Add a participant",
    "Coordinators: add an agent with a role.",
    properties={
        "arena_id": s.ARENA_ID,
        "agent_id": s.AGENT_ID,
        "role": s.ROLE,
        **s.PERMISSION_FLAGS,
    },
    required=("arena_id", "agent_id", "role"),
)
def add_participant(
    caller: Caller, arena_id: Any, agent_id: Any, role: Any, **overrides: Any
) -> Reply:
    joined = caller.arena(arena_id).add_participant(agent_id, role, **overrides)
    return Reply(f"{joined.agent_id} joined as {joined.role}.", participant_dict(joined))


@tool(
    "transition",
    "Move the arena's lifecycle",
    "Coordinators: activate (work begins), settle (work ends), archive (facts go to "
    "long-term memory; read-only after).",
    properties={"arena_id": s.ARENA_ID, "action": s.ACTION},
    required=("arena_id", "action"),
)
def transition(caller: Caller, arena_id: Any, action: Any) -> Reply:
    handle = caller.arena(arena_id)
    handle.act(action)
    return arena_reply(handle.detail(), f" {action}d")


@tool(
    "fork_arena",
    "Fork the arena",
    "Coordinators: a new arena (created) from this one as it was right after event `at`, "
    "to retry from there; plan, participants, completed steps, artifacts and facts carry "
    "over, claims and open requests do not.",
    properties={"arena_id": s.ARENA_ID, "at": s.AT_SEQ, "goal": s.GOAL},
    required=("arena_id", "at"),
)
def fork_arena(caller: Caller, arena_id: Any, at: Any, goal: Any = None) -> Reply:
    fork = caller.arena(arena_id).fork(at, goal)
    return arena_reply(caller.arena(fork.pk).detail(), f" forked at seq {at}")
