"""The MCP tools: each one a few lines over the same `ArenaManager` and
`ArenaHandle` operations as the REST views, answering the same JSON (`representations`,
`events.to_wire`) with a short text for the model.

A tool is a function registered with `@tool`: its name, a description written for a
language model, and the JSON Schema of its arguments (`schemas.py`, from the domain's
limits). `call` runs it for the calling agent. The domain checks everything, in the REST
API's order: visibility (404), permission (403), state (409), values (400); a refusal is
raised as the domain's error and becomes a tool error in `server.py`. The only checks made
here are those of any JSON arguments: no unknown argument, no required one missing (null
counts as left out for an optional argument). A refused argument of a call on an arena the
caller cannot see is reported as `not_found`, as the REST API does.

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

from arenas.api.pagination import NEWEST_FIRST, OLDEST_FIRST, keyset_page
from arenas.claims import Vacancy
from arenas.errors import Invalid
from arenas.events import to_wire
from arenas.handle import ArenaHandle
from arenas.inputs import PAGE_DEFAULT
from arenas.live import waits
from arenas.manager import ArenaManager
from arenas.models import Agent, Claim, Event
from arenas.representations import (
    arena_fields,
    artifact_dict,
    claim_result,
    fact_dict,
    me_dict,
    no_claim,
    participant_dict,
    request_dict,
    review_opened,
    step_result,
)
from arenas.usage import report_dict

from . import schemas as s

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

    def reveal(self, tool: Tool, given: dict[str, Any]) -> None:
        """NotFound if the call names an arena the caller cannot see: said before any
        refusal of its other arguments, so such a refusal cannot reveal an arena."""
        if "arena_id" in tool.properties and "arena_id" in given:
            self.arena(given["arena_id"]).require_visible()

    def invoke(self, tool: Tool, given: dict[str, Any]) -> Reply:
        try:
            return tool.run(self, **tool.arguments(given))
        except Invalid:
            self.reveal(tool, given)
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
        await in_thread(caller.reveal, tool_, given)
        raise
    return await tool_.run(caller, **arguments)


def page(noun: str, results: list[dict[str, Any]], following: str | None) -> Reply:
    more = " More with next_cursor." if following else ""
    return Reply(f"{len(results)} {noun}.{more}", {"results": results, "next_cursor": following})


def arena_reply(detail: dict[str, Any], verb: str = "") -> Reply:
    you = detail["you"]["role"]
    return Reply(
        f"Arena {detail['id']}{verb}: {detail['status']}, {detail['completed_steps']} of "
        f"{detail['total_steps']} steps completed, {len(detail['participants'])} "
        f"participant(s); you are {you}. Goal: {detail['goal']}",
        detail,
    )


# --- you and your arenas ---------------------------------------------------------------------


@tool(
    "whoami",
    "Who am I",
    "Your agent id and the arenas you take part in that are not archived. Call it first.",
    read_only=True,
)
def whoami(caller: Caller) -> Reply:
    me = me_dict(caller.agent, manager.active_arenas_for(caller.agent_id))
    return Reply(f"You are {me['agent_id']}, in {len(me['active_arenas'])} active arena(s).", me)


@tool(
    "list_arenas",
    "List your arenas",
    "Your arenas, newest first.",
    properties={"status": s.STATUS, "cursor": s.CURSOR},
    read_only=True,
)
def list_arenas(caller: Caller, status: Any = None, cursor: Any = None) -> Reply:
    arenas = manager.arenas_for_agent(caller.agent_id, status)
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


# --- your slot -------------------------------------------------------------------------------


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


@tool(
    "publish_artifact",
    "Publish an artifact",
    "Publish a result (text, code, file or structured data) to your slot.",
    properties={
        "arena_id": s.ARENA_ID,
        "kind": s.KIND,
        "title": s.TITLE,
        "content": s.CONTENT,
        "metadata": s.METADATA,
    },
    required=("arena_id", "kind", "title", "content"),
)
def publish_artifact(
    caller: Caller, arena_id: Any, kind: Any, title: Any, content: Any, metadata: Any = None
) -> Reply:
    artifact = caller.arena(arena_id).publish_artifact(kind, title, content, metadata)
    return Reply(f"Published {artifact.kind} artifact {artifact.id}.", artifact_dict(artifact))


@tool(
    "list_artifacts",
    "List artifacts",
    "The arena's artifacts without content, oldest first.",
    properties={"arena_id": s.ARENA_ID, "agent": s.AGENT_ID, "cursor": s.CURSOR},
    required=("arena_id",),
    read_only=True,
)
def list_artifacts(caller: Caller, arena_id: Any, agent: Any = None, cursor: Any = None) -> Reply:
    artifacts = caller.arena(arena_id).artifacts(agent)
    return page(
        "artifact(s)",
        *keyset_page(
            artifacts, OLDEST_FIRST, lambda a: artifact_dict(a, with_content=False), cursor=cursor
        ),
    )


@tool(
    "read_artifact",
    "Read an artifact",
    "One artifact with its content.",
    properties={"arena_id": s.ARENA_ID, "artifact_id": s.ARTIFACT_ID},
    required=("arena_id", "artifact_id"),
    read_only=True,
)
def read_artifact(caller: Caller, arena_id: Any, artifact_id: Any) -> Reply:
    artifact = artifact_dict(caller.arena(arena_id).artifact(artifact_id))
    return Reply(
        f"{artifact['kind']} artifact by {artifact['agent_id']}: {artifact['title']}", artifact
    )


@tool(
    "merge_artifacts",
    "Merge artifacts",
    "Coordinators: merge the named slots' artifacts into one structured_data artifact.",
    properties={"arena_id": s.ARENA_ID, "sources": s.SOURCES, "title": s.TITLE},
    required=("arena_id", "sources", "title"),
)
def merge_artifacts(caller: Caller, arena_id: Any, sources: Any, title: Any) -> Reply:
    merged = artifact_dict(caller.arena(arena_id).merge(sources, title))
    count = len(merged["metadata"]["sources"])
    return Reply(f"Merged {count} artifact(s) into {merged['id']}.", merged)


# --- shared memory and messages --------------------------------------------------------------


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


# --- usage and budgets ----------------------------------------------------------------------


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


# --- asking people ------------------------------------------------------------------------


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


# --- following the arena ---------------------------------------------------------------------


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
