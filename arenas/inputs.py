"""Input rules: every limit of the service, defined once, and the validation of each input.

The domain validates every value it is given with these functions (400 `invalid`, naming
the field), whichever door it came through; the doors import the same limits to describe
their inputs (the REST serializers and OpenAPI schema, the MCP tools' JSON Schemas, the
admin and dashboard forms) and never restate them. Text limits count characters, never
bytes; content limits are sizes in bytes (`text.size_in_bytes`).
"""

from __future__ import annotations

import re
import uuid
from typing import Any

from . import text
from .errors import Invalid, NotFound

# --- numbers -----------------------------------------------------------------------------
U32_MAX = 4_294_967_295  # steps and counters
SEQ_MAX = 2**63 - 1  # an event's seq, and `after` in the events list and the live feed
PAGE_DEFAULT = 50  # items per page of a list
PAGE_MAX = 500

# --- identifiers -------------------------------------------------------------------------
AGENT_ID_MAX = 64
AGENT_ID_RE = re.compile(r"^[a-z0-9][a-z0-9_.-]*$")
DISPLAY_NAME_MAX = 200
IDEMPOTENCY_KEY_MAX = 255

# --- text, in characters ---------------------------------------------------------------
GOAL_MAX = 4000
MESSAGE_MAX = 4000
FACT_MAX = 4000
CURRENT_MAX = 500  # a slot's `current`: what it is doing now
TITLE_MAX = 200  # an artifact's title
STEP_TITLE_MAX = 500
TAG_MAX = 64
TAGS_MAX = 16
CONFIDENCE_MIN = 0.0
CONFIDENCE_MAX = 1.0

# --- content, in bytes -------------------------------------------------------------------
CONTENT_MAX_BYTES = 1024 * 1024  # an artifact's content: text as UTF-8, other JSON compact
METADATA_MAX_BYTES = 64 * 1024

# --- claims ----------------------------------------------------------------------
LEASE_MIN = 5  # seconds
LEASE_MAX = 86_400
LEASE_DEFAULT = 300

# --- requests for people -----------------------------------------------------------
REQUEST_MAX = 4000  # a request's text, and an answer's
CHOICES_MAX = 10
CHOICE_MAX = 200

# --- webhooks ----------------------------------------------------------------------
WEBHOOK_URL_MAX = 2000
WEBHOOK_ARENAS_MAX = 1000  # arenas named by one subscription

# --- sizes of lists ----------------------------------------------------------------------
PLAN_MAX_STEPS = 10_000
INITIAL_PARTICIPANTS_MAX = 1000
MERGE_SOURCES_MAX = 100


def arena_id(value: Any) -> uuid.UUID:
    """A UUID, or NotFound: a malformed id names no arena."""
    if isinstance(value, uuid.UUID):
        return value
    try:
        return uuid.UUID(str(value))
    except (TypeError, ValueError, AttributeError):
        raise NotFound("No such arena.") from None


def agent_id(value: Any, field: str = "agent_id") -> str:
    value = text.text(value, field, min_len=1, max_len=AGENT_ID_MAX)
    if not AGENT_ID_RE.match(value):
        raise Invalid.field(
            field, "Lower-case letters, digits, '_', '.', '-', starting with a letter or digit."
        )
    return value


def display_name(value: Any) -> str:
    return text.text(value, "display_name", max_len=DISPLAY_NAME_MAX)


def goal(value: Any) -> str:
    return text.text(value, "goal", min_len=1, max_len=GOAL_MAX, blank=False)


def message(value: Any) -> str:
    return text.text(value, "text", min_len=1, max_len=MESSAGE_MAX, blank=False)


def current(value: Any) -> str:
    return text.text(value, "current", max_len=CURRENT_MAX)


def title(value: Any) -> str:
    return text.text(value, "title", min_len=1, max_len=TITLE_MAX, blank=False)


def step_title(value: Any, field: str) -> str:
    return text.text(value, field, max_len=STEP_TITLE_MAX)


def fact(value: Any) -> str:
    return text.text(value, "content", min_len=1, max_len=FACT_MAX, blank=False)


def tag(value: Any, field: str = "tag") -> str:
    return text.text(value, field, min_len=1, max_len=TAG_MAX)


def tags(value: Any) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise Invalid.field("tags", "Must be a list of strings.")
    if len(value) > TAGS_MAX:
        raise Invalid.field("tags", f"At most {TAGS_MAX} tags.")
    return [tag(item, "tags") for item in value]


def search(value: Any) -> str:
    """A search text (`q`)."""
    return text.text(value, "q", min_len=1, max_len=FACT_MAX)


def confidence(value: Any) -> float:
    return text.number(value, "confidence", minimum=CONFIDENCE_MIN, maximum=CONFIDENCE_MAX)


def content(value: Any, kind: str, *, text_only: bool) -> Any:
    """An artifact's content: a string (of at most CONTENT_MAX_BYTES of UTF-8), or with
    `text_only` False (kind `structured_data`) any JSON value (of at most
    CONTENT_MAX_BYTES of compact JSON)."""
    if text_only and not isinstance(value, str):
        raise Invalid.field("content", f"Must be a string for kind {kind!r}.")
    return text.json_value(value, "content", max_bytes=CONTENT_MAX_BYTES)


def metadata(value: Any) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise Invalid.field("metadata", "Must be a JSON object.")
    return text.json_value(value, "metadata", max_bytes=METADATA_MAX_BYTES)


def merge_sources(value: Any) -> list[str]:
    """The agent ids whose slots a merge reads, sorted, each once."""
    if not isinstance(value, list) or not value:
        raise Invalid.field("sources", "Must be a non-empty list of agent ids.")
    if len(value) > MERGE_SOURCES_MAX:
        raise Invalid.field("sources", f"At most {MERGE_SOURCES_MAX} slots.")
    return sorted({agent_id(item, "sources") for item in value})


def lease_seconds(value: Any, field: str = "lease_seconds") -> int:
    return text.integer(value, field, minimum=LEASE_MIN, maximum=LEASE_MAX)


def claim_id(value: Any) -> int:
    """A claim id (the seq of its `step_claimed` event; in a path, its decimal digits), or
    NotFound: any other value names no claim."""
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 19:
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= SEQ_MAX:
        raise NotFound("No such claim.")
    return value


def request_text(value: Any) -> str:
    return text.text(value, "text", min_len=1, max_len=REQUEST_MAX, blank=False)


def choices(value: Any) -> list[str] | None:
    """None (a free answer), or 1–CHOICES_MAX distinct strings of 1–CHOICE_MAX characters."""
    if value is None:
        return None
    if not isinstance(value, list) or not 1 <= len(value) <= CHOICES_MAX:
        raise Invalid.field("choices", f"Must be null or a list of 1 to {CHOICES_MAX} strings.")
    result = [
        text.text(item, "choices", min_len=1, max_len=CHOICE_MAX, blank=False) for item in value
    ]
    if len(set(result)) != len(result):
        raise Invalid.field("choices", "The choices must be distinct.")
    return result


def answer_text(value: Any, *, required: bool) -> str:
    """An answer's text: 0–REQUEST_MAX characters, not blank when `required`."""
    if value is None and not required:
        return ""
    if required:
        return text.text(value, "text", min_len=1, max_len=REQUEST_MAX, blank=False)
    return text.text(value, "text", max_len=REQUEST_MAX)


def request_id(value: Any) -> uuid.UUID:
    """A request's UUID, or NotFound: a malformed id names no request."""
    try:
        return uuid.UUID(str(value))
    except (TypeError, ValueError, AttributeError):
        raise NotFound("No such request.") from None


def after(value: Any, maximum: int = SEQ_MAX) -> int:
    return text.integer(value, "after", minimum=0, maximum=maximum)


def limit(value: Any) -> int:
    return text.integer(value, "limit", minimum=1, maximum=PAGE_MAX)
