"""Lists as `{"results": [...], "next": <url or null>}`, paginated by keyset.

`limit` is 1–500 (default 50). `next` carries an opaque `cursor`: the ordering values of
the page's last item, so a page never repeats or skips an item when rows are added
meanwhile, and each list's order is total (its last ordering field is unique).
A `limit`, `after` or `cursor` that is not valid is a 400 `invalid` naming the parameter.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, TypeVar

from django.core.exceptions import ValidationError
from django.db.models import Model, Q, QuerySet
from rest_framework.request import Request

from arenas.errors import Invalid
from arenas.inputs import PAGE_DEFAULT, PAGE_MAX

CURSOR = "cursor"
_DIGITS = re.compile(r"[0-9]{1,20}")

T = TypeVar("T")


def query_int(request: Request, name: str, default: int, minimum: int, maximum: int) -> int:
    """A non-negative integer query parameter within [minimum, maximum]."""
    raw = request.query_params.get(name)
    if raw is None:
        return default
    if not _DIGITS.fullmatch(raw) or not minimum <= int(raw) <= maximum:
        raise Invalid.field(name, f"Must be an integer from {minimum} to {maximum}.")
    return int(raw)


def query_limit(request: Request) -> int:
    return query_int(request, "limit", PAGE_DEFAULT, 1, PAGE_MAX)


def next_url(request: Request, **params: Any) -> str:
    """This request's URL with `params` replaced in its query string."""
    query = request.query_params.copy()
    for name, value in params.items():
        query[name] = str(value)
    return request.build_absolute_uri(request.path) + "?" + query.urlencode()


def _encode_cursor(values: Sequence[Any]) -> str:
    plain = [v.isoformat() if isinstance(v, datetime) else str(v) for v in values]
    return base64.urlsafe_b64encode(json.dumps(plain).encode()).decode().rstrip("=")


def _decode_cursor(request: Request, size: int) -> list[str] | None:
    raw = request.query_params.get(CURSOR)
    if raw is None:
        return None
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


def paginate_queryset(
    request: Request,
    queryset: QuerySet,
    ordering: Sequence[str],
    to_wire: Callable[[Any], dict[str, Any]],
) -> dict[str, Any]:
    """One page of `queryset` in `ordering`, the last field of which must be unique."""
    limit = query_limit(request)
    cursor = _decode_cursor(request, len(ordering))
    if cursor is not None:
        queryset = queryset.filter(_after(queryset.model, ordering, cursor))
    rows = list(queryset.order_by(*ordering)[: limit + 1])
    page = rows[:limit]
    following = None
    if len(rows) > limit:
        last = page[-1]
        values = [getattr(last, name.lstrip("-")) for name in ordering]
        following = next_url(request, **{CURSOR: _encode_cursor(values)})
    return {"results": [to_wire(row) for row in page], "next": following}


def paginate_sorted(
    request: Request,
    items: Sequence[T],
    key: Callable[[T], str],
    to_wire: Callable[[T], dict[str, Any]],
) -> dict[str, Any]:
    """One page of `items`, already sorted ascending by the unique string `key`."""
    limit = query_limit(request)
    cursor = _decode_cursor(request, 1)
    if cursor is not None:
        items = [item for item in items if key(item) > cursor[0]]
    page = list(items[:limit])
    following = None
    if len(items) > limit:
        following = next_url(request, **{CURSOR: _encode_cursor([key(page[-1])])})
    return {"results": [to_wire(item) for item in page], "next": following}
