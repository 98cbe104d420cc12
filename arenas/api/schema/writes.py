"""The description of a write on one arena (`arena_write`, `arena_delete`) and the 409
conflicts shared by several."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import (
    OpenApiParameter,
    extend_schema,
)

from .errors import errors, write_errors
from .parameters import ARENA_ID, IDEMPOTENCY_KEY, REPLAYED

SLOT_CONFLICTS = ("arena_not_active", "arena_archived")


def arena_write(
    summary: str,
    description: str,
    *,
    request: Any,
    responds: Any,
    tags: list[str],
    status: int = 201,
    conflicts: tuple[str, ...] = SLOT_CONFLICTS,
    parameters: tuple[Any, ...] = (),
    also: dict[int, Any] | None = None,
) -> Any:
    """The OpenAPI description of a POST on one arena: the arena's id, Idempotency-Key,
    the answer `responds` with `status` (and the other answers `also`), and every write
    error with the 409 `conflicts`."""
    return extend_schema(
        summary=summary,
        description=description,
        request=request,
        parameters=[ARENA_ID, IDEMPOTENCY_KEY, REPLAYED, *parameters],
        responses={status: responds, **(also or {}), **write_errors(*conflicts)},
        tags=tags,
    )


def arena_delete(
    summary: str,
    description: str,
    *,
    parameter: OpenApiParameter,
    conflicts: tuple[str, ...],
    tags: list[str],
    invalid: bool = False,
) -> Any:
    """The OpenAPI description of a DELETE of something of one arena (named by the path
    `parameter`): 204, or the errors with the 409 `conflicts` (and 400 when `invalid`)."""
    statuses = (400,) if invalid else ()
    return extend_schema(
        summary=summary,
        description=description,
        parameters=[ARENA_ID, parameter],
        responses={
            204: None,
            **errors(*statuses, 401, 403, 404, 409, 429, conflicts=(*conflicts, "arena_archived")),
        },
        tags=tags,
    )


CLAIM_CONFLICTS = (
    "step_claimed",
    "step_already_completed",
    "step_blocked",
    "budget_exhausted",
    *SLOT_CONFLICTS,
)
