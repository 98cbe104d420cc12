"""Work on the plan: what a handle's writes do across its parts.

The plan, claims, requests for people (`asks`) and budgets each keep their own rows and
rules and call down only; completing, claiming, reviewing and settling need several of them
at once, in a fixed order. These functions are that order. `ArenaHandle` runs each inside
its write (the arena's row locked, the caller checked), so the events they append are the
write's own.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.db.models import QuerySet

from . import asks, budgets, claims, lifecycle, plan, sql
from .aggregate import ArenaAggregate
from .models import (
    Arena,
    Claim,
    ClaimEnd,
    Event,
    InputRequest,
    Participant,
    RequestKind,
    Status,
    Step,
    StepCompletion,
)
from .representations import step_dict


@dataclass(frozen=True)
class StepDone:
    """What completing a step did: completed it (`event` step_completed, `aggregate`), or,
    for a review step, opened its review (`event` input_requested, `request`)."""

    event: Event
    aggregate: ArenaAggregate | None
    request: InputRequest | None


def workable(arena: Arena, me: Participant, step: Any) -> Step | None:
    """`plan.require_workable`, then no open review of the step (409 `review_pending`)."""
    planned = plan.require_workable(arena, me, step)
    if planned is not None and planned.review:
        asks.require_no_pending_review(arena, planned.number)
    return planned


def complete(
    arena: Arena, me: Participant, step: Any, claim_id: int | None, actor: str
) -> StepDone:
    """Complete step `step` for the caller, or open its review when it is a review step."""
    planned = workable(arena, me, step)
    if arena.budget and claim_id is None and claims.live_claim_on(arena, step) is None:
        budgets.require_budget_left(arena, me)
    if planned is not None and planned.review:
        claims.end_with_completion(arena, me, step, claim_id, ClaimEnd.SUBMITTED)
        request, event = asks.open_review(arena, me, planned, actor)
        return StepDone(event, None, request)
    claims.end_with_completion(arena, me, step, claim_id)
    event = plan.complete(arena, step, me.agent_id, actor)
    return StepDone(event, ArenaAggregate.of(arena), None)


def claim(
    arena: Arena, me: Participant, step: Any, length: timedelta, actor: str
) -> tuple[Claim, Event | None]:
    """Claim a workable step, or renew the caller's own live claim on it (event None)."""
    workable(arena, me, step)
    held = claims.require_unclaimed(arena, me, step)
    if held is not None:
        return claims.renew(arena, held, length), None
    budgets.require_budget_left(arena, me)
    return claims.take(arena, me, step, length, actor)


def claim_next(
    arena: Arena, me: Participant, length: timedelta, actor: str
) -> tuple[Claim, Event] | claims.Vacancy:
    """Claim the lowest-numbered step the caller could claim now, or say why there is none."""
    budgets.require_budget_left(arena, me)
    plan.advance_prefix(arena)
    step = claims.next_step(arena, me, plan.last_step(arena))
    if step is None:
        sql.save_arena(arena)
        return claims.vacancy(arena)
    return claims.take(arena, me, step, length, actor)


def answer(arena: Arena, request: InputRequest, choice: Any, text: Any, actor: str) -> InputRequest:
    """Answer an open request; approving a review completes its step for the submitter,
    and a budget request's answer raises the limit or settles the arena."""
    asks.answer(arena, request, actor, choice, text)
    if asks.approves(request):
        plan.complete(arena, request.step, request.agent_id, actor)
    if request.kind == RequestKind.BUDGET and budgets.answered(arena, request, choice, text, actor):
        transition(arena, Status.SETTLING, actor)
    return request


def transition(arena: Arena, to: str, actor: str | None) -> None:
    """Move the arena to state `to` (`lifecycle.transition`): settling first releases
    every live claim (`claim_released` each), archiving first cancels every open request
    (`input_cancelled` each)."""
    lifecycle.require_transition(arena.status, to)
    if to == Status.SETTLING:
        claims.release_all(arena, actor)
    if to == Status.ARCHIVED:
        asks.cancel_all(arena, actor)
    lifecycle.transition(arena, to, actor)


def page(arena: Arena, after: int, limit: int) -> tuple[list[dict[str, Any]], int | None]:
    """The plan from step `after + 1`, at most `limit` steps, each with its completion and
    its live claim, and the `after` of the next page (None on the last page). An
    open-ended plan lists the steps that are completed or claimed."""
    completions = StepCompletion.objects.filter(arena=arena, step__gt=after).order_by("step")
    if arena.total_steps == 0:
        done = {c.step: c for c in completions[: limit + 1]}
        held = {c.step: c for c in _held_after(arena, after)[: limit + 1]}
        numbers = sorted(set(done) | set(held))
        items = [step_dict(n, None, done.get(n), [], held.get(n), None) for n in numbers[:limit]]
        return items, (items[-1]["step"] if len(numbers) > limit else None)
    last = min(after + limit, arena.total_steps)
    numbers = range(after + 1, last + 1)
    planned = {s.number: s for s in Step.objects.filter(arena=arena, number__in=numbers)}
    done = {c.step: c for c in completions.filter(step__lte=last)}
    held = {c.step: c for c in _held_after(arena, after).filter(step__lte=last)}
    reviewed = asks.reviews(arena.id, [n for n, s in planned.items() if s.review])
    items = []
    for number in numbers:
        step = planned.get(number)
        waits_for = plan.dependencies(arena.strategy, number, step.depends_on if step else ())
        review = (reviewed.get(number, "required") if step.review else None) if step else None
        items.append(step_dict(number, step, done.get(number), waits_for, held.get(number), review))
    return items, (last if last < arena.total_steps else None)


def _held_after(arena: Arena, after: int) -> QuerySet[Claim]:
    """For reading: the arena's claims within their lease on the steps after `after`, by
    step."""
    return Claim.objects.within_lease().filter(arena=arena, step__gt=after).order_by("step")
