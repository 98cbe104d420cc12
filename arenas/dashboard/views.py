"""The browser dashboard: server-rendered pages over the manager and handles.

Every page needs a login. Reads go through `ArenaManager.user_handle` (staff see every arena,
another user what an agent they own sees); writes (lifecycle actions, messages, releasing a
claim, answering a request) are staff's and go through `staff_handle`, whose domain errors
come back as page messages. Live updates come from the websocket feeds (`arenas/live/`); the
JavaScript in `static/js/` re-fetches the panels fragment when an event arrives, so each
panel has one renderer: its template.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from arenas import budgets, inputs, lifecycle, text
from arenas.aggregate import progress_percent
from arenas.errors import DomainError, NotFound
from arenas.events import timestamp, to_wire
from arenas.handle import ArenaHandle
from arenas.manager import ArenaManager
from arenas.models import (
    Artifact,
    Fact,
    InputRequest,
    RequestKind,
    RequestStatus,
    SlotStatus,
    Status,
)
from arenas.representations import arena_summary, step_claim_dict

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


def _reader(request: HttpRequest, arena_id: Any) -> ArenaHandle:
    try:
        return manager.user_handle(arena_id, request.user)
    except NotFound:
        raise Http404("No such arena.") from None


def _staff(request: HttpRequest, arena_id: Any) -> ArenaHandle:
    """The staff user's handle; 404 for an arena the user may not see, else 403 for non-staff."""
    handle = _reader(request, arena_id)
    if not request.user.is_staff:
        raise PermissionDenied("Only staff may manage arenas from the dashboard.")
    return handle


def _status_filter(request: HttpRequest) -> str | None:
    status = request.GET.get("status") or None
    if status is not None and status not in Status.values:
        messages.warning(request, "Unknown status filter: showing every arena.")
        return None
    return status


@login_required
@require_GET
def arena_list(request: HttpRequest) -> HttpResponse:
    status = _status_filter(request)
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
    handle = _reader(request, arena_id)
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
    handle = _reader(request, arena_id)
    at = request.GET.get("at")
    if at is None:
        return render(request, "dashboard/_arena_panels.html", _panels_context(handle))
    at = text.integer_text(at)
    if not isinstance(at, int) or not 1 <= at <= inputs.SEQ_MAX:
        return JsonResponse({"error": "invalid", "detail": "at: a seq of the arena."}, status=400)
    try:
        context = _history_context(handle, at)
    except DomainError as error:
        return JsonResponse({"error": error.code, "detail": error.detail}, status=400)
    return render(request, "dashboard/_arena_panels.html", context)


@login_required
@require_GET
def arena_history(request: HttpRequest, arena_id: Any) -> JsonResponse:
    """The arena's log for the history view and its timeline: the latest
    HISTORY_EVENTS_MAX events in seq order (the scrubber folds nothing itself: it shows
    these in the feed and fetches the panels at the seq it stops on)."""
    handle = _reader(request, arena_id)
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
    handle = _staff(request, arena_id)
    at = request.POST.get("at", "")
    try:
        fork = handle.fork(text.integer_text(at), request.POST.get("goal") or None)
    except DomainError as error:
        messages.error(request, f"Not forked: {error.detail}")
        return redirect("dashboard:arena", arena_id=handle.arena_id)
    messages.success(request, f"Forked at event #{fork.forked_at_seq}: this is the new arena.")
    return redirect("dashboard:arena", arena_id=fork.pk)


@login_required
@require_GET
def artifact_detail(request: HttpRequest, arena_id: Any, artifact_id: Any) -> HttpResponse:
    handle = _reader(request, arena_id)
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


@login_required
@require_GET
def request_inbox(request: HttpRequest) -> HttpResponse:
    """`/requests/`: the open requests the person may see, newest first; staff answer them
    here as on the arena page (`request_answer`)."""
    listed = manager.requests_for_user(request.user, RequestStatus.OPEN).select_related("arena")
    page = Paginator(listed, REQUESTS_PER_PAGE).get_page(request.GET.get("page"))
    return render(
        request,
        "dashboard/request_inbox.html",
        {
            "page": page,
            "requests": [_request_item(item) for item in page],
            "answer_limit": inputs.REQUEST_MAX,
        },
    )


@login_required
@require_GET
def request_counts(request: HttpRequest) -> JsonResponse:
    """The header's count of open requests, with the counts of each arena that has one
    (`ArenaManager.request_counts_for_user`), for the pages' live refresh."""
    arenas = manager.request_counts_for_user(request.user)
    return JsonResponse({"open": sum(c["open"] for c in arenas.values()), "arenas": arenas})


@login_required
@require_POST
def request_answer(request: HttpRequest, arena_id: Any, request_id: Any) -> HttpResponse:
    """Staff answer a request from the arena page or the inbox (`back=inbox`): a choice (a
    button) and/or text. Back to where it was answered, with the outcome as a message."""

    text = request.POST.get("text")
    if text is not None:
        text = text.replace("\r\n", "\n")  # how browsers send a text box's line breaks

    def answer(handle: ArenaHandle) -> str:
        try:
            answered = handle.answer_request(request_id, request.POST.get("choice"), text)
        except NotFound:
            raise Http404("No such request.") from None
        except DomainError as error:
            raise DomainError(f"Not answered: {error.detail} ({error.code})") from error
        reply = answered.answer
        said = f"“{reply['choice']}”" if reply["choice"] is not None else "your answer"
        if answered.agent_id is None:
            return f"Answered the budget's request with {said}."
        return f"Answered {answered.agent_id} with {said}: the agent sees it on its feed."

    response = _steer(request, arena_id, answer)
    if request.POST.get("back") == "inbox":
        return redirect("dashboard:requests")
    return response


@login_required
@require_POST
def arena_transition(request: HttpRequest, arena_id: Any) -> HttpResponse:
    def act(handle: ArenaHandle) -> str:
        arena = handle.act(request.POST.get("action", ""))
        return f"The arena is now {arena.get_status_display().lower()}."

    return _steer(request, arena_id, act)


@login_required
@require_POST
def arena_message(request: HttpRequest, arena_id: Any) -> HttpResponse:
    def post(handle: ArenaHandle) -> str:
        handle.post_message(request.POST.get("text", ""), request.POST.get("to") or None)
        return "Message posted: the agents see it on their feed."

    return _steer(request, arena_id, post)


@login_required
@require_POST
def arena_budget(request: HttpRequest, arena_id: Any) -> HttpResponse:
    """Staff set the budget from the arena page: the limits filled in; none removes it."""

    def change(handle: ArenaHandle) -> str:
        budget = {}
        for name in budgets.LIMITS:
            value = request.POST.get(name, "").strip()
            if value:
                budget[name] = text.integer_text(value) if name.endswith("tokens") else value
        handle.update({"budget": budget or None})
        return "Budget set." if budget else "Budget removed: spending is not limited."

    return _steer(request, arena_id, change)


@login_required
@require_POST
def claim_release(request: HttpRequest, arena_id: Any, claim_id: int) -> HttpResponse:
    def release(handle: ArenaHandle) -> str:
        event = handle.release_claim(claim_id)
        return f"Released step {event.data['step']}: {event.data['agent_id']} no longer holds it."

    return _steer(request, arena_id, release)


def _steer(
    request: HttpRequest, arena_id: Any, action: Callable[[ArenaHandle], str]
) -> HttpResponse:
    """Run a staff action on the arena, then back to its page with the action's sentence,
    or the domain's refusal, as a page message."""
    handle = _staff(request, arena_id)
    try:
        done = action(handle)
    except DomainError as error:
        messages.error(request, error.detail)
    else:
        messages.success(request, done)
    return redirect("dashboard:arena", arena_id=handle.arena_id)


def _panels_context(handle: ArenaHandle) -> dict[str, Any]:
    arena = handle.detail()
    total = arena["total_steps"]
    work_over = arena["status"] != Status.ACTIVE or 0 < total <= arena["completed_steps"]
    for participant in arena["participants"]:
        participant["initial"] = _initial(participant["agent_id"])
        participant["last_seen"] = _datetime(participant["last_seen_at"])
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
            step["claim"]["until"] = _datetime(step["claim"]["expires_at"])
    artifacts = list(handle.artifacts())
    return {
        "arena": arena,
        "lease": _duration(arena["lease_seconds"]),
        "later_claims": later,
        "created_at": datetime.fromisoformat(arena["created_at"]),
        "progress_percent": progress_percent(arena["completed_steps"], total),
        "lifecycle": _lifecycle(arena["status"]),
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
        **_requests_context(handle, arena, artifacts),
        "spend": _spend_context(handle, arena),
        "message_limit": inputs.MESSAGE_MAX,
        "answer_limit": inputs.REQUEST_MAX,
    }


SPEND_STEPS_SHOWN = 20
LIMIT_LABELS = {
    "cost_usd": "Arena, dollars",
    "tokens": "Arena, tokens",
    "per_agent_cost_usd": "Each agent, dollars",
    "per_agent_tokens": "Each agent, tokens",
}


def _spend_context(handle: ArenaHandle, arena: dict[str, Any]) -> dict[str, Any]:
    """Spend against each limit (the per-agent ones at the agent that spent the most), and
    the spend of each agent and of the costliest steps, as bars."""
    budget = arena["budget"]
    total = arena["usage"]
    agents = handle.usage("agent")["results"]
    limits = []
    for name, label in LIMIT_LABELS.items():
        limit = budgets.limit_of(budget, name)
        if limit is None:
            continue
        if name in budgets.ARENA_LIMITS:
            spent, scope = _amount(total, name), budgets.ARENA_SCOPE
        else:
            spent, scope = max(((_amount(a, name), a["agent_id"]) for a in agents), default=(0, ""))
            label = f"{label} (most: {scope})" if scope else label
        limits.append(_meter(name, label, scope, spent, limit))
    per_agent = budgets.limit_of(budget, "per_agent_cost_usd")
    top_agent = max((_amount(a, "cost_usd") for a in agents), default=0)
    steps = handle.usage("step")["results"]
    steps.sort(key=lambda s: (-_amount(s, "cost_usd"), s["step"]))
    top_step = max((_amount(s, "cost_usd") for s in steps), default=0)
    return {
        "total": total,
        "limits": limits,
        "agents": [
            _meter(
                "cost_usd",
                "",
                a["agent_id"],
                _amount(a, "cost_usd"),
                per_agent or top_agent,
                key=a["agent_id"],
                limited=per_agent is not None,
            )
            for a in agents
        ],
        "steps": [
            _meter(
                "cost_usd", "", "", _amount(s, "cost_usd"), top_step, key=s["step"], limited=False
            )
            for s in steps[:SPEND_STEPS_SHOWN]
        ],
        "steps_truncated": len(steps) > SPEND_STEPS_SHOWN,
    }


def _amount(totals: dict[str, Any], name: str) -> int:
    """What `totals` spent in the unit of limit `name` (micro-dollars or tokens)."""
    if name in budgets.COST_LIMITS:
        return inputs.money(totals["cost_usd"], name)
    return totals["input_tokens"] + totals["output_tokens"]


def _meter(
    name: str,
    label: str,
    scope: str,
    spent: int,
    limit: int,
    *,
    key: Any = None,
    limited: bool = True,
) -> dict[str, Any]:
    percent = spent * 100 // limit if limit else (100 if spent else 0)
    state = "ok"
    if limited and limit is not None:
        state = "exhausted" if spent >= limit else "warning" if percent >= 80 else "ok"
    return {
        "name": name,
        "label": label,
        "scope": scope,
        "key": key,
        "spent": _shown(name, spent),
        "limit": _shown(name, limit) if limited else None,
        "percent": percent,
        "width": min(100, percent),
        "state": state,
    }


def _shown(name: str, amount: int) -> str:
    return f"${inputs.usd(amount)}" if name in budgets.COST_LIMITS else f"{amount:,} tokens"


def _history_context(handle: ArenaHandle, at: int) -> dict[str, Any]:
    """The panels' context at seq `at`, from the arena's state then (`handle.state`):
    read-only (the page hides the forms while it shows the past)."""
    state = handle.state(at)
    arena = {
        **state["arena"],
        "participants": [p for p in state["participants"] if p["left_at"] is None],
    }
    for participant in arena["participants"]:
        participant["initial"] = _initial(participant["agent_id"])
        participant["presence"] = "unknown"
        participant["last_seen"] = None
    steps = state["plan"][:STEPS_SHOWN]
    for step in steps:
        if step["claim"] is not None:
            step["claim"]["until"] = _datetime(step["claim"]["expires_at"])
    artifacts = [
        Artifact(
            id=a["id"],
            arena_id=a["arena_id"],
            agent_id=a["agent_id"],
            kind=a["kind"],
            title=a["title"],
            metadata=a["metadata"],
            created_at=_datetime(a["created_at"]),
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
            settled_at=_datetime(f["settled_at"]),
        )
        for f in state["facts"]
    ]
    present = {p["agent_id"] for p in arena["participants"]}
    requests = []
    for r in reversed(state["requests"]):  # oldest first, as they wait
        item = _request_item(
            InputRequest(
                id=r["id"],
                arena_id=r["arena_id"],
                kind=r["kind"],
                agent_id=r["agent_id"],
                text=r["text"],
                choices=r["choices"],
                step=r["step"],
                status=r["status"],
                created_at=_datetime(r["created_at"]),
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
        "lease": _duration(arena["lease_seconds"]),
        "later_claims": [],
        "created_at": datetime.fromisoformat(arena["created_at"]),
        "progress_percent": progress_percent(arena["completed_steps"], total),
        "lifecycle": _lifecycle(arena["status"]),
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


def _requests_context(
    handle: ArenaHandle, arena: dict[str, Any], artifacts: list[Any]
) -> dict[str, Any]:
    """The arena's requests: the open ones (oldest first, the order they wait in) and the
    latest closed ones; a review carries its submitter's artifacts and whether it is in the
    arena now (its slot is on the page)."""
    open_requests = list(
        handle.requests(RequestStatus.OPEN).order_by("created_at", "id")[:OPEN_REQUESTS_SHOWN]
    )
    closed = list(
        handle.requests()
        .exclude(status=RequestStatus.OPEN)
        .order_by("-closed_at", "id")[:CLOSED_REQUESTS_SHOWN]
    )
    present = {p["agent_id"] for p in arena["participants"]}
    items = []
    for request in [*open_requests, *closed]:
        item = _request_item(request)
        if request.kind == RequestKind.REVIEW:
            item["artifacts"] = [a for a in artifacts if a.agent_id == request.agent_id]
            item["in_arena"] = request.agent_id in present
        items.append(item)
    truncated = len(open_requests) == OPEN_REQUESTS_SHOWN
    return {
        "requests": items,
        "open_request_count": (
            handle.requests(RequestStatus.OPEN).count() if truncated else len(open_requests)
        ),
        "open_requests_shown": len(open_requests),
        "requests_truncated": truncated,
    }


def _request_item(request: InputRequest) -> dict[str, Any]:
    """A request as the templates show it: the model and its answer's time as a datetime."""
    answer = request.answer or {}
    return {
        "request": request,
        "answered_at": _datetime(answer.get("at")),
        "answer": answer,
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


def _initial(agent_id: str) -> str:
    """The avatar letter: the start of the id's last word (`demo-writer` → `W`)."""
    return re.split(r"[-_.]", agent_id)[-1][:1].upper() or agent_id[:1].upper()


def _datetime(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def _duration(seconds: int) -> str:
    """`90` → "1 min 30 s", `3600` → "1 h"."""
    hours, rest = divmod(seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    parts = [(hours, "h"), (minutes, "min"), (seconds, "s")]
    return " ".join(f"{value} {unit}" for value, unit in parts if value) or "0 s"


def _lifecycle(status: str) -> list[dict[str, Any]]:
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
