"""The errors the client raises: `ArenaError` and one subclass per error code of the API.

Each error carries the server's `code`, the HTTP `status`, the `detail` sentence and the
whole error body (`body`); the extra fields that some codes carry are attributes of their
class (`Invalid.fields`, `StepClaimed.holder`, `InvalidTransition.allowed`, ...). A code
this client does not know becomes the class of its status (any 409 is a `Conflict`), or
`ArenaError` itself.

A websocket feed refused with close code 4400/4401/4403/4404 raises the class of the
status 400/401/403/404.
"""

from __future__ import annotations

from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any, ClassVar

import httpx


class ArenaError(Exception):
    """An answer of the server that is not a success, or a server that cannot be reached."""

    code: str
    status: int | None
    detail: str
    body: dict[str, Any]
    # The extra fields of the error body that a subclass exposes as attributes.
    extra: ClassVar[tuple[str, ...]] = ()

    def __init__(
        self, code: str, status: int | None, detail: str, body: dict[str, Any] | None = None
    ) -> None:
        super().__init__(f"{code}: {detail}" if detail else code)
        self.code = code
        self.status = status
        self.detail = detail
        self.body = dict(body or {})
        for name in self.extra:
            setattr(self, name, self.body.get(name))


class Unreachable(ArenaError):
    """No answer: the connection failed every attempt (`__cause__` is the last failure)."""


# --- one class per status ------------------------------------------------------------------


class Invalid(ArenaError):
    """400 `invalid`: a malformed request or a value out of range; `fields` names them."""

    extra = ("fields",)
    fields: dict[str, list[str]] | None


class NotAuthenticated(ArenaError):
    """401 `not_authenticated`: no valid bearer token."""


class PermissionDenied(ArenaError):
    """403 `permission_denied`: the role or a permission does not allow this."""


class NotFound(ArenaError):
    """404 `not_found`: no such arena (or the caller is not a participant), or object."""


class MethodNotAllowed(ArenaError):
    """405 `method_not_allowed`."""


class Conflict(ArenaError):
    """409: the arena's state refuses the operation. Each code has a subclass."""


class PreconditionFailed(ArenaError):
    """412 `precondition_failed`: `If-Match` names an older version of the arena."""


class PayloadTooLarge(ArenaError):
    """413 `payload_too_large`: the body is over the server's limit."""


class UnsupportedMediaType(ArenaError):
    """415 `unsupported_media_type`: the body is not `application/json`."""


class IdempotencyKeyReused(ArenaError):
    """422 `idempotency_key_reused`: the key was used with another request."""


class Throttled(ArenaError):
    """429 `throttled`: over the rate limit, also after the retries; `retry_after` seconds."""

    retry_after: float | None = None


class ServerError(ArenaError):
    """5xx: `server_error`, or a proxy's 502/503/504 after the retries."""


# --- 409: one class per code ---------------------------------------------------------------


class InvalidTransition(Conflict):
    """`invalid_transition`: that lifecycle action is not allowed from `current`."""

    extra = ("current", "requested", "allowed")
    current: str | None
    requested: str | None
    allowed: list[str] | None


class ArenaNotActive(Conflict):
    """`arena_not_active`: the arena's state does not allow the operation."""


class ArenaArchived(ArenaNotActive):
    """`arena_archived`: the arena is archived (a kind of `ArenaNotActive`)."""


class StepAlreadyCompleted(Conflict):
    """`step_already_completed`."""


class StepBlocked(Conflict):
    """`step_blocked`: the step waits for the steps in `waiting_for`."""

    extra = ("waiting_for",)
    waiting_for: list[int] | None


class AlreadyParticipant(Conflict):
    """`already_participant`."""


class LastCoordinator(Conflict):
    """`last_coordinator`: the last coordinator cannot leave."""


class StepClaimed(Conflict):
    """`step_claimed`: another agent holds the step (`holder`, `claim_id`, `expires_at`)."""

    extra = ("holder", "claim_id", "expires_at")
    holder: str | None
    claim_id: int | None
    expires_at: str | None


class ClaimLost(Conflict):
    """`claim_lost`: the claim `claim_id` is no longer live (its lease lapsed or the step was
    taken over)."""

    extra = ("claim_id",)
    claim_id: int | None


class ReviewPending(Conflict):
    """`review_pending`: the step's review is open."""


class RequestClosed(Conflict):
    """`request_closed`: the request was answered or cancelled already."""


class IdempotencyInProgress(Conflict):
    """`idempotency_in_progress`: a request with the same key is still running."""


BY_CODE: dict[str, type[ArenaError]] = {
    "invalid": Invalid,
    "not_authenticated": NotAuthenticated,
    "permission_denied": PermissionDenied,
    "not_found": NotFound,
    "method_not_allowed": MethodNotAllowed,
    "invalid_transition": InvalidTransition,
    "arena_not_active": ArenaNotActive,
    "arena_archived": ArenaArchived,
    "step_already_completed": StepAlreadyCompleted,
    "step_blocked": StepBlocked,
    "already_participant": AlreadyParticipant,
    "last_coordinator": LastCoordinator,
    "step_claimed": StepClaimed,
    "claim_lost": ClaimLost,
    "review_pending": ReviewPending,
    "request_closed": RequestClosed,
    "idempotency_in_progress": IdempotencyInProgress,
    "precondition_failed": PreconditionFailed,
    "payload_too_large": PayloadTooLarge,
    "unsupported_media_type": UnsupportedMediaType,
    "idempotency_key_reused": IdempotencyKeyReused,
    "throttled": Throttled,
    "server_error": ServerError,
}

BY_STATUS: dict[int, type[ArenaError]] = {
    400: Invalid,
    401: NotAuthenticated,
    403: PermissionDenied,
    404: NotFound,
    405: MethodNotAllowed,
    409: Conflict,
    412: PreconditionFailed,
    413: PayloadTooLarge,
    415: UnsupportedMediaType,
    422: IdempotencyKeyReused,
    429: Throttled,
}

# Close codes of a refused feed (docs/live.md): 4000 + the HTTP status of the refusal.
FEED_REFUSALS = {4400: 400, 4401: 401, 4403: 403, 4404: 404}


def error_class(code: str, status: int | None) -> type[ArenaError]:
    if code in BY_CODE:
        return BY_CODE[code]
    if status is not None and status >= 500:
        return ServerError
    return BY_STATUS.get(status or 0, ArenaError)


def error_from_response(response: httpx.Response) -> ArenaError:
    """The error of a response that is not a success."""
    try:
        body = response.json()
    except ValueError:
        body = None
    if not isinstance(body, dict) or not isinstance(body.get("error"), str):
        text = response.text.strip()[:300] or response.reason_phrase
        body = {"error": f"http_{response.status_code}", "detail": text}
    error = error_class(body["error"], response.status_code)(
        body["error"], response.status_code, str(body.get("detail", "")) + _hint(response), body
    )
    if isinstance(error, Throttled):
        error.retry_after = retry_after(response)
    return error


def _hint(response: httpx.Response) -> str:
    """What to fix when the request cannot have reached an endpoint: a base URL ending in
    `/api` (the client adds `/api/` itself), say `ALEPH_URL=http://127.0.0.1:8000/api`."""
    if response.status_code == 404 and "/api/api/" in response.request.url.path:
        return (
            " (The client's base URL ends in /api, so it asked for /api/api/…: give the "
            "server's address without /api, e.g. http://127.0.0.1:8000.)"
        )
    return ""


def error_from_close(code: int, reason: str) -> ArenaError | None:
    """The error of a feed closed by the server with a refusal code, else None."""
    status = FEED_REFUSALS.get(code)
    if status is None:
        return None
    name = reason or next(c for c, cls in BY_CODE.items() if cls is BY_STATUS[status])
    return error_class(name, status)(
        name, status, f"The live feed was refused (close code {code}).", {"error": name}
    )


def retry_after(response: httpx.Response) -> float | None:
    """`Retry-After` in seconds (the delay form; the date form counts from now)."""
    value = response.headers.get("Retry-After")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, (when - datetime.now(UTC)).total_seconds())
