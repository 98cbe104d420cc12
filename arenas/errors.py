"""Domain errors. Each carries the error code and HTTP status, so every adapter
(REST, websocket, admin, commands) reports a refusal the same way."""

from __future__ import annotations

import logging
import re
from typing import Any

from django import db

from .logs import error_line

logger = logging.getLogger(__name__)

# What no JSON encoder can write as UTF-8 (lone surrogates) or PostgreSQL can store (NUL).
_UNPRINTABLE = re.compile("[\x00\ud800-\udfff]")


def printable(text: str) -> str:
    """`text` with lone surrogates and NUL replaced by U+FFFD: an error that echoes the
    input (an unknown field's name, a refused value) must itself be valid, storable JSON."""
    return _UNPRINTABLE.sub("\ufffd", text)


def _printable(value: Any) -> Any:
    if isinstance(value, str):
        return printable(value)
    if isinstance(value, list | tuple):
        return [_printable(item) for item in value]
    if isinstance(value, dict):
        return {printable(str(key)): _printable(item) for key, item in value.items()}
    return value


class DomainError(Exception):
    code = "invalid"
    status = 400
    default_detail = "The request is invalid."

    def __init__(self, detail: str | None = None, **extra: Any) -> None:
        self.detail = printable(detail or self.default_detail)
        self.extra = {name: _printable(value) for name, value in extra.items()}
        super().__init__(self.detail)

    def as_dict(self) -> dict[str, Any]:
        return {"error": self.code, "detail": self.detail, **self.extra}


class Invalid(DomainError):
    """Input that fails validation; `fields` maps each field to its messages."""

    def __init__(self, fields: dict[str, list[str]] | None = None, detail: str | None = None):
        fields = _printable(fields or {})
        if detail is None:
            detail = (
                "Invalid input."
                if not fields
                else "Invalid input: "
                + "; ".join(
                    f"{name}: {' '.join(messages)}" for name, messages in sorted(fields.items())
                )
            )
        super().__init__(detail, fields=fields)
        self.fields = fields

    @classmethod
    def field(cls, name: str, message: str) -> Invalid:
        return cls({name: [message]})


class NotFound(DomainError):
    code = "not_found"
    status = 404
    default_detail = "Not found."


class PermissionDenied(DomainError):
    code = "permission_denied"
    status = 403
    default_detail = "You do not have permission to perform this action."


class Conflict(DomainError):
    status = 409


class InvalidTransition(Conflict):
    code = "invalid_transition"

    def __init__(self, current: str, requested: str, allowed: list[str]) -> None:
        super().__init__(
            f"An arena cannot go from {current!r} to {requested!r}.",
            current=current,
            requested=requested,
            allowed=allowed,
        )


def _conflict(code: str, detail: str) -> type[Conflict]:
    """A 409 refusal with its error code and the sentence it says when given none."""
    name = "".join(part.title() for part in code.split("_"))
    return type(name, (Conflict,), {"code": code, "default_detail": detail, "__module__": __name__})


ArenaNotActive = _conflict("arena_not_active", "The arena's state does not allow this operation.")
ArenaArchived = _conflict("arena_archived", "The arena is archived; it can only be read.")
StepAlreadyCompleted = _conflict("step_already_completed", "This step is already completed.")
StepBlocked = _conflict("step_blocked", "A step this one depends on is not completed yet.")
AlreadyParticipant = _conflict(
    "already_participant", "The agent is already a participant of this arena."
)
LastCoordinator = _conflict(
    "last_coordinator", "The last coordinator cannot leave an arena that is not archived."
)
StepClaimed = _conflict("step_claimed", "Another agent holds a live claim on this step.")
ClaimLost = _conflict(
    "claim_lost", "The claim is no longer live: its lease lapsed or it was released."
)
ReviewPending = _conflict("review_pending", "The step waits for a person's review.")
RequestClosed = _conflict("request_closed", "The request is already answered or cancelled.")


class PreconditionFailed(DomainError):
    """The caller's view of the arena is stale (an `If-Match` that no longer matches)."""

    code = "precondition_failed"
    status = 412
    default_detail = "The arena has changed since you read it; read it again and retry."


# What a database failing for a moment raises through Django: a connection lost or refused,
# no connection free in the pool in time (psycopg_pool's PoolTimeout), a serialization
# failure or deadlock, SQLite's "database is locked". The transaction was rolled back.
TRANSIENT_DATABASE_ERRORS = (db.OperationalError, db.InterfaceError)


class Unavailable(DomainError):
    """The database failed for a moment: nothing was applied, and the same request may be
    sent again (with its Idempotency-Key) after `retry_after` seconds. Every door answers it
    so: REST and the dashboard 503 with `Retry-After`, MCP a tool error `unavailable: …`."""

    code = "unavailable"
    status = 503
    default_detail = (
        "The database is unavailable for a moment; nothing was applied. Send the request "
        "again shortly (with the same Idempotency-Key)."
    )
    retry_after = 1


def unavailable(error: BaseException) -> Unavailable | None:
    """`Unavailable` for a transient database failure (logged briefly: once a minute with a
    count, settings.LOGGING), None for anything else."""
    if not isinstance(error, TRANSIENT_DATABASE_ERRORS):
        return None
    logger.warning(
        "The database failed a request; answered 503 unavailable (%s)", error_line(error)
    )
    return Unavailable()
