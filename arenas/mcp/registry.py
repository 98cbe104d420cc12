"""The registry of the MCP tools and how a call runs: a tool is a function registered with
`@tool`: its name, a description written for a language model, and the JSON Schema of its
arguments (`schemas.py`, from the domain's limits). `call` runs it for the calling agent.
The domain checks everything, in the REST API's order: visibility (404), permission (403),
state (409), values (400); a refusal is raised as the domain's error and becomes a tool error
in `server.py`. The only checks made here are those of any JSON arguments: no unknown
argument, no required one missing (null counts as left out for an optional argument). A
refused argument of a call on an arena the caller cannot see is reported as `not_found`, as
the REST API does.

Database work runs in a worker thread (`in_thread`) and gives its connection back when it
returns, so no connection is held while a call waits.
"""

from __future__ import annotations

import inspect
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from channels.db import database_sync_to_async

from arenas import operations
from arenas.errors import Invalid
from arenas.handle import ArenaHandle
from arenas.manager import ArenaManager
from arenas.mcp import schemas as s
from arenas.models import Agent

manager = ArenaManager()


@dataclass(frozen=True)
class Reply:
    """A tool's answer: a short text for the model and the JSON of the REST API. A shared
    reply is the same object for many calls (`wait_for_events` woken by one doorbell): what
    is made of it is made once (`once`), and nothing may change it."""

    text: str
    data: dict[str, Any]
    shared: bool = field(default=False, compare=False)


class Once:
    """What `make` makes of each of the last `size` objects given, made once per object
    (known by identity; each is held while remembered, so its id stays its own)."""

    def __init__(self, make: Callable[[Any], Any], size: int = 64) -> None:
        self._make = make
        self._size = size
        self._made: OrderedDict[int, tuple[Any, Any]] = OrderedDict()

    def __call__(self, given: Any) -> Any:
        known = self._made.get(id(given))
        if known is not None and known[0] is given:
            return known[1]
        made = self._make(given)
        self._made[id(given)] = (given, made)
        while len(self._made) > self._size:
            self._made.popitem(last=False)
        return made


@dataclass(frozen=True)
class Tool:
    name: str
    title: str
    description: str
    run: Callable[..., Reply | Awaitable[Reply]]
    properties: dict[str, s.Schema] = field(default_factory=dict)
    required: tuple[str, ...] = ()
    read_only: bool = False

    @property
    def input_schema(self) -> s.Schema:
        """The arguments' JSON Schema. An unknown argument is refused (`invalid`, naming
        it) by `arguments`; the schema does not repeat it, to keep `tools/list` short."""
        schema: s.Schema = {"type": "object", "properties": self.properties}
        if self.required:
            schema["required"] = list(self.required)
        return schema

    def arguments(self, given: dict[str, Any]) -> dict[str, Any]:
        """The arguments to call `run` with: Invalid for an unknown or missing one."""
        problems = {name: ["Unknown argument."] for name in given if name not in self.properties}
        problems.update(
            {name: ["This argument is required."] for name in self.required if name not in given}
        )
        if problems:
            raise Invalid(problems)
        return {k: v for k, v in given.items() if v is not None or k in self.required}

    @property
    def errors(self) -> tuple[str, ...]:
        """The error codes a call can be refused with: `invalid` (an unknown or missing
        argument, any tool), then those of the handle's operations it runs, from the
        catalogue (arenas/operations.py). `schemas.ADVICE` says what each means."""
        called = [o.name for o in operations.of_tool(self.name)]
        return tuple(dict.fromkeys(("invalid", *operations.codes(*called))))


TOOLS: dict[str, Tool] = {}


def tool(
    name: str,
    title: str,
    description: str,
    *,
    properties: dict[str, s.Schema] | None = None,
    required: tuple[str, ...] = (),
    read_only: bool = False,
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register a tool: `run(caller, **arguments) -> Reply` (or a coroutine of one)."""

    def register(run: Callable[..., Any]) -> Callable[..., Any]:
        TOOLS[name] = Tool(name, title, description, run, properties or {}, required, read_only)
        return run

    return register


class Caller:
    """The agent a call is made for."""

    def __init__(self, agent: Agent) -> None:
        self.agent = agent
        self.agent_id = agent.agent_id

    def arena(self, arena_id: Any) -> ArenaHandle:
        """The caller's handle on the arena. Visibility is checked by its operation."""
        return manager.handle(arena_id, self.agent_id, check_now=False)

    def refuse_unseen_arena(self, tool: Tool, given: dict[str, Any]) -> None:
        """NotFound if the call names an arena the caller cannot see: said before any
        refusal of its other arguments, so such a refusal cannot reveal an arena."""
        if "arena_id" in tool.properties and "arena_id" in given:
            self.arena(given["arena_id"]).require_visible()

    def invoke(self, tool: Tool, given: dict[str, Any]) -> Reply:
        try:
            return tool.run(self, **tool.arguments(given))
        except Invalid:
            self.refuse_unseen_arena(tool, given)
            raise


def in_thread(function: Callable[..., Any], *args: Any) -> Awaitable[Any]:
    """Run `function` in a worker thread; its database connection is closed (or returned to
    the pool) when it returns."""
    return database_sync_to_async(function, thread_sensitive=False)(*args)


async def call(name: str, agent: Agent, given: dict[str, Any]) -> Reply:
    """Run the tool `name` (one of TOOLS) for `agent`; a refusal raises the domain's error."""
    tool_ = TOOLS[name]
    caller = Caller(agent)
    if not inspect.iscoroutinefunction(tool_.run):
        return await in_thread(caller.invoke, tool_, given)
    try:
        arguments = tool_.arguments(given)
    except Invalid:
        await in_thread(caller.refuse_unseen_arena, tool_, given)
        raise
    return await tool_.run(caller, **arguments)


def page(noun: str, results: list[dict[str, Any]], following: str | None) -> Reply:
    more = " More with next_cursor." if following else ""
    return Reply(f"{len(results)} {noun}.{more}", {"results": results, "next_cursor": following})
