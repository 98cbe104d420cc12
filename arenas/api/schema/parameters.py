"""Headers and parameters of the API's operations."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import (
    OpenApiParameter,
)

from arenas.api import idempotency
from arenas.api.authentication import CHALLENGE
from arenas.inputs import (
    PAGE_DEFAULT,
    PAGE_MAX,
    U32_MAX,
)


def header(name: str, schema: Any, description: str, **options: Any) -> OpenApiParameter:
    """A request header (or with `response=...` a response header) of the API."""
    options.setdefault("required", False)
    return OpenApiParameter(
        name, type=schema, location=OpenApiParameter.HEADER, description=description, **options
    )


def query(name: str, schema: Any, description: str = "") -> OpenApiParameter:
    return OpenApiParameter(
        name, type=schema, location=OpenApiParameter.QUERY, description=description
    )


def after(maximum: int) -> OpenApiParameter:
    """`after`: the list starts after this number."""
    return query("after", {"type": "integer", "minimum": 0, "maximum": maximum, "default": 0})


ARENA_ID = OpenApiParameter(
    "id", type={"type": "string", "format": "uuid"}, location=OpenApiParameter.PATH
)


IDEMPOTENCY_KEY = header(
    idempotency.HEADER,
    {"type": "string", "minLength": 1, "maxLength": idempotency.KEY_MAX},
    "Repeating a POST with the same key and body within 24 hours returns the first response "
    "again (header `Idempotent-Replayed: true`) without applying it twice.",
)


REPLAYED = header(
    idempotency.REPLAYED_HEADER,
    {"type": "string", "enum": ["true"]},
    "Present on a response replayed for a repeated Idempotency-Key.",
    response=True,
)


ETAG = header(
    "ETag",
    str,
    "The arena's version; it changes with every event. Send it as `If-Match`.",
    response=[200, 201],
    required=True,
)


IF_MATCH = header(
    "If-Match", str, "Apply only if the arena's ETag is one of these (`*` for any): else 412."
)


LIMIT = query(
    "limit", {"type": "integer", "minimum": 1, "maximum": PAGE_MAX, "default": PAGE_DEFAULT}
)


CURSOR = query("cursor", str, "Opaque: copy it from a page's `next` link.")


PAGED = [LIMIT, CURSOR]


WWW_AUTHENTICATE = f"Unauthenticated requests get `WWW-Authenticate: {CHALLENGE}`."


STEP_NUMBER = OpenApiParameter(
    "step",
    type={"type": "integer", "minimum": 1, "maximum": U32_MAX},
    location=OpenApiParameter.PATH,
)


CLAIM_ID = OpenApiParameter(
    "claim_id",
    type={"type": "integer", "minimum": 1},
    location=OpenApiParameter.PATH,
    description="The claim's id: the seq of its step_claimed event.",
)


REQUEST_ID = OpenApiParameter(
    "request_id", type={"type": "string", "format": "uuid"}, location=OpenApiParameter.PATH
)
