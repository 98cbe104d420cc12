"""An arena's history: the scrubber's data (the state at a seq) and forking from it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_GET, require_POST

from arenas import inputs, validation
from arenas.aggregate import progress_percent
from arenas.errors import DomainError
from arenas.events import to_wire
from arenas.handle import ArenaHandle
from arenas.models import (
    Artifact,
    Fact,
    InputRequest,
    RequestKind,
)

from .base import (
    HISTORY_EVENTS_MAX,
    STEPS_SHOWN,
    as_datetime,
    duration,
    initial,
    lifecycle_shown,
    reader,
    staff_handle,
)
from .requests import request_item


@login_required
@require_GET
def arena_history(request: HttpRequest, arena_id: Any) -> JsonResponse:
    """The arena's log for the history view and its timeline: the latest
    HISTORY_EVENTS_MAX events in seq order (the scrubber folds nothing itself: it shows
    these in the feed and fetches the panels at the seq it stops on)."""
    handle = reader(request, arena_id)
    last = handle.aggregate().last_seq
    start = max(0, last - HISTORY_EVENTS_MAX)
    events = []
    while start < last:
        page = handle.events(after=start, limit=inputs.PAGE_MAX)
        if not page:
            break
        events.extend(to_wire(event) for event in page)
        start = page[-1].seq
    return JsonResponse({"events": events, "last_seq": last})


@login_required
@require_POST
def arena_fork(request: HttpRequest, arena_id: Any) -> HttpResponse:
    """Staff fork the arena at the seq the history view shows, and land on the fork."""
    handle = staff_handle(request, arena_id)
    at = request.POST.get("at", "")
    try:
        fork = handle.fork(validation.integer_text(at), request.POST.get("goal") or None)
    except DomainError as error:
        messages.error(request, f"Not forked: {error.detail}")
        return redirect("dashboard:arena", arena_id=handle.arena_id)
    messages.success(request, f"Forked at event #{fork.forked_at_seq}: this is the new arena.")
    return redirect("dashboard:arena", arena_id=fork.pk)


def history_context(handle: ArenaHandle, at: int) -> dict[str, Any]:
    """The panels' context at seq `at`, from the arena's state then (`handle.state`):
    read-only (the page hides the forms while it shows the past)."""
    state = handle.state(at)
    arena = {
        **state["arena"],
        "participants": [p for p in state["participants"] if p["left_at"] is None],
    }
    for participant in arena["participants"]:
        participant["initial"] = initial(participant["agent_id"])
        participant["presence"] = "unknown"
        participant["last_seen"] = None
    steps = state["plan"][:STEPS_SHOWN]
    for step in steps:
        if step["claim"] is not None:
            step["claim"]["until"] = as_datetime(step["claim"]["expires_at"])
    artifacts = [
        Artifact(
            id=a["id"],
            arena_id=a["arena_id"],
            agent_id=a["agent_id"],
            kind=a["kind"],
            title=a["title"],
            metadata=a["metadata"],
            created_at=as_datetime(a["created_at"]),
        )
        for a in state["artifacts"]
    ]
    facts = [
        Fact(
            id=f["id"],
            arena_id=f["arena_id"],
            source_agent_id=f["source_agent"],
            content=f["content"],
            confidence=f["confidence"],
            tags=f["tags"],
            settled_at=as_datetime(f["settled_at"]),
        )
        for f in state["facts"]
    ]
    present = {p["agent_id"] for p in arena["participants"]}
    requests = []
    for r in reversed(state["requests"]):  # oldest first, as they wait
        item = request_item(
            InputRequest(
                id=r["id"],
                arena_id=r["arena_id"],
                kind=r["kind"],
                agent_id=r["agent_id"],
                text=r["text"],
                choices=r["choices"],
                step=r["step"],
                status=r["status"],
                created_at=as_datetime(r["created_at"]),
            )
        )
        if r["kind"] == RequestKind.REVIEW:
            item["artifacts"] = [a for a in artifacts if a.agent_id == r["agent_id"]]
            item["in_arena"] = r["agent_id"] in present
        requests.append(item)
    total = arena["total_steps"]
    return {
        "arena": arena,
        "history_at": state["at"],
        "lease": duration(arena["lease_seconds"]),
        "later_claims": [],
        "created_at": datetime.fromisoformat(arena["created_at"]),
        "progress_percent": progress_percent(arena["completed_steps"], total),
        "lifecycle": lifecycle_shown(arena["status"]),
        "transitions": [],
        "steps": steps,
        "steps_truncated": len(state["plan"]) > STEPS_SHOWN,
        "artifacts": artifacts,
        "facts": facts,
        "requests": requests,
        "open_request_count": len(requests),
        "open_requests_shown": len(requests),
        "requests_truncated": False,
        "message_limit": inputs.MESSAGE_MAX,
        "answer_limit": inputs.REQUEST_MAX,
    }
