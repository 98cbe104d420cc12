"""Template context of every dashboard page."""

from __future__ import annotations

from functools import cache
from typing import Any

from django.http import HttpRequest

from arenas.manager import ArenaManager
from arenas.models import RequestStatus


def open_requests(request: HttpRequest) -> dict[str, Any]:
    """`open_request_total`: how many open requests the signed-in person may see (the
    header's count), counted only when a template shows it."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}

    @cache
    def count() -> int:
        return ArenaManager().requests_for_user(user, RequestStatus.OPEN).count()

    return {"open_request_total": count}
