"""The arena pages: the list of arenas, an arena's page and its panels, an artifact."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET

from arenas import inputs, lifecycle, validation
from arenas.aggregate import progress_percent
from arenas.errors import DomainError, NotFound
from arenas.events import timestamp, to_wire
from arenas.handle import ArenaHandle
from arenas.models import (
    SlotStatus,
    Status,
)
from arenas.representations import arena_summary, step_claim_dict

from .base import (
    ARENA_ID_PLACEHOLDER,
    ARENAS_PER_PAGE,
    FEED_INITIAL,
    PANELS_REFRESH_SECONDS,
    STEPS_SHOWN,
    as_datetime,
    duration,
    initial,
    lifecycle_shown,
    manager,
    reader,
    status_filter,
)
from .history import history_context
from .requests import requests_context
from .spend import spend_context


@login_required
@require_GET
def arena_list(request: HttpRequest) -> HttpResponse:
    status = status_filter(request)
    page = Paginator(manager.arenas_for_user(request.user, status), ARENAS_PER_PAGE).get_page(
        request.GET.get("page")
    )
    return render(
        request,
        "dashboard/arena_list.html",
        {
            "page": page,
            "arenas": [
                {
                    **arena_summary(arena, arena.participant_count),
                    "last_activity_dt": arena.last_activity_at or arena.created_at,
                }
                for arena in page
            ],
            "empty_row": {},
            "status": status,
            "statuses": Status.choices,
            "live_config": {
                "status": status,
                "insertNew": page.number == 1,
                "statusLabels": dict(Status.choices),
                "arenaUrl": reverse("dashboard:arena", args=[ARENA_ID_PLACEHOLDER]),
                "arenaIdPlaceholder": str(ARENA_ID_PLACEHOLDER),
            },
        },
    )


@login_required
@require_GET
def arena_detail(request: HttpRequest, arena_id: Any) -> HttpResponse:
    handle = reader(request, arena_id)
    context = _panels_context(handle)
    arena = context["arena"]
    feed = handle.events(after=max(0, arena["last_seq"] - FEED_INITIAL), limit=FEED_INITIAL)
    context.update(
        live_config={
            "arenaId": arena["id"],
            "panelsUrl": reverse("dashboard:arena_panels", args=[arena["id"]]),
            "events": [to_wire(event) for event in feed],
            "statusLabels": dict(Status.choices),
            # Lease countdowns run on the browser's clock, corrected by this reading of ours.
            "serverTime": timestamp(timezone.now()),
            "refreshSeconds": PANELS_REFRESH_SECONDS,
            "spend": handle.spend_over_time(),
            "historyUrl": reverse("dashboard:arena_history", args=[arena["id"]]),
        },
        may_fork=request.user.is_staff,
    )
    return render(request, "dashboard/arena_detail.html", context)


@login_required
@require_GET
def arena_panels(request: HttpRequest, arena_id: Any) -> HttpResponse:
    """The parts of the arena page that events change, for the page's live refresh; with
    `?at=<seq>`, as they were right after that event (the history view)."""
    handle = reader(request, arena_id)
    at = request.GET.get("at")
    if at is None:
        return render(request, "dashboard/_arena_panels.html", _panels_context(handle))
    at = validation.integer_text(at)
    if not isinstance(at, int) or not 1 <= at <= inputs.SEQ_MAX:
        return JsonResponse({"error": "invalid", "detail": "at: a seq of the arena."}, status=400)
    try:
        context = history_context(handle, at)
    except DomainError as error:
        return JsonResponse({"error": error.code, "detail": error.detail}, status=400)
    return render(request, "dashboard/_arena_panels.html", context)


@login_required
@require_GET
def artifact_detail(request: HttpRequest, arena_id: Any, artifact_id: Any) -> HttpResponse:
    handle = reader(request, arena_id)
    try:
        artifact = handle.artifact(artifact_id)
    except NotFound:
        raise Http404("No such artifact.") from None
    except DomainError as error:
        raise PermissionDenied(error.detail) from None
    content = artifact.content
    if not isinstance(content, str):
        content = json.dumps(content, indent=2, ensure_ascii=False)
    return render(
        request,
        "dashboard/artifact_detail.html",
        {
            "arena": handle.detail(),
            "artifact": artifact,
            "content": content,
            "metadata": json.dumps(artifact.metadata, indent=2, ensure_ascii=False),
        },
    )


def _panels_context(handle: ArenaHandle) -> dict[str, Any]:
    arena = handle.detail()
    total = arena["total_steps"]
    work_over = arena["status"] != Status.ACTIVE or 0 < total <= arena["completed_steps"]
    for participant in arena["participants"]:
        participant["initial"] = initial(participant["agent_id"])
        participant["last_seen"] = as_datetime(participant["last_seen_at"])
        participant["slot_shown"], participant["slot_label"] = _slot_shown(participant, work_over)
        participant["work_over"] = work_over
    steps, more_after = handle.steps(limit=STEPS_SHOWN)
    # Live claims on steps past the ones shown, so that every live claim is on the page.
    later = []
    if more_after is not None:
        held = handle.live_claims().filter(step__gt=more_after)[:STEPS_SHOWN]
        later = [{"step": claim.step, "claim": step_claim_dict(claim)} for claim in held]
    for step in [*steps, *later]:
        if step["claim"] is not None:
            step["claim"]["until"] = as_datetime(step["claim"]["expires_at"])
    artifacts = list(handle.artifacts())
    return {
        "arena": arena,
        "lease": duration(arena["lease_seconds"]),
        "later_claims": later,
        "created_at": datetime.fromisoformat(arena["created_at"]),
        "progress_percent": progress_percent(arena["completed_steps"], total),
        "lifecycle": lifecycle_shown(arena["status"]),
        "transitions": [
            {
                "action": action,
                "label": lifecycle.ACTION_LABELS[action],
                "help": lifecycle.ACTION_HELP[action],
            }
            for action in lifecycle.allowed_actions(arena["status"])
        ],
        "steps": steps,
        "steps_truncated": more_after is not None,
        "artifacts": artifacts,
        "facts": list(handle.facts()),
        **requests_context(handle, arena, artifacts),
        "spend": spend_context(handle, arena),
        "message_limit": inputs.MESSAGE_MAX,
        "answer_limit": inputs.REQUEST_MAX,
    }


def _slot_shown(participant: dict[str, Any], work_over: bool) -> tuple[str, str]:
    """A slot's state as the page says it (a CSS modifier and a label). A slot is `working`
    from its first artifact on, also when its agent never said what it does: that is "no
    report yet". Once the arena's work is over (every step completed, or the arena no longer
    active), a slot still marked `working` is shown idle: nobody works there any more."""
    status = participant["slot_status"]
    if status != SlotStatus.WORKING:
        return status, status
    if work_over:
        return SlotStatus.IDLE, SlotStatus.IDLE
    if not participant["current"]:
        return "unreported", "no report yet"
    return status, status
