"""Keyset pages, for every door that pages a list: the REST API (`arenas/api/pagination.py`
puts the cursor in a `next` link) and the MCP tools (their `cursor` argument and
`next_cursor`).

A cursor is opaque: the ordering values of the page's last item, so a page never repeats or
skips an item when rows are added meanwhile, and each list's order is total (its last
ordering field is unique). A cursor that is not one a list gave out is a 400 `invalid`
naming `cursor`.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, TypeVar

from django.core.exceptions import ValidationError
from django.db.models import Model, Q, QuerySet

from arenas.errors import Invalid
from arenas.inputs import PAGE_DEFAULT

# The orders of the lists: arenas newest first; artifacts and facts oldest first.
NEWEST_FIRST = ("-created_at", "id")
OLDEST_FIRST = ("created_at", "id")
CURSOR = "cursor"

T = TypeVar("T")


def _encode_cursor(values: Sequence[Any]) -> str:
    plain = [v.isoformat() if isinstance(v, datetime) else str(v) for v in values]
    return base64.urlsafe_b64encode(json.dumps(plain).encode()).decode().rstrip("=")


def _decode_cursor(raw: Any, size: int) -> list[str] | None:
    if raw is None:
        return None
    if not isinstance(raw, str):
        raise Invalid.field(CURSOR, "Not a cursor this list gave out.")
    try:
        values = json.loads(base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)))
    except (binascii.Error, ValueError):
        values = None
    if (
        not isinstance(values, list)
        or len(values) != size
        or not all(isinstance(v, str) for v in values)
    ):
        raise Invalid.field(CURSOR, "Not a cursor this list gave out.")
    return values


def _after(model: type[Model], ordering: Sequence[str], raw: list[str]) -> Q:
    """Rows strictly after the cursor's row in `ordering` ("-field" is descending)."""
    fields = [name.lstrip("-") for name in ordering]
    try:
        values = [model._meta.get_field(f).to_python(v) for f, v in zip(fields, raw, strict=True)]
    except ValidationError:
        raise Invalid.field(CURSOR, "Not a cursor this list gave out.") from None
    condition = Q()
    for index, name in enumerate(ordering):
        step = Q(**{f"{fields[index]}__{'lt' if name.startswith('-') else 'gt'}": values[index]})
        for before in range(index):
            step &= Q(**{fields[before]: values[before]})
        condition |= step
    return condition


def keyset_page(
    queryset: QuerySet,
    ordering: Sequence[str],
    to_wire: Callable[[Any], dict[str, Any]],
    limit: int = PAGE_DEFAULT,
    cursor: Any = None,
) -> tuple[list[dict[str, Any]], str | None]:
    """One page of `queryset` in `ordering` (the last field of which must be unique) after
    `cursor`, and the cursor of the next page (None on the last page)."""
    values = _decode_cursor(cursor, len(ordering))
    if values is not None:
        queryset = queryset.filter(_after(queryset.model, ordering, values))
    rows = list(queryset.order_by(*ordering)[: limit + 1])
    page = rows[:limit]
    following = None
    if len(rows) > limit:
        following = _encode_cursor([getattr(page[-1], name.lstrip("-")) for name in ordering])
    return [to_wire(row) for row in page], following


def sorted_page(
    items: Sequence[T],
    key: Callable[[T], str],
    to_wire: Callable[[T], dict[str, Any]],
    limit: int = PAGE_DEFAULT,
    cursor: Any = None,
) -> tuple[list[dict[str, Any]], str | None]:
    """One page of `items`, already sorted ascending by the unique string `key`, after
    `cursor`, and the cursor of the next page (None on the last page)."""
    values = _decode_cursor(cursor, 1)
    if values is not None:
        items = [item for item in items if key(item) > values[0]]
    page = list(items[:limit])
    following = _encode_cursor([key(page[-1])]) if len(items) > limit else None
    return [to_wire(item) for item in page], following
