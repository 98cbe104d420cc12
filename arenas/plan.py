"""The plan of an arena: its steps, what each waits for, and who may work on which.

An arena's plan is `total_steps` steps numbered from 1. Given as `plan` (titled
steps, possibly assigned, with dependencies) it is stored as Step rows; given as
`total_steps` it has no rows: its steps are untitled, unassigned and independent, except in
a pipeline. A plan of 0 steps is open-ended (any step ≥ 1).

The rules live here once: the pipeline rule (`dependencies`), the validation of a plan given
at creation (`parse`), what makes a step one the caller may work on now
(`require_workable`), which completing a step checks, and the completed prefix.

The plan calls down only (the rows, the event log); the handle combines it with claims,
requests for people and budgets (arenas/work.py).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from django.utils import timezone

from . import events, inputs, sql, validation
from .aggregate import saturating_add
from .errors import Invalid, PermissionDenied, StepAlreadyCompleted, StepBlocked
from .models import Arena, Event, EventType, Participant, Role, Step, StepCompletion, Strategy

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
    return inputs.step_number(step, last_step(arena))


def require_workable(arena: Arena, me: Participant, step: Any) -> Step | None:
    """Check that the caller may work on step `step` now, and return its Step row (None in
    an untitled plan). In this order: a step number of the plan (else 400 `invalid`), not
    assigned to another agent unless the caller coordinates (403), not completed (409
    `step_already_completed`), every step it depends on completed (409 `step_blocked`).
    The caller checks next that no review of it is open (`asks.require_no_pending_review`,
    409 `review_pending`)."""
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
    return planned


def complete(arena: Arena, step: int, agent_id: str, actor: str) -> Event:
    """Record step `step` completed by `agent_id` (its `step_completed` event, `actor`
    acting): by the agent itself, or by the person approving its review."""
    now = timezone.now()
    sql.insert_completion(
        StepCompletion(arena_id=arena.id, step=step, agent_id=agent_id, completed_at=now)
    )
    arena.completed_steps = saturating_add(arena.completed_steps)
    completed(arena, step)
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


def advance_prefix(arena: Arena) -> None:
    """Move `completed_prefix` up to the first step not completed (saved with the
    write). Completions in order keep it there as they go (`completed`); this catches up
    with completions made out of order. While every completion lies within the prefix
    (`completed_steps` counts them), step prefix + 1 is not completed: no statement."""
    if arena.completed_steps > arena.completed_prefix:
        arena.completed_prefix = sql.first_step(arena.id, arena.completed_prefix, False) - 1


def completed(arena: Arena, step: int) -> None:
    """A step was completed: the prefix grows when it was the next one."""
    if step == arena.completed_prefix + 1:
        arena.completed_prefix = step


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
            validation.integer(dep, f"{field}.depends_on", minimum=1, maximum=len(plan))
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
