"""Input rules: every limit of the service, defined once, and the validation of each input.

The domain validates every value it is given with these functions (400 `invalid`, naming
the field), whichever door it came through; the doors import the same limits to describe
their inputs (the REST serializers and OpenAPI schema, the MCP tools' JSON Schemas, the
admin and dashboard forms) and never restate them. Text limits count characters, never
bytes; content limits are sizes in bytes (`validation.size_in_bytes`).
"""

from __future__ import annotations

import re
import uuid
from decimal import Decimal
from typing import Any

from . import validation
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

# --- usage and budgets ------------------------------------------------------------
MODEL_NAME_MAX = 200
U64_MAX = 18_446_744_073_709_551_615  # usage totals saturate here
MICRO_PER_USD = 1_000_000  # money is counted in micro-dollars
COST_MAX_MICRO_USD = U64_MAX  # a cost or a limit: at most 18446744073709.551615 dollars
MONEY_PLACES = 6
_MONEY_TEXT = re.compile(r"[0-9]{1,20}(\.[0-9]{1,20})?")
# The common case, read without a Decimal: at most 13 whole digits (below the maximum) and
# at most 6 places.
_PLAIN_MONEY_TEXT = re.compile(r"([0-9]{1,13})(?:\.([0-9]{1,6}))?")

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
    value = validation.text(value, field, min_len=1, max_len=AGENT_ID_MAX)
    if not AGENT_ID_RE.match(value):
        raise Invalid.field(
            field, "Lower-case letters, digits, '_', '.', '-', starting with a letter or digit."
        )
    return value


def display_name(value: Any) -> str:
    return validation.text(value, "display_name", max_len=DISPLAY_NAME_MAX)


def goal(value: Any) -> str:
    return validation.text(value, "goal", min_len=1, max_len=GOAL_MAX, blank=False)


def message(value: Any) -> str:
    return validation.text(value, "text", min_len=1, max_len=MESSAGE_MAX, blank=False)


def current(value: Any) -> str:
    return validation.text(value, "current", max_len=CURRENT_MAX)


def title(value: Any) -> str:
    return validation.text(value, "title", min_len=1, max_len=TITLE_MAX, blank=False)


def step_title(value: Any, field: str) -> str:
    return validation.text(value, field, max_len=STEP_TITLE_MAX)


def fact(value: Any) -> str:
    return validation.text(value, "content", min_len=1, max_len=FACT_MAX, blank=False)


def tag(value: Any, field: str = "tag") -> str:
    return validation.text(value, field, min_len=1, max_len=TAG_MAX)


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
    return validation.text(value, "q", min_len=1, max_len=FACT_MAX)


def confidence(value: Any) -> float:
    return validation.number(value, "confidence", minimum=CONFIDENCE_MIN, maximum=CONFIDENCE_MAX)


def content(value: Any, kind: str, *, text_only: bool) -> Any:
    """An artifact's content: a string (of at most CONTENT_MAX_BYTES of UTF-8), or with
    `text_only` False (kind `structured_data`) any JSON value (of at most
    CONTENT_MAX_BYTES of compact JSON)."""
    if text_only and not isinstance(value, str):
        raise Invalid.field("content", f"Must be a string for kind {kind!r}.")
    return validation.json_value(value, "content", max_bytes=CONTENT_MAX_BYTES)


def metadata(value: Any) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise Invalid.field("metadata", "Must be a JSON object.")
    return validation.json_value(value, "metadata", max_bytes=METADATA_MAX_BYTES)


def merge_sources(value: Any) -> list[str]:
    """The agent ids whose slots a merge reads, sorted, each once."""
    if not isinstance(value, list) or not value:
        raise Invalid.field("sources", "Must be a non-empty list of agent ids.")
    if len(value) > MERGE_SOURCES_MAX:
        raise Invalid.field("sources", f"At most {MERGE_SOURCES_MAX} slots.")
    return sorted({agent_id(item, "sources") for item in value})


def step_number(value: Any, last: int, field: str = "step") -> int:
    """A step number from 1 to `last` (an arena's last step: `plan.last_step`), or 400."""
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= last:
        raise Invalid.field(field, f"Must be a step number from 1 to {last}.")
    return value


def lease_seconds(value: Any, field: str = "lease_seconds") -> int:
    return validation.integer(value, field, minimum=LEASE_MIN, maximum=LEASE_MAX)


def claim_id(value: Any) -> int:
    """A claim id (the seq of its `step_claimed` event; in a path, its decimal digits), or
    NotFound: any other value names no claim."""
    value = validation.integer_text(value)
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= SEQ_MAX:
        raise NotFound("No such claim.")
    return value


def request_text(value: Any) -> str:
    return validation.text(value, "text", min_len=1, max_len=REQUEST_MAX, blank=False)


def choices(value: Any) -> list[str] | None:
    """None (a free answer), or 1–CHOICES_MAX distinct strings of 1–CHOICE_MAX characters."""
    if value is None:
        return None
    if not isinstance(value, list) or not 1 <= len(value) <= CHOICES_MAX:
        raise Invalid.field("choices", f"Must be null or a list of 1 to {CHOICES_MAX} strings.")
    result = [
        validation.text(item, "choices", min_len=1, max_len=CHOICE_MAX, blank=False)
        for item in value
    ]
    if len(set(result)) != len(result):
        raise Invalid.field("choices", "The choices must be distinct.")
    return result


def answer_text(value: Any, *, required: bool) -> str:
    """An answer's text: 0–REQUEST_MAX characters, not blank when `required`."""
    if value is None and not required:
        return ""
    if required:
        return validation.text(value, "text", min_len=1, max_len=REQUEST_MAX, blank=False)
    return validation.text(value, "text", max_len=REQUEST_MAX)


def request_id(value: Any) -> uuid.UUID:
    """A request's UUID, or NotFound: a malformed id names no request."""
    try:
        return uuid.UUID(str(value))
    except (TypeError, ValueError, AttributeError):
        raise NotFound("No such request.") from None


def after(value: Any, maximum: int = SEQ_MAX) -> int:
    return validation.integer(value, "after", minimum=0, maximum=maximum)


def limit(value: Any) -> int:
    return validation.integer(value, "limit", minimum=1, maximum=PAGE_MAX)


def model_name(value: Any) -> str:
    """A model's name as the report gives it (`gpt-4o`, `anthropic/claude-sonnet-4-5`)."""
    return validation.text(value, "model", min_len=1, max_len=MODEL_NAME_MAX, blank=False)


def tokens(value: Any, field: str, *, minimum: int = 0) -> int:
    """A token or call count of one usage report: a JSON integer in the u32 range."""
    return validation.integer(value, field, minimum=minimum, maximum=U32_MAX)


def token_limit(value: Any, field: str) -> int:
    """A token limit of a budget: an integer from 0 to the u64 maximum."""
    return validation.integer(value, field, minimum=0, maximum=U64_MAX)


def money(value: Any, field: str) -> int:
    """An amount of US dollars in micro-dollars, exactly: a JSON number or a string of
    digits, at least 0, with at most 6 decimal places (trailing zeros aside), at most
    COST_MAX_MICRO_USD micro-dollars. Never goes through a binary float: a body's numbers
    arrive as `Decimal` (arenas/api/bodies.py); a float (an MCP argument) is read by its
    shortest decimal text, which is the literal that was sent."""
    if type(value) is str:
        plain = _PLAIN_MONEY_TEXT.fullmatch(value)
        if plain is not None:
            whole, places = plain.groups()
            return int(whole) * MICRO_PER_USD + int((places or "").ljust(MONEY_PLACES, "0"))
    refusal = Invalid.field(
        field,
        "Must be a number of US dollars from 0 with at most 6 decimal places "
        '(a JSON number or a string such as "0.012345").',
    )
    if isinstance(value, bool):
        raise refusal
    if isinstance(value, int):
        amount = Decimal(value)
    elif isinstance(value, Decimal):
        amount = value
    elif isinstance(value, float):
        amount = Decimal(repr(value))
    elif isinstance(value, str):
        if not _MONEY_TEXT.fullmatch(value):
            raise refusal
        amount = Decimal(value)
    else:
        raise refusal
    micros = _micros(amount)
    if micros is None:
        raise refusal
    if micros > COST_MAX_MICRO_USD:
        raise Invalid.field(field, f"At most {usd(COST_MAX_MICRO_USD)} dollars.")
    return int(micros)


def _micros(amount: Decimal) -> int | None:
    """`amount` in micro-dollars by integer arithmetic on its digits (no rounding to a
    context's precision); None when it is negative, not finite or finer than a micro-dollar."""
    sign, digits, exponent = amount.as_tuple()
    if not isinstance(exponent, int) or (sign and any(digits)):
        return None
    coefficient = int("".join(map(str, digits)) or "0")
    shift = exponent + MONEY_PLACES
    if coefficient == 0:
        return 0
    if shift > 40:  # far beyond any limit: never build the power
        return COST_MAX_MICRO_USD + 1
    if -shift > len(digits):  # a fraction finer than a micro-dollar
        return None
    if shift >= 0:
        return coefficient * 10**shift
    whole, rest = divmod(coefficient, 10**-shift)
    return None if rest else whole


def usd(micros: int) -> str:
    """Micro-dollars as the wire shows money: a decimal string with 6 places."""
    whole, fraction = divmod(micros, MICRO_PER_USD)
    return f"{whole}.{fraction:06d}"
