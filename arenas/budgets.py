"""Budgets: limits on what an arena's agents spend, and what happens at them.

A budget holds up to four limits: `cost_usd` and `tokens` for the whole arena,
`per_agent_cost_usd` and `per_agent_tokens` for each agent (tokens are input plus output).
A scope (`arena`, or an agent id for the per-agent limits) is exhausted while what it spent
reaches one of its limits; it is computed from the locked arena row and the caller's
participation, so raising or removing a limit lifts it at once and checking it costs no
statement.

When a report brings a scope to 80% of a limit, `budget_warning` is appended, and when it
reaches the limit, `budget_exhausted` and a request for people of kind `budget` (choices
`raise` and `stop`), each once per scope, limit and limit value (`Arena.budget_marks`).
Answering `raise` with a new limit sets it; `stop` moves the arena to `settling`.

Every function here runs inside a write of `ArenaHandle` (the arena's row locked).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from . import asks, events, inputs
from .errors import BudgetExhausted, Invalid
from .models import Arena, EventType, InputRequest, Participant, RequestKind, Status
from .usage import Totals

ARENA_SCOPE = "arena"
COST_LIMITS = ("cost_usd", "per_agent_cost_usd")
LIMITS = ("cost_usd", "tokens", "per_agent_cost_usd", "per_agent_tokens")
ARENA_LIMITS = ("cost_usd", "tokens")
AGENT_LIMITS = ("per_agent_cost_usd", "per_agent_tokens")
RAISE, STOP = "raise", "stop"
CHOICES = [RAISE, STOP]
WARNING_PERCENT = 80
_DIGITS = re.compile(r"[0-9]{1,20}")


def parse(value: Any, field: str = "budget") -> dict[str, Any] | None:
    """A budget as it is stored and shown: money as 6-decimal strings, tokens as integers,
    only the limits set; None for null or no limits."""
    if value is None:
        return None
    if not isinstance(value, dict):
        raise Invalid.field(field, "Must be an object of limits, or null.")
    unknown = sorted(set(value) - set(LIMITS))
    if unknown:
        raise Invalid({f"{field}.{name}": ["Unknown limit."] for name in unknown})
    budget: dict[str, Any] = {}
    for name in LIMITS:
        limit = value.get(name)
        if limit is None:
            continue
        if name in COST_LIMITS:
            budget[name] = inputs.usd(inputs.money(limit, f"{field}.{name}"))
        else:
            budget[name] = inputs.token_limit(limit, f"{field}.{name}")
    return budget or None


def limit_of(budget: dict[str, Any] | None, name: str) -> int | None:
    """A limit in its unit (micro-dollars or tokens); None when not set."""
    if not budget or budget.get(name) is None:
        return None
    value = budget[name]
    return inputs.money(value, name) if name in COST_LIMITS else int(value)


def spent_of(totals: Totals, name: str) -> int:
    return totals.cost_micro_usd if name in COST_LIMITS else totals.tokens


def wire(name: str, amount: int) -> str | int:
    """An amount of a limit's unit as the wire shows it."""
    return inputs.usd(amount) if name in COST_LIMITS else amount


def describe(name: str, amount: int) -> str:
    return f"${inputs.usd(amount)}" if name in COST_LIMITS else f"{amount} tokens"


@dataclass(frozen=True)
class Exhaustion:
    """A scope whose spending reached one of its limits."""

    scope: str
    name: str
    limit: int
    spent: int

    def fields(self) -> dict[str, Any]:
        return {
            "scope": self.scope,
            "limit": wire(self.name, self.limit),
            "spent": wire(self.name, self.spent),
        }


def exhaustions(arena: Arena, me: Participant | None) -> list[Exhaustion]:
    """The exhausted scopes of the arena and of the caller (`me`; None for staff): the
    arena's first, one per scope (its cost limit before its token limit)."""
    budget = arena.budget
    if not budget:
        return []
    found = []
    scopes = [(ARENA_SCOPE, Totals.of(arena.usage), ARENA_LIMITS)]
    if me is not None:
        scopes.append((me.agent_id, Totals.of(me.usage), AGENT_LIMITS))
    for scope, totals, names in scopes:
        for name in names:
            limit = limit_of(budget, name)
            if limit is not None and spent_of(totals, name) >= limit:
                found.append(Exhaustion(scope, name, limit, spent_of(totals, name)))
                break
    return found


def require_budget_left(arena: Arena, me: Participant | None) -> None:
    """BudgetExhausted (409) while the arena's or the caller's budget is used up: new work
    (claiming, completing without a claim) waits for a person to raise it."""
    if not arena.budget:
        return
    exhausted = exhaustions(arena, me)
    if exhausted:
        first = exhausted[0]
        whose = "The arena's" if first.scope == ARENA_SCOPE else f"{first.scope}'s"
        raise BudgetExhausted(
            f"{whose} budget is used up: {describe(first.name, first.spent)} spent of a "
            f"{first.name} limit of {describe(first.name, first.limit)}. No new work starts "
            "until a person raises the limit.",
            **first.fields(),
        )


def after_report(arena: Arena, agent_id: str, agent_totals: Totals) -> None:
    """After a usage report: warn at 80% of a limit and, at the limit, announce the
    exhaustion and open a budget request, each once per scope, limit and value."""
    budget = arena.budget
    if not budget:
        return
    marks = set(arena.budget_marks)
    scopes = [(ARENA_SCOPE, Totals.of(arena.usage), ARENA_LIMITS)]
    scopes.append((agent_id, agent_totals, AGENT_LIMITS))
    for scope, totals, names in scopes:
        for name in names:
            limit = limit_of(budget, name)
            if limit is None:
                continue
            spent = spent_of(totals, name)
            fields = {"scope": scope, "limit": wire(name, limit), "spent": wire(name, spent)}
            warned = f"warning|{scope}|{name}|{limit}"
            if spent * 100 >= limit * WARNING_PERCENT and warned not in marks:
                marks.add(warned)
                arena.budget_marks = sorted(marks)
                events.append(arena, EventType.BUDGET_WARNING, None, **fields)
            exhausted = f"exhausted|{scope}|{name}|{limit}"
            if spent >= limit and exhausted not in marks:
                marks.add(exhausted)
                arena.budget_marks = sorted(marks)
                events.append(arena, EventType.BUDGET_EXHAUSTED, None, **fields)
                _open_request(arena, scope, name, limit, spent)


def _open_request(arena: Arena, scope: str, name: str, limit: int, spent: int) -> None:
    unit = "a new limit in dollars, e.g. 25.00" if name in COST_LIMITS else "a number of tokens"
    if scope == ARENA_SCOPE:
        what = f"The arena has spent {describe(name, spent)} of its {name} limit of "
    else:
        what = f"Agent {scope} has spent {describe(name, spent)} of the {name} limit of "
    text = (
        f"{what}{describe(name, limit)}. No new work starts until you decide: raise the limit "
        f"(answer raise with {unit} as the text) or stop (answer stop: the arena settles)."
    )
    asks.open_for_system(arena, RequestKind.BUDGET, text, CHOICES, budget_limit=name)


def change(arena: Arena, budget: dict[str, Any] | None, actor: str | None) -> None:
    """Replace the arena's budget (`budget_changed`); marks of limits no longer set are
    dropped, so a limit set again warns again."""
    previous = arena.budget
    arena.budget = budget
    current = {(name, str(limit_of(budget, name))) for name in LIMITS}
    arena.budget_marks = [
        mark for mark in arena.budget_marks if tuple(mark.split("|")[2:]) in current
    ]
    events.append(arena, EventType.BUDGET_CHANGED, actor, budget=budget, previous=previous)


def answered(arena: Arena, request: InputRequest, choice: str, text: str, by: str) -> bool:
    """Act on a person's answer to a budget request: `raise` sets the limit the request
    names to the value in `text` (it must be above the current one); `stop` on an active
    arena returns True: the caller then settles it (`ArenaHandle`)."""
    name = request.budget_limit
    if choice == STOP:
        return arena.status == Status.ACTIVE
    value = (text or "").strip().lstrip("$").strip()
    if name in COST_LIMITS:
        amount = inputs.money(value, "text")
    else:
        if not _DIGITS.fullmatch(value):
            raise Invalid.field("text", "Give the new limit as a whole number of tokens.")
        amount = inputs.token_limit(int(value), "text")
    current = limit_of(arena.budget, name)
    if current is not None and amount <= current:
        raise Invalid.field(
            "text", f"A raise must be above the current limit of {describe(name, current)}."
        )
    budget = dict(arena.budget or {})
    budget[name] = wire(name, amount)
    change(arena, budget, by)
    return False


def state(arena: Arena, me: Participant | None) -> dict[str, Any]:
    """`GET …/budget/`: the budget, what the arena and the caller spent, what remains of
    each limit set (the per-agent ones for the caller), and the exhausted scopes."""
    budget = arena.budget
    arena_totals = Totals.of(arena.usage)
    mine = Totals.of(me.usage) if me is not None else None
    remaining: dict[str, Any] = {}
    for name in LIMITS:
        limit = limit_of(budget, name)
        if limit is None:
            continue
        totals = arena_totals if name in ARENA_LIMITS else mine
        if totals is None:
            continue
        remaining[name] = wire(name, max(0, limit - spent_of(totals, name)))
    return {
        "budget": budget,
        "spent": {
            "arena": arena_totals.wire(),
            "you": None if mine is None else mine.wire(),
        },
        "remaining": remaining,
        "exhausted": [e.scope for e in exhaustions(arena, me)],
    }
