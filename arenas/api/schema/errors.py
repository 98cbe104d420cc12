"""Errors in the OpenAPI description: the error body, each status's text, the headers
of 401, 429 and 503 (`add_error_headers`, a postprocessing hook)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import (
    OpenApiResponse,
)
from rest_framework import serializers

from arenas.api.authentication import CHALLENGE
from arenas.models import (
    Status,
)

from .base import Wire


class ErrorSerializer(Wire):
    """Every error: a code, a sentence for a person and, for `invalid`, the fields."""

    error = serializers.CharField(help_text="The error code, e.g. `invalid`, `not_found`.")
    detail = serializers.CharField()
    fields = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()),
        required=False,
        help_text="`invalid` only: each field (e.g. `plan[1].title`) with its messages.",
    )
    current = serializers.ChoiceField(Status.choices, required=False)
    requested = serializers.CharField(required=False)
    allowed = serializers.ListField(child=serializers.ChoiceField(Status.choices), required=False)
    waiting_for = serializers.ListField(
        child=serializers.IntegerField(),
        required=False,
        help_text="`step_blocked` only: the steps still to complete first.",
    )
    holder = serializers.CharField(
        required=False, help_text="`step_claimed` only: the agent holding the step."
    )
    claim_id = serializers.IntegerField(
        required=False,
        help_text="`step_claimed`: the holder's claim; `claim_lost`: the claim named.",
    )
    expires_at = serializers.DateTimeField(
        required=False, help_text="`step_claimed` only: when the holder's lease ends."
    )
    scope = serializers.CharField(
        required=False, help_text="`budget_exhausted` only: `arena`, or the agent id."
    )
    limit = serializers.JSONField(
        required=False,
        help_text="`budget_exhausted` only: the limit reached (dollars as a string, or tokens).",
    )
    spent = serializers.JSONField(
        required=False, help_text="`budget_exhausted` only: what the scope spent against it."
    )


ERROR_TEXT = {
    400: "`invalid`: malformed JSON, a wrong type or value (see `fields`), a bad query "
    "parameter or Idempotency-Key.",
    401: "`not_authenticated`: no valid bearer token (header `WWW-Authenticate`).",
    403: "`permission_denied`: your role or permissions do not allow this.",
    404: "`not_found`: no such arena (or you are not a participant), or no such object.",
    412: "`precondition_failed`: `If-Match` names an older version of the arena.",
    413: "`payload_too_large`: the body is larger than the server's limit.",
    415: "`unsupported_media_type`: send `Content-Type: application/json`.",
    422: "`idempotency_key_reused`: this Idempotency-Key was used with another request.",
    429: "`throttled`: over the rate limit; retry after `Retry-After` seconds.",
}


IN_PROGRESS = "idempotency_in_progress"


def errors(*statuses: int, conflicts: tuple[str, ...] = ()) -> dict[int, OpenApiResponse]:
    """Documented error responses; `conflicts` are the operation's 409 codes."""
    texts = {**ERROR_TEXT, 409: "; ".join(f"`{code}`" for code in conflicts)}
    return {s: OpenApiResponse(ErrorSerializer, description=texts[s]) for s in statuses}


ERROR_HEADERS = {
    "401": {
        "WWW-Authenticate": {
            "schema": {"type": "string", "enum": [CHALLENGE]},
            "required": True,
            "description": "The challenge: send an agent's bearer token.",
        }
    },
    "429": {
        "Retry-After": {
            "schema": {"type": "integer", "minimum": 1},
            "required": True,
            "description": "Seconds to wait before the next request.",
        }
    },
}


UNAVAILABLE = (
    "`unavailable`: the database failed for a moment (nothing was applied); send the same "
    "request again after `Retry-After` seconds, with the same Idempotency-Key."
)


def add_error_headers(result: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    """drf-spectacular postprocessing hook: every 401 names its challenge and every 429
    its Retry-After; every operation that answers errors may answer 503 `unavailable`
    (arenas/errors.py), with its Retry-After."""
    for item in result.get("paths", {}).values():
        for operation in item.values():
            responses = operation.get("responses", {})
            error = responses.get("429") or responses.get("401")
            if error is not None and "content" in error:
                responses["503"] = {"description": UNAVAILABLE, "content": error["content"]}
                responses["503"]["headers"] = dict(ERROR_HEADERS["429"])
            for status, headers in ERROR_HEADERS.items():
                response = operation.get("responses", {}).get(status)
                if response is not None:
                    response.setdefault("headers", {}).update(headers)
    return result


def read_errors(*extra: int) -> dict[int, OpenApiResponse]:
    """A GET's errors: 401, 429 and `extra`."""
    return errors(*sorted({401, 429, *extra}))


def write_errors(*conflicts: str, extra: tuple[int, ...] = ()) -> dict[int, OpenApiResponse]:
    """A POST's errors: body, auth, permission, arena, idempotency and rate errors."""
    statuses = sorted({400, 401, 403, 404, 409, 413, 415, 422, 429, *extra})
    return errors(*statuses, conflicts=(*conflicts, IN_PROGRESS))
