"""Lists as `{"results": [...], "next": <url or null>}`, paginated by keyset.

`limit` is 1–500 (default 50). `next` carries an opaque `cursor`: the ordering values of
the page's last item, so a page never repeats or skips an item when rows are added
meanwhile, and each list's order is total (its last ordering field is unique).
A `limit`, `after` or `cursor` that is not valid is a 400 `invalid` naming the parameter.

The paging itself (`keyset_page`, `sorted_page`, the cursors) is `arenas/doors/pages.py`,
shared with the MCP tools; this module reads it from and writes it to a request.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any

from django.db.models import QuerySet
from rest_framework.request import Request

from arenas.doors.pages import (
    CURSOR,
    NEWEST_FIRST,
    OLDEST_FIRST,
    T,
    keyset_page,
    sorted_page,
)
from arenas.errors import Invalid
from arenas.inputs import PAGE_DEFAULT, PAGE_MAX

__all__ = [
    "CURSOR",
    "NEWEST_FIRST",
    "OLDEST_FIRST",
    "keyset_page",
    "next_url",
    "paginate_queryset",
    "paginate_sorted",
    "query_int",
    "query_limit",
    "sorted_page",
]

_DIGITS = re.compile(r"[0-9]{1,20}")


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


def paginate_queryset(
    request: Request,
    queryset: QuerySet,
    ordering: Sequence[str],
    to_wire: Callable[[Any], dict[str, Any]],
) -> dict[str, Any]:
    """One page of `queryset` in `ordering`, the last field of which must be unique."""
    page, following = keyset_page(
        queryset, ordering, to_wire, query_limit(request), request.query_params.get(CURSOR)
    )
    return _listing(request, page, following)


def paginate_sorted(
    request: Request,
    items: Sequence[T],
    key: Callable[[T], str],
    to_wire: Callable[[T], dict[str, Any]],
) -> dict[str, Any]:
    """One page of `items`, already sorted ascending by the unique string `key`."""
    page, following = sorted_page(
        items, key, to_wire, query_limit(request), request.query_params.get(CURSOR)
    )
    return _listing(request, page, following)


def _listing(request: Request, page: list[dict[str, Any]], following: str | None) -> dict[str, Any]:
    url = None if following is None else next_url(request, **{CURSOR: following})
    return {"results": page, "next": url}
