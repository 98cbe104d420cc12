"""The plan of an arena: its steps, what each waits for, and who may work on which.

An arena's plan is `total_steps` steps numbered from 1. Given as `plan` (titled
steps, possibly assigned, with dependencies) it is stored as Step rows; given as
`total_steps` it has no rows: its steps are untitled, unassigned and independent, except in
a pipeline. A plan of 0 steps is open-ended (any step ≥ 1).

The rules live here once: the pipeline rule (`dependencies`), the validation of a plan given
at creation (`parse`), and what makes a step one the caller may work on now
(`require_workable`), which completing a step checks.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from django.utils import timezone

from . import claims, events, inputs, requests, sql, text
from .aggregate import saturating_add
from .errors import Invalid, PermissionDenied, StepAlreadyCompleted, StepBlocked
from .models import Arena, Event, EventType, Participant, Role, Step, StepCompletion, Strategy
from .representations import step_dict

PLAN_KEYS = {"title", "assignee", "depends_on", "review"}


def dependencies(strategy: str, number: int, declared: Iterable[int] = ()) -> list[int]:
    """The steps step `number` waits for, ascending: those it declares and, in a pipeline,
    the step before it."""
    waits_for = set(declared)
    if strategy == Strategy.PIPELINE and number > 1:
        waits_for.add(number - 1)
    return sorted(waits_for)


def last_step(arena: Arena) -> int:
    """The highest step number the arena takes (any up to u32 in an open-ended plan)."""
    return arena.total_steps or inputs.U32_MAX


def step_number(arena: Arena, step: Any) -> int:
    """A step number of the arena's plan (any number ≥ 1 in an open-ended plan), or 400."""
    top = last_step(arena)
    if isinstance(step, bool) or not isinstance(step, int) or not 1 <= step <= top:
        raise Invalid.field("step", f"Must be a step number from 1 to {top}.")
    return step


def require_workable(arena: Arena, me: Participant, step: Any) -> Step | None:
    """Check that the caller may work on step `step` now, and return its Step row (None in
    an untitled plan). In this order: a step number of the plan (else 400 `invalid`), not
    assigned to another agent unless the caller coordinates (403), not completed (409
    `step_already_completed`), every step it depends on completed (409 `step_blocked`), no
    review of it open (409 `review_pending`)."""
    step = step_number(arena, step)
    planned = sql.planned_step(arena.id, step) if arena.total_steps else None
    assignee = planned.assignee_id if planned is not None else None
    if assignee not in (None, me.agent_id) and me.role != Role.COORDINATOR:
        raise PermissionDenied(f"Step {step} is assigned to {assignee!r}.")
    waits_for = dependencies(arena.strategy, step, planned.depends_on if planned else ())
    done = sql.completed_among(arena.id, [step, *waits_for])
    if step in done:
        raise StepAlreadyCompleted(f"Step {step} is already completed.")
    missing = [number for number in waits_for if number not in done]
    if missing:
        raise StepBlocked(
            f"Step {step} waits for step(s) {', '.join(map(str, missing))}.",
            waiting_for=missing,
        )
    if planned is not None and planned.review:
        requests.require_no_pending_review(arena, step)
    return planned


def complete(arena: Arena, step: int, agent_id: str, actor: str) -> Event:
    """Record step `step` completed by `agent_id` (its `step_completed` event, `actor`
    acting): by the agent itself, or by the person approving its review."""
    now = timezone.now()
    sql.insert_completion(
        StepCompletion(arena_id=arena.id, step=step, agent_id=agent_id, completed_at=now)
    )
    arena.completed_steps = saturating_add(arena.completed_steps)
    claims.completed(arena, step)
    return events.append(
        arena,
        EventType.STEP_COMPLETED,
        actor,
        now=now,
        step=step,
        agent_id=agent_id,
        completed_steps=arena.completed_steps,
        total_steps=arena.total_steps,
    )


def page(arena: Arena, after: int, limit: int) -> tuple[list[dict[str, Any]], int | None]:
    """The plan from step `after + 1`, at most `limit` steps, each with its completion and
    its live claim, and the `after` of the next page (None on the last page). An
    open-ended plan lists the steps that are completed or claimed."""
    completions = StepCompletion.objects.filter(arena=arena, step__gt=after).order_by("step")
    if arena.total_steps == 0:
        done = {c.step: c for c in completions[: limit + 1]}
        held = {c.step: c for c in claims.live(arena.id, after=after)[: limit + 1]}
        numbers = sorted(set(done) | set(held))
        items = [step_dict(n, None, done.get(n), [], held.get(n), None) for n in numbers[:limit]]
        return items, (items[-1]["step"] if len(numbers) > limit else None)
    last = min(after + limit, arena.total_steps)
    numbers = range(after + 1, last + 1)
    planned = {s.number: s for s in Step.objects.filter(arena=arena, number__in=numbers)}
    done = {c.step: c for c in completions.filter(step__lte=last)}
    held = {c.step: c for c in claims.live(arena.id, after=after).filter(step__lte=last)}
    reviewed = requests.reviews(arena.id, [n for n, s in planned.items() if s.review])
    items = []
    for number in numbers:
        step = planned.get(number)
        waits_for = dependencies(arena.strategy, number, step.depends_on if step else ())
        review = (reviewed.get(number, "required") if step.review else None) if step else None
        items.append(step_dict(number, step, done.get(number), waits_for, held.get(number), review))
    return items, (last if last < arena.total_steps else None)


def parse(plan: Any, total_steps: Any, strategy: str) -> list[dict[str, Any]] | None:
    """A `plan` given at creation, validated: its steps as {title, assignee, depends_on}
    (depends_on with the pipeline rule applied), or None when no plan was given."""
    if plan is None:
        return None
    if not isinstance(plan, list):
        raise Invalid.field("plan", "Must be a list of steps.")
    if len(plan) > inputs.PLAN_MAX_STEPS:
        raise Invalid.field("plan", f"At most {inputs.PLAN_MAX_STEPS} steps.")
    if total_steps is not None and total_steps != len(plan):
        raise Invalid.field("total_steps", "Give total_steps or plan, not both.")
    steps = []
    for number, item in enumerate(plan, start=1):
        field = f"plan[{number - 1}]"
        if not isinstance(item, Mapping):
            raise Invalid.field(field, "Each step must be an object.")
        unknown = sorted(set(item) - PLAN_KEYS)
        if unknown:
            raise Invalid.field(field, f"Unknown field(s): {', '.join(unknown)}.")
        title = inputs.step_title(item.get("title", ""), f"{field}.title")
        assignee = item.get("assignee")
        if assignee is not None:
            assignee = inputs.agent_id(assignee, f"{field}.assignee")
        declared = item.get("depends_on", [])
        if not isinstance(declared, list):
            raise Invalid.field(f"{field}.depends_on", "Must be a list of step numbers.")
        for dep in declared:
            text.integer(dep, f"{field}.depends_on", minimum=1, maximum=len(plan))
            if dep == number:
                raise Invalid.field(f"{field}.depends_on", "A step cannot depend on itself.")
        review = item.get("review", False)
        if not isinstance(review, bool):
            raise Invalid.field(f"{field}.review", "Must be true or false.")
        steps.append(
            {
                "title": title,
                "assignee": assignee,
                "depends_on": dependencies(strategy, number, declared),
                "review": review,
            }
        )
    _require_acyclic(steps)
    return steps


def assignees(plan: list[dict[str, Any]] | None) -> list[str]:
    return [s["assignee"] for s in plan or [] if s["assignee"]]


def _require_acyclic(steps: list[dict[str, Any]]) -> None:
    """Kahn's algorithm over the plan; a cycle would block its steps forever."""
    waiting = {n: set(s["depends_on"]) for n, s in enumerate(steps, start=1)}
    ready = [n for n, deps in waiting.items() if not deps]
    dependents: dict[int, list[int]] = {}
    for n, deps in waiting.items():
        for dep in deps:
            dependents.setdefault(dep, []).append(n)
    seen = 0
    while ready:
        n = ready.pop()
        seen += 1
        for later in dependents.get(n, []):
            waiting[later].discard(n)
            if not waiting[later]:
                ready.append(later)
    if seen != len(steps):
        raise Invalid.field("plan", "The steps' dependencies form a cycle.")
