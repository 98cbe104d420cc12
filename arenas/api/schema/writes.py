"""The description of a write on one arena (`arena_write`, `arena_delete`): its 409 codes
are those the catalogue of operations (arenas/operations.py) declares for the handle's
operation it calls."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import (
    OpenApiParameter,
    extend_schema,
)

from arenas import operations

from .errors import errors, write_errors
from .parameters import ARENA_ID, IDEMPOTENCY_KEY, REPLAYED


def arena_write(
    summary: str,
    description: str,
    *,
    request: Any,
    responds: Any,
    tags: list[str],
    operation: str,
    status: int = 201,
    parameters: tuple[Any, ...] = (),
    also: dict[int, Any] | None = None,
) -> Any:
    """The OpenAPI description of a POST on one arena: the arena's id, Idempotency-Key,
    the answer `responds` with `status` (and the other answers `also`), and every write
    error with the 409 codes of the handle's `operation`."""
    return extend_schema(
        summary=summary,
        description=description,
        request=request,
        parameters=[ARENA_ID, IDEMPOTENCY_KEY, REPLAYED, *parameters],
        responses={
            status: responds,
            **(also or {}),
            **write_errors(*operations.conflicts(operation)),
        },
        tags=tags,
    )


def arena_delete(
    summary: str,
    description: str,
    *,
    parameter: OpenApiParameter,
    operation: str,
    tags: list[str],
    invalid: bool = False,
) -> Any:
    """The OpenAPI description of a DELETE of something of one arena (named by the path
    `parameter`): 204, or the errors with the 409 codes of the handle's `operation` (and
    400 when `invalid`)."""
    statuses = (400,) if invalid else ()
    return extend_schema(
        summary=summary,
        description=description,
        parameters=[ARENA_ID, parameter],
        responses={
            204: None,
            **errors(*statuses, 401, 403, 404, 409, 429, conflicts=operations.conflicts(operation)),
        },
        tags=tags,
    )
