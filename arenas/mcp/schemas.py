"""JSON Schema pieces of the tools' arguments, written from the domain's own limits and
choices (imported, never restated), kept short: every conversation with a model pays for
`tools/list`. And the advice a refusal gives for each error code.

The schemas describe the arguments to a language model; they do not decide anything. The
domain validates every value again and its refusal is what the caller gets back.
"""

from __future__ import annotations

from typing import Any

from arenas import inputs, lifecycle
from arenas.inputs import U32_MAX
from arenas.models import (
    ArtifactKind,
    EventType,
    RequestStatus,
    Role,
    SlotStatus,
    Status,
    Strategy,
)
from arenas.permissions import PERMISSIONS, ROLE_DEFAULTS
from arenas.stream import waits

Schema = dict[str, Any]


def string(description: str, *, min_length: int = 0, max_length: int | None = None) -> Schema:
    schema: Schema = {"type": "string", "description": description}
    if min_length:
        schema["minLength"] = min_length
    if max_length is not None:
        schema["maxLength"] = max_length
    return schema


def choice(description: str, values: list[str]) -> Schema:
    return {"type": "string", "enum": list(values), "description": description}


def nullable(schema: Schema) -> Schema:
    """`schema` or null (null: leave it out)."""
    return {**schema, "type": [schema["type"], "null"]}


ARENA_ID: Schema = {"type": "string", "format": "uuid"}
AGENT_ID: Schema = {
    "type": "string",
    "minLength": 1,
    "maxLength": inputs.AGENT_ID_MAX,
    "pattern": inputs.AGENT_ID_RE.pattern,
}
STEP: Schema = {"type": "integer", "minimum": 1, "maximum": U32_MAX}
CURSOR: Schema = {"type": "string"}
TAG: Schema = {"type": "string", "minLength": 1, "maxLength": inputs.TAG_MAX}
QUERY: Schema = {"type": "string", "minLength": 1, "maxLength": inputs.MESSAGE_MAX}
STATUS: Schema = {"type": "string", "enum": list(Status.values)}
GOAL: Schema = {"type": "string", "minLength": 1, "maxLength": inputs.GOAL_MAX}
STRATEGY: Schema = choice("pipeline: each step waits for the one before.", Strategy.values)
TOTAL_STEPS: Schema = {
    "type": "integer",
    "minimum": 0,
    "maximum": U32_MAX,
    "description": "Untitled steps (0: open-ended), instead of `plan`.",
}
PLAN: Schema = {
    "type": "array",
    "maxItems": inputs.PLAN_MAX_STEPS,
    "description": "Titled steps, step 1 first.",
    "items": {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "title": {"type": "string", "maxLength": inputs.STEP_TITLE_MAX},
            "assignee": nullable(AGENT_ID),
            "depends_on": {
                "type": "array",
                "items": {"type": "integer", "minimum": 1, "maximum": inputs.PLAN_MAX_STEPS},
            },
            "review": {"type": "boolean", "description": "A person must approve the step."},
        },
    },
}


def _defaults(flags: dict[str, bool]) -> str:
    """A role's default permissions, briefly: all, or those it has, or all but some."""
    granted = [name for name, value in flags.items() if value]
    denied = [name for name, value in flags.items() if not value]
    if not denied:
        return "all"
    return (
        ("only " + ", ".join(granted))
        if len(granted) <= len(denied)
        else ("all but " + ", ".join(denied))
    )


ROLE: Schema = choice(
    "Default can_* flags: "
    + "; ".join(f"{role} {_defaults(flags)}" for role, flags in ROLE_DEFAULTS.items())
    + ".",
    Role.values,
)
PERMISSION_FLAGS: dict[str, Schema] = {name: {"type": "boolean"} for name in PERMISSIONS}
PARTICIPANTS: Schema = {
    "type": "array",
    "maxItems": inputs.INITIAL_PARTICIPANTS_MAX,
    "items": {
        "type": "object",
        "additionalProperties": False,
        "required": ["agent_id", "role"],
        "properties": {"agent_id": AGENT_ID, "role": ROLE, **PERMISSION_FLAGS},
    },
}
CURRENT: Schema = {"type": "string", "maxLength": inputs.CURRENT_MAX}
SLOT_STATUS: Schema = {"type": "string", "enum": list(SlotStatus.values)}
KIND: Schema = choice("structured_data: `content` is any JSON; else a string.", ArtifactKind.values)
TITLE: Schema = {"type": "string", "minLength": 1, "maxLength": inputs.TITLE_MAX}
CONTENT: Schema = {
    "type": ["string", "object", "array", "number", "boolean", "null"],
    "description": f"At most {inputs.CONTENT_MAX_BYTES} bytes as UTF-8 JSON.",
}
METADATA: Schema = {"type": "object"}
ARTIFACT_ID: Schema = {"type": "string", "format": "uuid"}
SOURCES: Schema = {
    "type": "array",
    "minItems": 1,
    "maxItems": inputs.MERGE_SOURCES_MAX,
    "items": AGENT_ID,
}
FACT_CONTENT: Schema = {"type": "string", "minLength": 1, "maxLength": inputs.FACT_MAX}
CONFIDENCE: Schema = {
    "type": "number",
    "minimum": inputs.CONFIDENCE_MIN,
    "maximum": inputs.CONFIDENCE_MAX,
}
TAGS: Schema = {
    "type": "array",
    "maxItems": inputs.TAGS_MAX,
    "items": {"type": "string", "minLength": 1, "maxLength": inputs.TAG_MAX},
}
MESSAGE: Schema = {"type": "string", "minLength": 1, "maxLength": inputs.MESSAGE_MAX}
ACTION: Schema = {"type": "string", "enum": list(lifecycle.ACTIONS)}
AFTER_SEQ: Schema = {
    "type": "integer",
    "minimum": 0,
    "maximum": waits.SEQ_MAX,
    "description": "The last `seq` you have seen (0: from the start).",
}
AFTER_STEP: Schema = {
    "type": "integer",
    "minimum": 0,
    "maximum": U32_MAX,
}
TIMEOUT: Schema = {
    "type": "number",
    "minimum": 0,
    "maximum": waits.WAIT_MAX_SECONDS,
    "default": waits.WAIT_DEFAULT_SECONDS,
}
LEASE: Schema = {
    "type": "integer",
    "minimum": inputs.LEASE_MIN,
    "maximum": inputs.LEASE_MAX,
}
ARENA_LEASE: Schema = {
    **LEASE,
    "description": f"Default lease of a claim (default {inputs.LEASE_DEFAULT}).",
}
AT_SEQ: Schema = {"type": "integer", "minimum": 1, "maximum": inputs.SEQ_MAX}
CLAIM_ID: Schema = {"type": "integer", "minimum": 1, "maximum": inputs.SEQ_MAX}
REQUEST_ID: Schema = {"type": "string", "format": "uuid"}
QUESTION: Schema = {"type": "string", "minLength": 1, "maxLength": inputs.REQUEST_MAX}
CHOICES: Schema = {
    "type": "array",
    "minItems": 1,
    "maxItems": inputs.CHOICES_MAX,
    "uniqueItems": True,
    "items": {"type": "string", "minLength": 1, "maxLength": inputs.CHOICE_MAX},
    "description": "Answers to pick from; left out: a free answer.",
}
ASKED_STEP: Schema = STEP
ANSWER_CHOICE: Schema = string(
    "One of its choices (a review: approve or reject).",
    min_length=1,
    max_length=inputs.CHOICE_MAX,
)
ANSWER_TEXT: Schema = string(
    "Required when the request has no choices.", max_length=inputs.REQUEST_MAX
)
REQUEST_STATUS: Schema = {"type": "string", "enum": list(RequestStatus.values)}
TYPES: Schema = {
    "type": "array",
    "minItems": 1,
    "items": {"type": "string", "enum": list(EventType.values)},
}


MONEY: Schema = {
    "type": ["string", "number"],
    "description": 'US dollars, at most 6 decimal places; a string ("0.012345") is exact.',
}
BUDGET: Schema = {
    "type": ["object", "null"],
    "properties": {
        "cost_usd": MONEY,
        "tokens": {"type": "integer", "minimum": 0, "maximum": inputs.U64_MAX},
        "per_agent_cost_usd": MONEY,
        "per_agent_tokens": {"type": "integer", "minimum": 0, "maximum": inputs.U64_MAX},
    },
    "additionalProperties": False,
    "description": "Spending limits, arena-wide and per agent (tokens: input + output).",
}
MODEL: Schema = string(
    "The model's name, e.g. gpt-4o.", min_length=1, max_length=inputs.MODEL_NAME_MAX
)


def token_count(description: str, minimum: int = 0) -> Schema:
    return {"type": "integer", "minimum": minimum, "maximum": U32_MAX, "description": description}


USAGE_STEP: Schema = {**STEP, "description": "The step the calls were for, if any."}


# What each error code means to the caller of a tool, and what to do about it: said once in
# the prompt work_in_arena, and with each refusal (`server.tool_error`), never in the tool
# list. Its codes are those the tools can be refused with (`Tool.errors`, read from the
# catalogue arenas/operations.py), no more and no fewer: tests/api/test_operations.py.
ADVICE: dict[str, str] = {
    "invalid": "an argument is wrong; the text names each one and why. Correct it and call again.",
    "not_found": "there is no such arena for you (a wrong id, or you are not, or no longer, a "
    "participant) or no such item in it. Check the id (list_arenas, list_artifacts).",
    "permission_denied": "your role or permissions do not allow this (see `you` in "
    "get_arena). Leave it to a participant who may, or ask a coordinator.",
    "arena_not_active": "the arena's state does not allow this now (work needs an active "
    "arena). Check `status` with get_arena; a coordinator changes it with transition.",
    "arena_archived": "the arena is archived: it can be read, never changed again.",
    "invalid_transition": "the arena is not in the state this action starts from; "
    "`allowed` names the only state it can go to next. Read its status with get_arena.",
    "step_already_completed": "the step is done already (maybe by another agent): do not do "
    "it again; take another with claim_next_step.",
    "step_blocked": "a step this one depends on is not completed yet (`waiting_for` lists "
    "them): do those first, or wait_for_events until they are.",
    "already_participant": "the agent takes part already; nothing to do.",
    "step_claimed": "another agent holds the step (`holder`, until `expires_at`): do not "
    "work on it; take another with claim_next_step, or wait_for_events until its claim is "
    "released or expires.",
    "claim_lost": "your claim is no longer live (its lease lapsed, it was released, or the "
    "step was taken over): drop the work done under it, it must not count; claim a step "
    "again.",
    "review_pending": "the step was submitted for review and waits for a person's answer: "
    "do not redo it; wait_for_events for input_provided.",
    "request_closed": "the request was answered or cancelled already: read the answer on "
    "the feed (input_provided) or with list_requests.",
    "budget_exhausted": "the arena's or your budget is used up (`scope`, `limit`, `spent`): "
    "start no new work; finish what you hold, report_usage, and wait for a person to raise it.",
}
