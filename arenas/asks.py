"""Asks: requests for people. Agents ask, people answer, reviews gate steps.

A request is an agent's question (free text, or one of its `choices`), or the review that
completing a review step opens (`approve` or `reject`). It is answered by a person: a staff
user, or a coordinator of the arena other than the asker; the answer reaches the agent on
its feed (`input_provided`). Approving a review completes the step for its submitter, with
the reviewer as the event's actor (the handle completes it: `approves`); rejecting it leaves
the step open to be done again.

Every function here runs inside a write of `ArenaHandle` (the arena's row locked, the caller
checked); the events it appends are the write's own.
"""

from __future__ import annotations

from typing import Any

from django.utils import timezone

from . import events, inputs, metrics
from .errors import (
    ArenaNotActive,
    Invalid,
    NotFound,
    PermissionDenied,
    RequestClosed,
    ReviewPending,
)
from .models import (
    Arena,
    Event,
    EventType,
    InputRequest,
    Participant,
    RequestKind,
    RequestStatus,
    Role,
    Status,
    Step,
)

APPROVE, REJECT = "approve", "reject"
REVIEW_CHOICES = [APPROVE, REJECT]


def ask(
    arena: Arena, me: Participant, actor: str, text: Any, choices: Any, step: Any, last_step: int
) -> tuple[InputRequest, Event]:
    """An agent's question to people, with its `input_requested` event. `step`, when
    given, names a step of the plan the question is about (1 to `last_step`)."""
    text = inputs.request_text(text)
    choices = inputs.choices(choices)
    if step is not None:
        step = inputs.step_number(step, last_step)
    return _open(arena, me, actor, RequestKind.QUESTION, text, choices, step)


def open_review(
    arena: Arena, me: Participant, step: Step, actor: str
) -> tuple[InputRequest, Event]:
    """Completing review step `step` opens its review instead of completing it."""
    title = f" ({step.title})" if step.title else ""
    text = f"Review step {step.number}{title}, submitted by {me.agent_id}: approve or reject."
    return _open(arena, me, actor, RequestKind.REVIEW, text, REVIEW_CHOICES, step.number)


def require_no_pending_review(arena: Arena, step: int) -> None:
    """ReviewPending while the step's review is open: it is neither completed nor claimed
    again until a person answers."""
    if InputRequest.objects.filter(
        arena=arena, kind=RequestKind.REVIEW, step=step, status=RequestStatus.OPEN
    ).exists():
        raise ReviewPending(f"Step {step} waits for a person's review.")


def find(arena: Arena, request_id: Any) -> InputRequest:
    request = InputRequest.objects.filter(arena=arena, pk=inputs.request_id(request_id)).first()
    if request is None:
        raise NotFound("No such request.")
    return request


def require_may_answer(request: InputRequest, me: Participant | None) -> None:
    """Staff (`me` None) and the arena's coordinators other than the asker answer."""
    if me is None:
        return
    if me.role != Role.COORDINATOR:
        raise PermissionDenied("Only staff or a coordinator may answer a request.")
    if me.agent_id == request.agent_id:
        raise PermissionDenied("A coordinator cannot answer its own request.")


def require_open(request: InputRequest) -> InputRequest:
    if request.status != RequestStatus.OPEN:
        raise RequestClosed(f"The request is already {request.status}.")
    return request


def answer(arena: Arena, request: InputRequest, by: str, choice: Any, text: Any) -> Event:
    """Answer an open request (`input_provided`). Approving a review needs an active arena:
    the caller then completes its step for the submitter (`approves`)."""
    if request.choices is not None:
        if not isinstance(choice, str) or choice not in request.choices:
            raise Invalid.field("choice", f"Must be one of: {', '.join(request.choices)}.")
        text = inputs.answer_text(text, required=False)
    else:
        if choice is not None:
            raise Invalid.field("choice", "This request takes a free answer: give text only.")
        text = inputs.answer_text(text, required=True)
    approving = request.kind == RequestKind.REVIEW and choice == APPROVE
    if approving and arena.status != Status.ACTIVE:
        raise ArenaNotActive("A review is approved only while the arena is active.")
    now = timezone.now()
    request.status = RequestStatus.ANSWERED
    request.answer = {"choice": choice, "text": text, "by": by, "at": events.timestamp(now)}
    request.closed_at = now
    request.save(update_fields=["status", "answer", "closed_at"])
    metrics.request_answered((now - request.created_at).total_seconds())
    event = events.append(
        arena,
        EventType.INPUT_PROVIDED,
        by,
        request_id=str(request.id),
        agent_id=request.agent_id,
        by=by,
        choice=choice,
        text=text,
    )
    return event


def approves(request: InputRequest) -> bool:
    """Whether the answer given to `request` approves a review (its step is then completed
    for the submitter, the person who approved acting)."""
    return (
        request.kind == RequestKind.REVIEW
        and request.status == RequestStatus.ANSWERED
        and (request.answer or {}).get("choice") == APPROVE
    )


def cancel(arena: Arena, request: InputRequest, actor: str) -> Event:
    """Close an open request unanswered (`input_cancelled`); a cancelled review leaves its
    step open."""
    request.status = RequestStatus.CANCELLED
    request.closed_at = timezone.now()
    request.save(update_fields=["status", "closed_at"])
    return events.append(
        arena,
        EventType.INPUT_CANCELLED,
        actor,
        request_id=str(request.id),
        agent_id=request.agent_id,
    )


def cancel_all(arena: Arena, actor: str | None) -> None:
    """Cancel every open request of the arena, oldest first: before it is archived."""
    open_requests = InputRequest.objects.filter(arena=arena, status=RequestStatus.OPEN)
    for request in open_requests.order_by("created_at", "id"):
        cancel(arena, request, actor)


def reviews(arena_id: Any, numbers: Any) -> dict[int, str]:
    """The review state of review steps among `numbers`: `pending` while a review is open,
    `approved` once one was approved (the step is then completed)."""
    states: dict[int, str] = {}
    rows = InputRequest.objects.filter(
        arena_id=arena_id, kind=RequestKind.REVIEW, step__in=list(numbers)
    ).exclude(status=RequestStatus.CANCELLED)
    for step, status, answer in rows.values_list("step", "status", "answer"):
        if status == RequestStatus.OPEN:
            states[step] = "pending"
        elif answer and answer.get("choice") == APPROVE:
            states.setdefault(step, "approved")
    return states


def open_for_system(
    arena: Arena, kind: str, text: str, choices: list[str], *, budget_limit: str = ""
) -> tuple[InputRequest, Event]:
    """A request the system opens (`agent_id` and the event's actor null): a budget
    reached (arenas/budgets.py)."""
    request = InputRequest.objects.create(
        arena=arena,
        kind=kind,
        agent=None,
        text=text,
        choices=choices,
        budget_limit=budget_limit,
        created_at=timezone.now(),
    )
    return request, _requested(arena, request, None)


def _open(
    arena: Arena,
    me: Participant,
    actor: str,
    kind: str,
    text: str,
    choices: list[str] | None,
    step: int | None,
) -> tuple[InputRequest, Event]:
    now = timezone.now()
    request = InputRequest.objects.create(
        arena=arena,
        kind=kind,
        agent_id=me.agent_id,
        text=text,
        choices=choices,
        step=step,
        created_at=now,
    )
    return request, _requested(arena, request, actor)


def _requested(arena: Arena, request: InputRequest, actor: str | None) -> Event:
    return events.append(
        arena,
        EventType.INPUT_REQUESTED,
        actor,
        now=request.created_at,
        request_id=str(request.id),
        agent_id=request.agent_id,
        kind=request.kind,
        text=request.text,
        choices=request.choices,
        step=request.step,
    )
