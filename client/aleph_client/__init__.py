"""Python client of Aleph Arena: the REST API, the live feed and a worker loop.

    from aleph_client import ArenaClient

    with ArenaClient("http://127.0.0.1:8000", token) as client:
        report = client.work(arena_id, lambda step: f"did {step.title}")

`ArenaClient` blocks; `AsyncArenaClient` has the same methods as coroutines. Errors are
`ArenaError` subclasses, one per error code of the API.
"""

from .aio import AsyncArenaClient, AsyncFeed, AsyncStream
from .api import ENDPOINTS, etag
from .client import ArenaClient, Feed, Stream
from .core import Retry
from .errors import (
    AlreadyParticipant,
    ArenaArchived,
    ArenaError,
    ArenaNotActive,
    ClaimLost,
    Conflict,
    IdempotencyInProgress,
    IdempotencyKeyReused,
    Invalid,
    InvalidTransition,
    LastCoordinator,
    MethodNotAllowed,
    NotAuthenticated,
    NotFound,
    PayloadTooLarge,
    PermissionDenied,
    PreconditionFailed,
    RequestClosed,
    ReviewPending,
    ServerError,
    StepAlreadyCompleted,
    StepBlocked,
    StepClaimed,
    Throttled,
    Unreachable,
    UnsupportedMediaType,
)
from .work import ClaimedStep, WorkReport

__all__ = [
    "ENDPOINTS",
    "AlreadyParticipant",
    "ArenaArchived",
    "ArenaClient",
    "ArenaError",
    "ArenaNotActive",
    "AsyncArenaClient",
    "AsyncFeed",
    "AsyncStream",
    "ClaimLost",
    "ClaimedStep",
    "Conflict",
    "Feed",
    "IdempotencyInProgress",
    "IdempotencyKeyReused",
    "Invalid",
    "InvalidTransition",
    "LastCoordinator",
    "MethodNotAllowed",
    "NotAuthenticated",
    "NotFound",
    "PayloadTooLarge",
    "PermissionDenied",
    "PreconditionFailed",
    "RequestClosed",
    "Retry",
    "ReviewPending",
    "ServerError",
    "StepAlreadyCompleted",
    "StepBlocked",
    "StepClaimed",
    "Stream",
    "Throttled",
    "Unreachable",
    "UnsupportedMediaType",
    "WorkReport",
    "etag",
]
