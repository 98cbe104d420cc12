"""Tools of usage and budgets."""

from __future__ import annotations

from typing import Any

from arenas.events import to_wire
from arenas.mcp import schemas as s
from arenas.usage import report_dict

from ..registry import Caller, Reply, tool


@tool(
    "report_usage",
    "Report usage",
    "Record what your model calls used (input tokens include cached ones); without "
    "`cost_usd` the server prices it from `model`. Never refused for being over budget.",
    properties={
        "arena_id": s.ARENA_ID,
        "model": s.MODEL,
        "input_tokens": s.token_count("Input tokens, cached ones included."),
        "output_tokens": s.token_count("Output tokens."),
        "cached_input_tokens": s.token_count("Of the input tokens, those read from cache."),
        "calls": s.token_count("Model calls (default 1).", minimum=1),
        "cost_usd": s.MONEY,
        "step": s.USAGE_STEP,
    },
    required=("arena_id", "model", "input_tokens", "output_tokens"),
)
def report_usage(caller: Caller, arena_id: Any, **values: Any) -> Reply:
    row, event = caller.arena(arena_id).report_usage(values)
    wire = to_wire(event)
    cost = wire["cost_usd"] if wire["priced"] else "unpriced"
    return Reply(
        f"Recorded {wire['input_tokens']}+{wire['output_tokens']} tokens ({cost}); the arena "
        f"has spent ${wire['totals']['cost_usd']}.",
        {"usage": report_dict(row), "event": wire},
    )


@tool(
    "get_budget",
    "Read the budget",
    "The budget, what the arena and you spent, what remains, and the exhausted scopes. "
    "Check it before an expensive call.",
    properties={"arena_id": s.ARENA_ID},
    required=("arena_id",),
    read_only=True,
)
def get_budget(caller: Caller, arena_id: Any) -> Reply:
    state = caller.arena(arena_id).budget()
    exhausted = ", ".join(state["exhausted"]) or "none"
    return Reply(f"Spent ${state['spent']['arena']['cost_usd']}; exhausted: {exhausted}.", state)
