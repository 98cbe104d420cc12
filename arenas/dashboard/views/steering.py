"""Staff steering an arena: lifecycle transitions, messages, the budget, releasing a claim."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_POST

from arenas import budgets, validation
from arenas.errors import DomainError
from arenas.handle import ArenaHandle

from .base import staff_handle


@login_required
@require_POST
def arena_transition(request: HttpRequest, arena_id: Any) -> HttpResponse:
    def act(handle: ArenaHandle) -> str:
        arena = handle.act(request.POST.get("action", ""))
        return f"The arena is now {arena.get_status_display().lower()}."

    return steer(request, arena_id, act)


@login_required
@require_POST
def arena_message(request: HttpRequest, arena_id: Any) -> HttpResponse:
    def post(handle: ArenaHandle) -> str:
        handle.post_message(request.POST.get("text", ""), request.POST.get("to") or None)
        return "Message posted: the agents see it on their feed."

    return steer(request, arena_id, post)


@login_required
@require_POST
def arena_budget(request: HttpRequest, arena_id: Any) -> HttpResponse:
    """Staff set the budget from the arena page: the limits filled in; none removes it."""

    def change(handle: ArenaHandle) -> str:
        budget = {}
        for name in budgets.LIMITS:
            value = request.POST.get(name, "").strip()
            if value:
                budget[name] = validation.integer_text(value) if name.endswith("tokens") else value
        handle.update({"budget": budget or None})
        return "Budget set." if budget else "Budget removed: spending is not limited."

    return steer(request, arena_id, change)


@login_required
@require_POST
def claim_release(request: HttpRequest, arena_id: Any, claim_id: int) -> HttpResponse:
    def release(handle: ArenaHandle) -> str:
        event = handle.release_claim(claim_id)
        return f"Released step {event.data['step']}: {event.data['agent_id']} no longer holds it."

    return steer(request, arena_id, release)


def steer(
    request: HttpRequest, arena_id: Any, action: Callable[[ArenaHandle], str]
) -> HttpResponse:
    """Run a staff action on the arena, then back to its page with the action's sentence,
    or the domain's refusal, as a page message."""
    handle = staff_handle(request, arena_id)
    try:
        done = action(handle)
    except DomainError as error:
        messages.error(request, error.detail)
    else:
        messages.success(request, done)
    return redirect("dashboard:arena", arena_id=handle.arena_id)
