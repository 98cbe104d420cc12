"""Tools of shared memory and messages: facts, long-term memory, posting a message."""

from __future__ import annotations

from typing import Any

from arenas.doors.pages import OLDEST_FIRST, keyset_page
from arenas.events import to_wire
from arenas.mcp import schemas as s
from arenas.representations import (
    fact_dict,
)

from ..registry import Caller, Reply, manager, page, tool


@tool(
    "share_fact",
    "Share a fact",
    "Share a finding with a confidence; archiving keeps it in long-term memory.",
    properties={
        "arena_id": s.ARENA_ID,
        "content": s.FACT_CONTENT,
        "confidence": s.CONFIDENCE,
        "tags": s.TAGS,
    },
    required=("arena_id", "content", "confidence"),
)
def share_fact(
    caller: Caller, arena_id: Any, content: Any, confidence: Any, tags: Any = None
) -> Reply:
    fact = caller.arena(arena_id).share_fact(content, confidence, tags)
    return Reply(f"Shared fact {fact.id}.", fact_dict(fact))


@tool(
    "search_facts",
    "Search the arena's facts",
    "The arena's facts, by exact `tag` or text `q`.",
    properties={"arena_id": s.ARENA_ID, "q": s.QUERY, "tag": s.TAG, "cursor": s.CURSOR},
    required=("arena_id",),
    read_only=True,
)
def search_facts(
    caller: Caller, arena_id: Any, q: Any = None, tag: Any = None, cursor: Any = None
) -> Reply:
    facts = caller.arena(arena_id).facts(tag, q)
    return page("fact(s)", *keyset_page(facts, OLDEST_FIRST, fact_dict, cursor=cursor))


@tool(
    "search_memory",
    "Search long-term memory",
    "Facts of archived arenas you took part in, by exact `tag` or text `q`.",
    properties={"q": s.QUERY, "tag": s.TAG, "cursor": s.CURSOR},
    read_only=True,
)
def search_memory(caller: Caller, q: Any = None, tag: Any = None, cursor: Any = None) -> Reply:
    facts = manager.memory_facts(caller.agent_id, tag, q)
    return page("fact(s)", *keyset_page(facts, OLDEST_FIRST, fact_dict, cursor=cursor))


@tool(
    "post_message",
    "Post a message",
    "Post a message to the arena; `to` addresses one agent.",
    properties={"arena_id": s.ARENA_ID, "text": s.MESSAGE, "to": s.AGENT_ID},
    required=("arena_id", "text"),
)
def post_message(caller: Caller, arena_id: Any, text: Any, to: Any = None) -> Reply:
    event = to_wire(caller.arena(arena_id).post_message(text, to))
    return Reply(f"Posted as event {event['seq']}.", event)
