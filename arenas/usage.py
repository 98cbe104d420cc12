"""The ledger of what an arena's agents spent.

Agents report their model calls: tokens in and out (cached input among the input, as the
OpenTelemetry GenAI conventions count them), calls and, when they know it, the cost; a
report without a cost is priced from the model's name (arenas/prices.py). Money is counted
in integer micro-dollars end to end and shown as a decimal string with 6 places.

The arena's totals and each participant's are stored on their rows, changed by the same
write that appends `usage_reported`; each report is also a `UsageReport` row, which the
breakdowns by step and by model add up. `Ledger` folds an arena's events into the same
totals (and its budget): `verify_arenas` and the history of an arena replay it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, fields
from typing import Any

from django.db import transaction
from django.db.models import Q, Sum

from . import events, inputs, metrics, prices, sql
from .errors import Invalid
from .models import Arena, Event, EventType, Participant, UsageReport

GROUPS = ("agent", "step", "model")


def _saturating(value: int) -> int:
    return min(value, inputs.U64_MAX)


@dataclass
class Totals:
    """Usage added up: u64 counters that saturate, money in micro-dollars."""

    input_tokens: int = 0
    output_tokens: int = 0
    cached_input_tokens: int = 0
    calls: int = 0
    cost_micro_usd: int = 0
    unpriced_calls: int = 0

    @property
    def tokens(self) -> int:
        """What a token limit counts: input and output tokens."""
        return self.input_tokens + self.output_tokens

    def add(self, report: Report) -> None:
        self.input_tokens = _saturating(self.input_tokens + report.input_tokens)
        self.output_tokens = _saturating(self.output_tokens + report.output_tokens)
        self.cached_input_tokens = _saturating(
            self.cached_input_tokens + report.cached_input_tokens
        )
        self.calls = _saturating(self.calls + report.calls)
        if report.cost_micro_usd is None:
            self.unpriced_calls = _saturating(self.unpriced_calls + report.calls)
        else:
            self.cost_micro_usd = _saturating(self.cost_micro_usd + report.cost_micro_usd)

    def stored(self) -> dict[str, int]:
        """As the rows keep it (arenas.models Arena.usage, Participant.usage)."""
        return {f.name: getattr(self, f.name) for f in fields(self)}

    @classmethod
    def of(cls, stored: dict[str, Any] | None) -> Totals:
        return cls(**{f.name: (stored or {}).get(f.name, 0) for f in fields(cls)})

    def wire(self) -> dict[str, Any]:
        """As every door shows it: the OpenTelemetry GenAI names, money as a string."""
        return {
            "input_tokens": self.input_tokens,
            "output_tokens": self.output_tokens,
            "cached_input_tokens": self.cached_input_tokens,
            "calls": self.calls,
            "cost_usd": inputs.usd(self.cost_micro_usd),
            "unpriced_calls": self.unpriced_calls,
        }


@dataclass(frozen=True)
class Report:
    """One usage report, validated; `cost_micro_usd` None when it could not be priced."""

    agent_id: str
    model: str
    input_tokens: int
    output_tokens: int
    cached_input_tokens: int
    calls: int
    cost_micro_usd: int | None
    step: int | None
    # The price table's name for the model (None when it does not know it): metrics only.
    table_model: str | None = None

    @property
    def priced(self) -> bool:
        return self.cost_micro_usd is not None

    def event_fields(self, totals: Totals) -> dict[str, Any]:
        """The fields of its `usage_reported` event, with the arena's totals after it."""
        return {
            "agent_id": self.agent_id,
            "model": self.model,
            "input_tokens": self.input_tokens,
            "output_tokens": self.output_tokens,
            "cached_input_tokens": self.cached_input_tokens,
            "calls": self.calls,
            "cost_usd": None if self.cost_micro_usd is None else inputs.usd(self.cost_micro_usd),
            "priced": self.priced,
            "step": self.step,
            "totals": totals.wire(),
        }

    @classmethod
    def from_event(cls, data: dict[str, Any]) -> Report:
        cost = data["cost_usd"]
        return cls(
            agent_id=data["agent_id"],
            model=data["model"],
            input_tokens=data["input_tokens"],
            output_tokens=data["output_tokens"],
            cached_input_tokens=data["cached_input_tokens"],
            calls=data["calls"],
            cost_micro_usd=None if cost is None else inputs.money(cost, "cost_usd"),
            step=data["step"],
        )


def parse(agent_id: str, values: dict[str, Any], last_step: int) -> Report:
    """A report from a door's values (`model`, `input_tokens`, `output_tokens`, optional
    `cached_input_tokens`, `calls`, `cost_usd`, `step` from 1 to `last_step`, the arena's
    `plan.last_step`), priced when it has no cost."""
    unknown = sorted(set(values) - REPORT_FIELDS)
    if unknown:
        raise Invalid({name: ["Unknown field."] for name in unknown})
    for name in ("model", "input_tokens", "output_tokens"):
        if values.get(name) is None:
            raise Invalid.field(name, "This field is required.")
    model = inputs.model_name(values["model"])
    input_tokens = inputs.tokens(values["input_tokens"], "input_tokens")
    output_tokens = inputs.tokens(values["output_tokens"], "output_tokens")
    cached = values.get("cached_input_tokens")
    cached = 0 if cached is None else inputs.tokens(cached, "cached_input_tokens")
    if cached > input_tokens:
        raise Invalid.field(
            "cached_input_tokens", "Cached input tokens are part of input_tokens: at most that."
        )
    calls = values.get("calls")
    calls = 1 if calls is None else inputs.tokens(calls, "calls", minimum=1)
    step = values.get("step")
    if step is not None:
        step = inputs.step_number(step, last_step)
    cost = values.get("cost_usd")
    if cost is not None:
        cost = inputs.money(cost, "cost_usd")
    # A report with its cost needs the table only to name its model in the metrics.
    table = None
    if cost is None or metrics.enabled():
        table = prices.price(model, input_tokens, output_tokens, cached)
    if cost is None and table is not None:
        cost = table.micro_usd
    return Report(
        agent_id=agent_id,
        model=model,
        input_tokens=input_tokens,
        output_tokens=output_tokens,
        cached_input_tokens=cached,
        calls=calls,
        cost_micro_usd=cost,
        step=step,
        table_model=table.model if table else None,
    )


REPORT_FIELDS = {
    "model",
    "input_tokens",
    "output_tokens",
    "cached_input_tokens",
    "calls",
    "cost_usd",
    "step",
}


def record(arena: Arena, me: Participant, report: Report, actor: str) -> tuple[UsageReport, Event]:
    """Add a report to the arena's and the participant's totals, keep its row and append
    `usage_reported`. The caller holds the arena's lock (an `ArenaHandle` write)."""
    totals = Totals.of(arena.usage)
    totals.add(report)
    arena.usage = totals.stored()
    mine = Totals.of(me.usage)
    mine.add(report)
    me.usage = mine.stored()
    event = events.append(arena, EventType.USAGE_REPORTED, actor, **report.event_fields(totals))
    row = UsageReport(
        arena=arena,
        seq=event.seq,
        agent_id=report.agent_id,
        model=report.model,
        input_tokens=report.input_tokens,
        output_tokens=report.output_tokens,
        cached_input_tokens=report.cached_input_tokens,
        calls=report.calls,
        cost_micro_usd=report.cost_micro_usd,
        priced=report.priced,
        step=report.step,
        created_at=event.timestamp,
    )
    sql.record_usage(me, row)
    transaction.on_commit(
        lambda: metrics.usage_reported(
            report.table_model or metrics.UNPRICED_MODEL,
            report.table_model is not None,
            report.input_tokens,
            report.output_tokens,
            report.cached_input_tokens,
            (report.cost_micro_usd or 0) / inputs.MICRO_PER_USD,
        )
    )
    return row, event


def report_dict(row: UsageReport) -> dict[str, Any]:
    """A usage report as the API returns it."""
    return {
        "arena_id": str(row.arena_id),
        "seq": row.seq,
        "agent_id": row.agent_id,
        "model": row.model,
        "input_tokens": row.input_tokens,
        "output_tokens": row.output_tokens,
        "cached_input_tokens": row.cached_input_tokens,
        "calls": row.calls,
        "cost_usd": None if row.cost_micro_usd is None else inputs.usd(row.cost_micro_usd),
        "priced": row.priced,
        "step": row.step,
        "created_at": events.timestamp(row.created_at),
    }


# --- breakdowns ------------------------------------------------------------------------------


def breakdown(arena: Arena, group: str) -> list[dict[str, Any]]:
    """The arena's totals by agent (every agent that reported, by agent id), by step
    (reports that named one, by step) or by model (by name)."""
    if group == "agent":
        rows = Participant.objects.filter(arena=arena).order_by("agent_id")
        return [
            {"agent_id": p.agent_id, **Totals.of(p.usage).wire()}
            for p in rows.only("agent_id", "usage")
            if Totals.of(p.usage).calls
        ]
    key = "step" if group == "step" else "model"
    reports = UsageReport.objects.filter(arena=arena)
    if key == "step":
        reports = reports.filter(step__isnull=False)
    sums = (
        reports.values(key)
        .annotate(
            sum_input_tokens=Sum("input_tokens"),
            sum_output_tokens=Sum("output_tokens"),
            sum_cached_input_tokens=Sum("cached_input_tokens"),
            sum_calls=Sum("calls"),
            sum_cost_micro_usd=Sum("cost_micro_usd", default=0),
            sum_unpriced_calls=Sum("calls", filter=Q(priced=False), default=0),
        )
        .order_by(key)
    )
    result = []
    for row in sums:
        totals = Totals(**{f.name: _saturating(int(row[f"sum_{f.name}"])) for f in fields(Totals)})
        result.append({key: row[key], **totals.wire()})
    return result


SERIES_POINTS = 5000


def cost_series(arena: Arena) -> dict[str, Any]:
    """The arena's cumulative cost after each of its last SERIES_POINTS reports, for a
    chart: `times` (seconds since the epoch), `costs` and the cost limit in dollars as
    numbers (a drawing, not the ledger, which stays exact)."""
    times: list[float] = []
    costs: list[float] = []
    spent = 0
    rows = UsageReport.objects.filter(arena=arena).order_by("seq")
    for created_at, cost in rows.values_list("created_at", "cost_micro_usd").iterator():
        spent += cost or 0
        times.append(created_at.timestamp())
        costs.append(spent / inputs.MICRO_PER_USD)
    limit = (arena.budget or {}).get("cost_usd")
    return {
        "times": times[-SERIES_POINTS:],
        "costs": costs[-SERIES_POINTS:],
        "limit": None if limit is None else inputs.money(limit, "cost_usd") / inputs.MICRO_PER_USD,
    }


# --- replaying the log -------------------------------------------------------------------------


@dataclass
class Ledger:
    """The usage and budget an arena's events describe, folded one event at a time:
    the totals of the arena, of each agent, of each step and of each model, and the budget
    (`budget_changed`)."""

    arena: Totals = field(default_factory=Totals)
    agents: dict[str, Totals] = field(default_factory=dict)
    steps: dict[int, Totals] = field(default_factory=dict)
    models: dict[str, Totals] = field(default_factory=dict)
    budget: dict[str, Any] | None = None

    def apply(self, type: str, data: dict[str, Any]) -> None:
        if type == EventType.USAGE_REPORTED:
            report = Report.from_event(data)
            self.arena.add(report)
            self.agents.setdefault(report.agent_id, Totals()).add(report)
            self.models.setdefault(report.model, Totals()).add(report)
            if report.step is not None:
                self.steps.setdefault(report.step, Totals()).add(report)
        elif type == EventType.BUDGET_CHANGED:
            self.budget = data["budget"]


def replay(events: Iterable[tuple[str, dict[str, Any]]]) -> Ledger:
    """Fold `(type, data)` pairs, in seq order, into a Ledger."""
    ledger = Ledger()
    for type, data in events:
        ledger.apply(type, data)
    return ledger
