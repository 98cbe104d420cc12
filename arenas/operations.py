"""The catalogue of the arena's operations: for each operation of `ArenaHandle` that a door
calls, the arena states that allow it, who may call it, and every error code it can refuse
with. The doors read their lists of error codes from here (the REST API's OpenAPI error
responses, the MCP tools' advice, the Python client's table of error classes, checked by
the tests), so those lists cannot drift apart.

Plain data: this module imports nothing, so anything may import it. The tests drive each
operation through the domain into each error it declares, across every arena state and
kind of caller, and check that it raises no other code (tests/domain/test_operations.py).
"""

from __future__ import annotations

from dataclasses import dataclass

# Every code an operation can refuse with, and its HTTP status (arenas/errors.py).
CODES: dict[str, int] = {
    "invalid": 400,
    "permission_denied": 403,
    "not_found": 404,
    "invalid_transition": 409,
    "arena_not_active": 409,
    "arena_archived": 409,
    "step_already_completed": 409,
    "step_blocked": 409,
    "already_participant": 409,
    "last_coordinator": 409,
    "step_claimed": 409,
    "claim_lost": 409,
    "review_pending": 409,
    "request_closed": 409,
    "budget_exhausted": 409,
    "precondition_failed": 412,
}
# What any operation may answer besides its own refusals: the database failed for a moment,
# nothing was applied, and the same request may be sent again.
EVERY_OPERATION: dict[str, int] = {"unavailable": 503}

CREATED, ACTIVE, SETTLING, ARCHIVED = "created", "active", "settling", "archived"
STATUSES = (CREATED, ACTIVE, SETTLING, ARCHIVED)
ANY_STATUS = frozenset(STATUSES)
UNTIL_ARCHIVED = frozenset({CREATED, ACTIVE, SETTLING})

# Who may call an operation (`Operation.who`). Staff handles may call every operation
# whose rule says so; a caller who is not a participant (nor staff) gets `not_found`.
WHO: dict[str, str] = {
    "participant": "any current participant, and staff",
    "reader": "any current participant and staff; another agent's slot needs can_read_other_slots",
    "coordinator": "a coordinator, and staff",
    "slot": "a participant with the permission flag (staff have no slot of their own)",
    "holder": "the claim's holder, with can_write_own_slot",
    "holder or coordinator": "the claim's holder, a coordinator, and staff",
    "not observer": "a participant other than an observer (staff do not)",
    "not observer, or staff": "a participant other than an observer, and staff",
    "self or coordinator": "the agent itself (leaving), or a coordinator or staff (removing)",
    "answerer": "staff, or a coordinator other than the asker",
    "asker": "the agent that asked",
}


@dataclass(frozen=True)
class Operation:
    """One operation of `ArenaHandle`.

    `method` is the handle's method; `statuses` the arena states its lifecycle gate
    (`lifecycle.ALLOWED_IN[gate]`) lets through (others answer `arena_not_active`, or
    `arena_archived` when archived); `who` a key of WHO, with the permission `flag` it
    needs, if any; `errors` every code it can refuse with, its 409 codes in the order the
    doors list them. `rest`, `mcp` and `client` name the doors' operations that call it:
    "METHOD path" of the OpenAPI document, the MCP tool, the client's method."""

    name: str
    method: str
    write: bool
    statuses: frozenset[str]
    gate: str
    who: str
    errors: tuple[str, ...]
    flag: str | None = None
    rest: tuple[str, ...] = ()
    mcp: tuple[str, ...] = ()
    client: tuple[str, ...] = ()

    def codes(self, status: int | None = None) -> tuple[str, ...]:
        """The operation's error codes (those of HTTP `status` only, when given)."""
        return tuple(c for c in self.errors if status is None or CODES[c] == status)

    @property
    def conflicts(self) -> tuple[str, ...]:
        """Its 409 codes, in the doors' order."""
        return self.codes(409)


ARENA = "/api/arenas/{id}/"
_STATE = ("arena_not_active", "arena_archived")
_READ = {"write": False, "statuses": ANY_STATUS, "gate": "READ", "who": "participant"}
_SLOT = {"write": True, "statuses": frozenset({ACTIVE}), "gate": "WRITE_SLOT", "who": "slot"}

OPERATIONS: tuple[Operation, ...] = (
    # --- reads ---------------------------------------------------------------------------
    Operation(
        "detail",
        "detail",
        **_READ,
        errors=("not_found",),
        rest=(f"GET {ARENA}",),
        mcp=("get_arena",),
        client=("get_arena",),
    ),
    Operation(
        "aggregate",
        "aggregate",
        **_READ,
        errors=("not_found",),
        rest=(f"GET {ARENA}aggregate/",),
        client=("get_aggregate",),
    ),
    Operation(
        "events",
        "events",
        **_READ,
        errors=("invalid", "not_found"),
        rest=(f"GET {ARENA}events/",),
        mcp=("wait_for_events",),
        client=("list_events",),
    ),
    Operation(
        "participants",
        "participants",
        **_READ,
        errors=("not_found",),
        rest=(f"GET {ARENA}participants/",),
        client=("list_participants",),
    ),
    Operation(
        "steps",
        "steps",
        **_READ,
        errors=("invalid", "not_found"),
        rest=(f"GET {ARENA}steps/",),
        mcp=("get_plan",),
        client=("get_plan",),
    ),
    Operation(
        "artifacts",
        "artifacts",
        **_READ | {"who": "reader"},
        errors=("invalid", "permission_denied", "not_found"),
        rest=(f"GET {ARENA}artifacts/",),
        mcp=("list_artifacts",),
        client=("list_artifacts",),
    ),
    Operation(
        "artifact",
        "artifact",
        **_READ | {"who": "reader"},
        errors=("permission_denied", "not_found"),
        rest=(f"GET {ARENA}artifacts/{{artifact_id}}/",),
        mcp=("read_artifact",),
        client=("read_artifact",),
    ),
    Operation(
        "facts",
        "facts",
        **_READ,
        errors=("invalid", "not_found"),
        rest=(f"GET {ARENA}facts/",),
        mcp=("search_facts",),
        client=("search_facts",),
    ),
    Operation(
        "state",
        "state",
        **_READ,
        errors=("invalid", "not_found"),
        rest=(f"GET {ARENA}state/",),
        client=("get_state",),
    ),
    Operation(
        "live_claims",
        "live_claims",
        **_READ,
        errors=("not_found",),
        rest=(f"GET {ARENA}claims/",),
        client=("list_claims",),
    ),
    Operation(
        "requests",
        "requests",
        **_READ,
        errors=("invalid", "not_found"),
        rest=(f"GET {ARENA}requests/",),
        mcp=("list_requests",),
        client=("list_requests",),
    ),
    Operation(
        "budget",
        "budget",
        **_READ,
        errors=("not_found",),
        rest=(f"GET {ARENA}budget/",),
        mcp=("get_budget",),
        client=("get_budget",),
    ),
    Operation(
        "usage",
        "usage",
        **_READ,
        errors=("invalid", "not_found"),
        rest=(f"GET {ARENA}usage/",),
        client=("get_usage",),
    ),
    Operation("spend_over_time", "spend_over_time", **_READ, errors=("not_found",)),
    # --- managing the arena --------------------------------------------------------------
    Operation(
        "act",
        "act",
        write=True,
        statuses=ANY_STATUS,
        gate="READ",
        who="coordinator",
        errors=("invalid", "permission_denied", "not_found", "invalid_transition"),
        rest=(f"POST {ARENA}activate/", f"POST {ARENA}settle/", f"POST {ARENA}archive/"),
        mcp=("transition",),
        client=("transition",),
    ),
    Operation(
        "update_goal",
        "update",
        write=True,
        statuses=frozenset({CREATED, ACTIVE}),
        gate="UPDATE_GOAL",
        who="coordinator",
        errors=("invalid", "permission_denied", "not_found", *_STATE, "precondition_failed"),
        rest=(f"PATCH {ARENA}",),
        client=("update_arena", "update_goal"),
    ),
    Operation(
        "change_budget",
        "update",
        write=True,
        statuses=UNTIL_ARCHIVED,
        gate="CHANGE_BUDGET",
        who="coordinator",
        errors=(
            "invalid",
            "permission_denied",
            "not_found",
            "arena_archived",
            "precondition_failed",
        ),
        rest=(f"PATCH {ARENA}",),
        client=("update_arena", "set_budget"),
    ),
    Operation(
        "fork",
        "fork",
        write=True,
        statuses=ANY_STATUS,
        gate="READ",
        who="coordinator",
        errors=("invalid", "permission_denied", "not_found"),
        rest=(f"POST {ARENA}fork/",),
        mcp=("fork_arena",),
        client=("fork_arena",),
    ),
    Operation(
        "add_participant",
        "add_participant",
        write=True,
        statuses=frozenset({CREATED, ACTIVE}),
        gate="ADD_PARTICIPANT",
        who="coordinator",
        errors=("invalid", "permission_denied", "not_found", "already_participant", *_STATE),
        rest=(f"POST {ARENA}participants/",),
        mcp=("add_participant",),
        client=("add_participant",),
    ),
    Operation(
        "remove_participant",
        "remove_participant",
        write=True,
        statuses=UNTIL_ARCHIVED,
        gate="REMOVE_PARTICIPANT",
        who="self or coordinator",
        errors=("invalid", "permission_denied", "not_found", "last_coordinator", "arena_archived"),
        rest=(f"DELETE {ARENA}participants/{{agent_id}}/",),
        client=("remove_participant",),
    ),
    # --- steps and claims ----------------------------------------------------------------
    Operation(
        "complete_step",
        "complete_step",
        **_SLOT,
        flag="can_write_own_slot",
        errors=(
            "invalid",
            "permission_denied",
            "not_found",
            "claim_lost",
            "review_pending",
            "step_claimed",
            "step_already_completed",
            "step_blocked",
            "budget_exhausted",
            *_STATE,
        ),
        rest=(f"POST {ARENA}steps/",),
        mcp=("complete_step",),
        client=("complete_step",),
    ),
    Operation(
        "claim_step",
        "claim_step",
        **_SLOT,
        flag="can_write_own_slot",
        errors=(
            "invalid",
            "permission_denied",
            "not_found",
            "step_claimed",
            "step_already_completed",
            "step_blocked",
            "review_pending",
            "budget_exhausted",
            *_STATE,
        ),
        rest=(f"POST {ARENA}steps/{{step}}/claim/",),
        mcp=("claim_step",),
        client=("claim_step",),
    ),
    Operation(
        "claim_next",
        "claim_next",
        **_SLOT,
        flag="can_write_own_slot",
        errors=("invalid", "permission_denied", "not_found", "budget_exhausted", *_STATE),
        rest=(f"POST {ARENA}claims/next/",),
        mcp=("claim_next_step",),
        client=("claim_next_step",),
    ),
    Operation(
        "renew_claim",
        "renew_claim",
        **_SLOT | {"who": "holder"},
        flag="can_write_own_slot",
        errors=("invalid", "permission_denied", "not_found", "claim_lost", *_STATE),
        rest=(f"POST {ARENA}claims/{{claim_id}}/renew/",),
        mcp=("renew_claim",),
        client=("renew_claim",),
    ),
    Operation(
        "release_claim",
        "release_claim",
        write=True,
        statuses=UNTIL_ARCHIVED,
        gate="RELEASE_CLAIM",
        who="holder or coordinator",
        errors=("permission_denied", "not_found", "claim_lost", "arena_archived"),
        rest=(f"DELETE {ARENA}claims/{{claim_id}}/",),
        mcp=("release_claim",),
        client=("release_claim",),
    ),
    # --- the caller's slot ---------------------------------------------------------------
    Operation(
        "report_progress",
        "report_progress",
        **_SLOT,
        flag="can_write_own_slot",
        errors=("invalid", "permission_denied", "not_found", *_STATE),
        rest=(f"POST {ARENA}progress/",),
        mcp=("report_progress",),
        client=("report_progress",),
    ),
    Operation(
        "publish_artifact",
        "publish_artifact",
        **_SLOT,
        flag="can_write_own_slot",
        errors=("invalid", "permission_denied", "not_found", *_STATE),
        rest=(f"POST {ARENA}artifacts/",),
        mcp=("publish_artifact",),
        client=("publish_artifact",),
    ),
    Operation(
        "merge",
        "merge",
        write=True,
        statuses=frozenset({ACTIVE, SETTLING}),
        gate="MERGE",
        who="slot",
        flag="can_merge",
        errors=("invalid", "permission_denied", "not_found", *_STATE),
        rest=(f"POST {ARENA}merge/",),
        mcp=("merge_artifacts",),
        client=("merge_artifacts",),
    ),
    Operation(
        "share_fact",
        "share_fact",
        **_SLOT,
        flag="can_write_shared_memory",
        errors=("invalid", "permission_denied", "not_found", *_STATE),
        rest=(f"POST {ARENA}facts/",),
        mcp=("share_fact",),
        client=("share_fact",),
    ),
    Operation(
        "post_message",
        "post_message",
        write=True,
        statuses=UNTIL_ARCHIVED,
        gate="POST_MESSAGE",
        who="not observer, or staff",
        errors=("invalid", "permission_denied", "not_found", "arena_archived"),
        rest=(f"POST {ARENA}messages/",),
        mcp=("post_message",),
        client=("post_message",),
    ),
    # --- usage ---------------------------------------------------------------------------
    Operation(
        "report_usage",
        "report_usage",
        write=True,
        statuses=frozenset({ACTIVE, SETTLING}),
        gate="REPORT_USAGE",
        who="not observer",
        errors=("invalid", "permission_denied", "not_found", *_STATE),
        rest=(f"POST {ARENA}usage/",),
        mcp=("report_usage",),
        client=("report_usage",),
    ),
    # --- requests for people -------------------------------------------------------------
    Operation(
        "ask",
        "ask",
        write=True,
        statuses=UNTIL_ARCHIVED,
        gate="ASK",
        who="not observer",
        errors=("invalid", "permission_denied", "not_found", "arena_archived"),
        rest=(f"POST {ARENA}requests/",),
        mcp=("ask_people",),
        client=("ask_people",),
    ),
    Operation(
        "answer_request",
        "answer_request",
        write=True,
        statuses=UNTIL_ARCHIVED,
        gate="ASK",
        who="answerer",
        errors=("invalid", "permission_denied", "not_found", "request_closed", *_STATE),
        rest=(f"POST {ARENA}requests/{{request_id}}/answer/",),
        mcp=("answer_request",),
        client=("answer_request",),
    ),
    Operation(
        "cancel_request",
        "cancel_request",
        write=True,
        statuses=UNTIL_ARCHIVED,
        gate="ASK",
        who="asker",
        errors=("permission_denied", "not_found", "request_closed", "arena_archived"),
        rest=(f"DELETE {ARENA}requests/{{request_id}}/",),
        mcp=("cancel_request",),
        client=("cancel_request",),
    ),
)

BY_NAME: dict[str, Operation] = {operation.name: operation for operation in OPERATIONS}


def operation(name: str) -> Operation:
    return BY_NAME[name]


def conflicts(*names: str) -> tuple[str, ...]:
    """The 409 codes of the named operations together, each once, in their order."""
    return tuple(dict.fromkeys(code for name in names for code in BY_NAME[name].conflicts))


def codes(*names: str) -> tuple[str, ...]:
    """Every error code of the named operations together, each once."""
    return tuple(dict.fromkeys(code for name in names for code in BY_NAME[name].errors))


def of_rest(method_and_path: str) -> tuple[Operation, ...]:
    """The operations a REST operation ("PATCH /api/arenas/{id}/") calls."""
    return tuple(o for o in OPERATIONS if method_and_path in o.rest)


def of_tool(tool: str) -> tuple[Operation, ...]:
    """The operations an MCP tool calls."""
    return tuple(o for o in OPERATIONS if tool in o.mcp)
