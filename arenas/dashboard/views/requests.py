"""Requests for people: the inbox, the header's live count, answering."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from arenas import inputs
from arenas.errors import DomainError, NotFound
from arenas.handle import ArenaHandle
from arenas.models import (
    InputRequest,
    RequestKind,
    RequestStatus,
)

from .base import (
    CLOSED_REQUESTS_SHOWN,
    OPEN_REQUESTS_SHOWN,
    REQUESTS_PER_PAGE,
    as_datetime,
    manager,
)
from .steering import steer


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
            "requests": [request_item(item) for item in page],
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

    response = steer(request, arena_id, answer)
    if request.POST.get("back") == "inbox":
        return redirect("dashboard:requests")
    return response


def requests_context(
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
        item = request_item(request)
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


def request_item(request: InputRequest) -> dict[str, Any]:
    """A request as the templates show it: the model and its answer's time as a datetime."""
    answer = request.answer or {}
    return {
        "request": request,
        "answered_at": as_datetime(answer.get("at")),
        "answer": answer,
    }
