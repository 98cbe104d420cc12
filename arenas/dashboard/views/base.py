"""What the dashboard's pages share: how much each shows, the handles a page reads and
steers through, and the small formatters of its templates."""

from __future__ import annotations

import re
import uuid
from datetime import datetime
from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest

from arenas.errors import NotFound
from arenas.handle import ArenaHandle
from arenas.manager import ArenaManager
from arenas.models import (
    Status,
)

ARENAS_PER_PAGE = 50


REQUESTS_PER_PAGE = 50


# The arena page lists every open request (up to this many) and the latest closed ones.
OPEN_REQUESTS_SHOWN = 100


CLOSED_REQUESTS_SHOWN = 20


STEPS_SHOWN = 200


FEED_INITIAL = 50


# The history view's scrubber and timeline cover at most this many of the newest events.
HISTORY_EVENTS_MAX = 20_000


# The arena page fetches its panels at least this often even when no event arrives, so
# presence (not an event) and renewed leases (not events either) stay fresh.
PANELS_REFRESH_SECONDS = 15


# Stands for an arena id in URLs the JavaScript completes.
ARENA_ID_PLACEHOLDER = uuid.UUID(int=0)


manager = ArenaManager()


def reader(request: HttpRequest, arena_id: Any) -> ArenaHandle:
    try:
        return manager.user_handle(arena_id, request.user)
    except NotFound:
        raise Http404("No such arena.") from None


def staff_handle(request: HttpRequest, arena_id: Any) -> ArenaHandle:
    """The staff user's handle; 404 for an arena the user may not see, else 403 for non-staff."""
    handle = reader(request, arena_id)
    if not request.user.is_staff:
        raise PermissionDenied("Only staff may manage arenas from the dashboard.")
    return handle


def status_filter(request: HttpRequest) -> str | None:
    status = request.GET.get("status") or None
    if status is not None and status not in Status.values:
        messages.warning(request, "Unknown status filter: showing every arena.")
        return None
    return status


def initial(agent_id: str) -> str:
    """The avatar letter: the start of the id's last word (`demo-writer` → `W`)."""
    return re.split(r"[-_.]", agent_id)[-1][:1].upper() or agent_id[:1].upper()


def as_datetime(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def duration(seconds: int) -> str:
    """`90` → "1 min 30 s", `3600` → "1 h"."""
    hours, rest = divmod(seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    parts = [(hours, "h"), (minutes, "min"), (seconds, "s")]
    return " ".join(f"{value} {unit}" for value, unit in parts if value) or "0 s"


def lifecycle_shown(status: str) -> list[dict[str, Any]]:
    """The four states in order, each marked done, current or upcoming."""
    order = list(Status.values)
    here = order.index(status)
    return [
        {
            "value": value,
            "label": label,
            "state": "done" if i < here else "current" if i == here else "upcoming",
        }
        for i, (value, label) in enumerate(Status.choices)
    ]
