"""JSON Schema pieces of the tools' arguments, written from the domain's own limits and
choices (imported, never restated), and the advice a tool's description gives for each
error code it may answer.

The schemas describe the arguments to a language model; they do not decide anything. The
domain validates every value again and its refusal is what the caller gets back.
"""

from __future__ import annotations

from typing import Any

from arenas import inputs, lifecycle
from arenas.inputs import U32_MAX
from arenas.live import waits
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


ARENA_ID: Schema = {
    "type": "string",
    "format": "uuid",
    "description": "The arena's id (a UUID), as create_arena, list_arenas or whoami give it.",
}
AGENT_ID: Schema = {
    "type": "string",
    "minLength": 1,
    "maxLength": inputs.AGENT_ID_MAX,
    "pattern": inputs.AGENT_ID_RE.pattern,
    "description": "An agent id: lower-case letters, digits, '_', '.', '-'.",
}
STEP: Schema = {
    "type": "integer",
    "minimum": 1,
    "maximum": U32_MAX,
    "description": "The step's number, from 1 (get_plan lists them).",
}
CURSOR: Schema = string(
    "To read the next page: the `next_cursor` of the previous call. Leave it out for the "
    "first page."
)
TAG: Schema = string("Only facts with exactly this tag.", min_length=1, max_length=inputs.TAG_MAX)
QUERY: Schema = string(
    "Only facts whose content contains this text (case-insensitive).",
    min_length=1,
    max_length=inputs.MESSAGE_MAX,
)
STATUS: Schema = choice("Only arenas in this state.", Status.values)
GOAL: Schema = string(
    "What the arena's agents work towards, in plain words.",
    min_length=1,
    max_length=inputs.GOAL_MAX,
)
STRATEGY: Schema = choice(
    "peer (the default): steps are independent unless the plan says otherwise; pipeline: "
    "each step waits for the one before it.",
    Strategy.values,
)
TOTAL_STEPS: Schema = {
    "type": "integer",
    "minimum": 0,
    "maximum": U32_MAX,
    "description": "How many untitled steps the plan has (0: open-ended, any step number "
    "may be completed). Give this or `plan`, not both.",
}
PLAN: Schema = {
    "type": "array",
    "maxItems": inputs.PLAN_MAX_STEPS,
    "description": "The steps, in order (step 1 first), instead of `total_steps`.",
    "items": {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "title": string("What the step is.", max_length=inputs.STEP_TITLE_MAX),
            "assignee": nullable(
                {
                    **AGENT_ID,
                    "description": "The only agent (besides coordinators) that may "
                    "complete it; null for anyone.",
                }
            ),
            "depends_on": {
                "type": "array",
                "items": {"type": "integer", "minimum": 1, "maximum": inputs.PLAN_MAX_STEPS},
                "description": "Numbers of the steps that must be completed before this one.",
            },
            "review": {
                "type": "boolean",
                "description": "true: a person reviews the step. Completing it submits it "
                "for review instead; it counts as completed once a person approves.",
            },
        },
    },
}
ROLE: Schema = choice(
    "coordinator: manages the arena and may merge; worker: completes steps, publishes, "
    "shares facts; observer: reads only.",
    Role.values,
)


def _permission_flag(name: str) -> Schema:
    defaults = ", ".join(
        f"{role}: {str(flags[name]).lower()}" for role, flags in ROLE_DEFAULTS.items()
    )
    return {"type": "boolean", "description": f"Override the role's default ({defaults})."}


PERMISSION_FLAGS: dict[str, Schema] = {name: _permission_flag(name) for name in PERMISSIONS}
PARTICIPANTS: Schema = {
    "type": "array",
    "maxItems": inputs.INITIAL_PARTICIPANTS_MAX,
    "description": "Other agents to add at once (you join as the coordinator yourself).",
    "items": {
        "type": "object",
        "additionalProperties": False,
        "required": ["agent_id", "role"],
        "properties": {"agent_id": AGENT_ID, "role": ROLE, **PERMISSION_FLAGS},
    },
}
CURRENT: Schema = string(
    "What your slot is doing now, in a few words.", max_length=inputs.CURRENT_MAX
)
SLOT_STATUS: Schema = choice("Your slot's state.", SlotStatus.values)
KIND: Schema = choice(
    "text, code or file: `content` is a string; structured_data: `content` is any JSON.",
    ArtifactKind.values,
)
TITLE: Schema = string("A short title.", min_length=1, max_length=inputs.TITLE_MAX)
CONTENT: Schema = {
    "type": ["string", "object", "array", "number", "boolean", "null"],
    "description": f"The artifact itself: a string, or any JSON for structured_data (at "
    f"most {inputs.CONTENT_MAX_BYTES} bytes as UTF-8 JSON).",
}
METADATA: Schema = {
    "type": "object",
    "description": f"Any JSON object about the artifact (at most "
    f"{inputs.METADATA_MAX_BYTES} bytes).",
}
ARTIFACT_ID: Schema = {
    "type": "string",
    "format": "uuid",
    "description": "The artifact's id, as list_artifacts gives it.",
}
SOURCES: Schema = {
    "type": "array",
    "minItems": 1,
    "maxItems": inputs.MERGE_SOURCES_MAX,
    "items": AGENT_ID,
    "description": "The agent ids whose slots' artifacts are merged.",
}
FACT_CONTENT: Schema = string(
    "The fact, in one or a few sentences.", min_length=1, max_length=inputs.FACT_MAX
)
CONFIDENCE: Schema = {
    "type": "number",
    "minimum": inputs.CONFIDENCE_MIN,
    "maximum": inputs.CONFIDENCE_MAX,
    "description": "How sure you are that the fact holds.",
}
TAGS: Schema = {
    "type": "array",
    "maxItems": inputs.TAGS_MAX,
    "items": {"type": "string", "minLength": 1, "maxLength": inputs.TAG_MAX},
    "description": "Words to find the fact by (search_facts' `tag`).",
}
MESSAGE: Schema = string(
    "The message. Every participant sees it.", min_length=1, max_length=inputs.MESSAGE_MAX
)
ACTION: Schema = choice(
    "activate (created → active), settle (active → settling), archive (settling → "
    "archived, which stores the arena's facts in long-term memory).",
    list(lifecycle.ACTIONS),
)
AFTER_SEQ: Schema = {
    "type": "integer",
    "minimum": 0,
    "maximum": waits.SEQ_MAX,
    "description": "The `seq` of the last event you have seen: 0 for all of them, "
    "`last_seq` of get_arena for only new ones, `next_after` of the previous call to go on.",
}
AFTER_STEP: Schema = {
    "type": "integer",
    "minimum": 0,
    "maximum": U32_MAX,
    "description": "List steps after this number (`next_after` of the previous call); "
    "0 or left out: from step 1.",
}
TIMEOUT: Schema = {
    "type": "number",
    "minimum": 0,
    "maximum": waits.WAIT_MAX_SECONDS,
    "default": waits.WAIT_DEFAULT_SECONDS,
    "description": f"How long to wait for an event, in seconds (default "
    f"{waits.WAIT_DEFAULT_SECONDS}, at most {waits.WAIT_MAX_SECONDS}; 0: do not wait).",
}
LEASE: Schema = {
    "type": "integer",
    "minimum": inputs.LEASE_MIN,
    "maximum": inputs.LEASE_MAX,
    "description": f"How long the claim holds, in seconds ({inputs.LEASE_MIN} to "
    f"{inputs.LEASE_MAX}); left out: the arena's `lease_seconds`. Renew before it runs out.",
}
ARENA_LEASE: Schema = {
    **LEASE,
    "description": f"How long a claim holds in this arena unless the claimer says otherwise, "
    f"in seconds ({inputs.LEASE_MIN} to {inputs.LEASE_MAX}; default {inputs.LEASE_DEFAULT}).",
}
AT_SEQ: Schema = {
    "type": "integer",
    "minimum": 1,
    "maximum": inputs.SEQ_MAX,
    "description": "The seq of an event of the arena (1 to its last_seq).",
}
CLAIM_ID: Schema = {
    "type": "integer",
    "minimum": 1,
    "maximum": inputs.SEQ_MAX,
    "description": "The claim's `claim_id`, as claim_next_step or claim_step answered it.",
}
REQUEST_ID: Schema = {
    "type": "string",
    "format": "uuid",
    "description": "The request's id, as ask_people or an input_requested event gives it.",
}
QUESTION: Schema = string(
    "The question, in plain words for a person: what you need to know and why.",
    min_length=1,
    max_length=inputs.REQUEST_MAX,
)
CHOICES: Schema = {
    "type": "array",
    "minItems": 1,
    "maxItems": inputs.CHOICES_MAX,
    "uniqueItems": True,
    "items": {"type": "string", "minLength": 1, "maxLength": inputs.CHOICE_MAX},
    "description": "The answers a person picks from (distinct); left out: a free answer.",
}
ASKED_STEP: Schema = {
    **STEP,
    "description": "The step of the plan the question is about, if any.",
}
ANSWER_CHOICE: Schema = string(
    "One of the request's choices (required when it has choices).",
    min_length=1,
    max_length=inputs.CHOICE_MAX,
)
ANSWER_TEXT: Schema = string(
    "The answer in words (required for a request without choices; optional beside a choice).",
    max_length=inputs.REQUEST_MAX,
)
REQUEST_STATUS: Schema = choice("Only requests in this state.", RequestStatus.values)
TYPES: Schema = {
    "type": "array",
    "minItems": 1,
    "items": {"type": "string", "enum": list(EventType.values)},
    "description": "Only events of these types (the others are skipped, and `next_after` "
    "moves past them).",
}


# What each error code means to the caller of a tool, and what to do about it.
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
}


def errors(*codes: str) -> str:
    """The paragraph of a tool's description on the errors it may answer (`invalid`, and
    the `codes` named)."""
    lines = [f"- {code}: {ADVICE[code]}" for code in ("invalid", *codes)]
    return (
        "If the call is refused, the result is an error whose text starts with its code:\n"
        + "\n".join(lines)
    )
