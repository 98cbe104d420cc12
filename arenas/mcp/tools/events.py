"""Following the arena: `wait_for_events`, woken by the process's doorbells."""

from __future__ import annotations

from typing import Any

from arenas.errors import Invalid
from arenas.events import to_wire
from arenas.mcp import schemas as s
from arenas.stream import waits

from ..registry import Caller, Once, Reply, in_thread, tool


@tool(
    "wait_for_events",
    "Wait for events",
    "Wait for the arena's events after `after` (of `types`, if given); continue from "
    "`next_after`. Use it instead of polling.",
    properties={
        "arena_id": s.ARENA_ID,
        "after": s.AFTER_SEQ,
        "timeout_seconds": s.TIMEOUT,
        "types": s.TYPES,
    },
    required=("arena_id", "after"),
    read_only=True,
)
async def wait_for_events(
    caller: Caller,
    arena_id: Any,
    after: Any,
    timeout_seconds: Any = waits.WAIT_DEFAULT_SECONDS,
    types: Any = None,
) -> Reply:
    handle = caller.arena(arena_id)
    try:
        request = waits.WaitRequest.parse(after, timeout_seconds, types)
    except Invalid:
        await in_thread(handle.require_visible)
        raise

    def read(after: int) -> list[dict[str, Any]]:
        """The log past `after`; first NotFound if the caller may not (or no longer) see
        the arena. The first read decides it: a caller who may not is refused before it
        waits (having joined nothing for longer than that read)."""
        return [to_wire(event) for event in handle.events(after, waits.PAGE)]

    answer = await waits.wait_for_events(handle.arena_id, request, lambda a: in_thread(read, a))
    if isinstance(answer, waits.Shared):
        return _shared_events_reply(answer)
    return events_reply(answer)


def events_reply(answer: dict[str, Any], shared: bool = False) -> Reply:
    events = answer["events"]
    if not events:
        return Reply(f"No new events; next_after={answer['next_after']}.", answer, shared)
    kinds = ", ".join(sorted({event["type"] for event in events}))
    return Reply(
        f"{len(events)} event(s) ({kinds}), seq {events[0]['seq']}–{events[-1]['seq']}; "
        f"next_after={answer['next_after']}.",
        answer,
        shared,
    )


# The reply of an answer that a doorbell brought to every wait of its arena, made once.
_shared_events_reply = Once(lambda answer: events_reply(answer, shared=True))
