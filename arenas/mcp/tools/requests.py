"""Tools of asking people: questions, the arena's requests, cancelling, answering."""

from __future__ import annotations

from typing import Any

from arenas.doors.pages import NEWEST_FIRST, keyset_page
from arenas.events import to_wire
from arenas.mcp import schemas as s
from arenas.representations import (
    request_dict,
)

from ..registry import Caller, Reply, page, tool


@tool(
    "ask_people",
    "Ask people",
    "Ask the people watching a question only a person can answer; the answer comes as "
    "input_provided with the request's id (wait_for_events).",
    properties={
        "arena_id": s.ARENA_ID,
        "text": s.QUESTION,
        "choices": s.CHOICES,
        "step": s.ASKED_STEP,
    },
    required=("arena_id", "text"),
)
def ask_people(
    caller: Caller, arena_id: Any, text: Any, choices: Any = None, step: Any = None
) -> Reply:
    asked = request_dict(caller.arena(arena_id).ask(text, choices, step))
    return Reply(
        f"Asked people (request {asked['id']}). The answer comes as an input_provided event "
        f'with request_id {asked["id"]}: wait_for_events with types ["input_provided"].',
        asked,
    )


@tool(
    "list_requests",
    "List requests for people",
    "The arena's questions and reviews for people, newest first, with answers.",
    properties={"arena_id": s.ARENA_ID, "status": s.REQUEST_STATUS, "cursor": s.CURSOR},
    required=("arena_id",),
    read_only=True,
)
def list_requests(caller: Caller, arena_id: Any, status: Any = None, cursor: Any = None) -> Reply:
    listed = caller.arena(arena_id).requests(status)
    return page("request(s)", *keyset_page(listed, NEWEST_FIRST, request_dict, cursor=cursor))


@tool(
    "cancel_request",
    "Cancel a request",
    "Withdraw an open question you asked.",
    properties={"arena_id": s.ARENA_ID, "request_id": s.REQUEST_ID},
    required=("arena_id", "request_id"),
)
def cancel_request(caller: Caller, arena_id: Any, request_id: Any) -> Reply:
    event = to_wire(caller.arena(arena_id).cancel_request(request_id))
    return Reply(f"Cancelled request {event['request_id']}.", event)


@tool(
    "answer_request",
    "Answer a request",
    "Coordinators: answer another agent's open question or review in a person's stead.",
    properties={
        "arena_id": s.ARENA_ID,
        "request_id": s.REQUEST_ID,
        "choice": s.ANSWER_CHOICE,
        "text": s.ANSWER_TEXT,
    },
    required=("arena_id", "request_id"),
)
def answer_request(
    caller: Caller, arena_id: Any, request_id: Any, choice: Any = None, text: Any = None
) -> Reply:
    answered = request_dict(caller.arena(arena_id).answer_request(request_id, choice, text))
    return Reply(f"Answered request {answered['id']} of {answered['agent_id']}.", answered)
