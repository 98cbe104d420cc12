"""Folding an arena's log into its state right after one event.

Plain Python over the events' fields: no database. Each part of the state is a *folder*
that keeps what its events say (the arena's own fields, the participants, the plan's
completions, claims and reviews, the open requests, the artifacts and facts published).
`fold` hands every event to each folder that has an `on_<type>` method for it, in seq
order. A further part of the state is one more folder in `FOLDERS` (for example usage
totals: a folder with `on_usage_reported`), and one more key where `state.py` writes
the folders out.

What the log does not hold is read by the caller from immutable rows: the plan's Step
rows, the artifacts' and facts' rows (their `created_at`, metadata, content).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ..aggregate import ReplayError, saturating_add
from ..models import EventType, RequestKind
from ..permissions import ROLE_DEFAULTS
from ..usage import Ledger

# (seq, type, timestamp, actor, data): an event as the log query returns it.
Row = tuple[int, str, datetime, str | None, dict[str, Any]]

APPROVE = "approve"
STATUS_TIMES = {"active": "activated_at", "settling": "settling_at", "archived": "archived_at"}


@dataclass
class ArenaFields:
    """The arena's own fields: goal, status and its times, counters, forks."""

    goal: str = ""
    status: str = ""
    strategy: str = ""
    total_steps: int = 0
    completed_steps: int = 0
    created_by: str | None = None
    activated_at: datetime | None = None
    settling_at: datetime | None = None
    archived_at: datetime | None = None
    settle_report: dict[str, int] | None = None
    forked_from: dict[str, Any] | None = None
    forks: list[tuple[str, int]] = field(default_factory=list)

    def on_arena_created(self, seq: int, at: datetime, data: dict[str, Any]) -> None:
        self.goal = data["goal"]
        self.status = "created"
        self.strategy = data["strategy"]
        self.total_steps = data["total_steps"]
        self.created_by = data["created_by"]
        self.forked_from = data.get("forked_from")

    def on_goal_updated(self, seq: int, at: datetime, data: dict[str, Any]) -> None:
        self.goal = data["new_goal"]

    def on_status_changed(self, seq: int, at: datetime, data: dict[str, Any]) -> None:
        self.status = data["to_status"]
        setattr(self, STATUS_TIMES[self.status], at)

    def on_step_completed(self, seq: int, at: datetime, data: dict[str, Any]) -> None:
        self.completed_steps = saturating_add(self.completed_steps)

    def on_arena_settled(self, seq: int, at: datetime, data: dict[str, Any]) -> None:
        self.settle_report = {
            name: data[name] for name in ("facts_persisted", "artifacts_archived", "events_cleared")
        }

    def on_arena_forked(self, seq: int, at: datetime, data: dict[str, Any]) -> None:
        self.forks.append((data["fork_id"], data["at"]))


@dataclass
class Slot:
    """A participant (current or gone) and its slot."""

    role: str
    permissions: dict[str, bool]
    joined_at: datetime
    left_at: datetime | None = None
    slot_status: str = "idle"
    current: str = ""


@dataclass
class Participants:
    slots: dict[str, Slot] = field(default_factory=dict)

    def on_agent_joined(self, seq: int, at: datetime, data: dict[str, Any]) -> None:
        role = data["role"]
        # Events written before `permissions` was recorded carry the role's defaults.
        flags = data.get("permissions") or ROLE_DEFAULTS[role]
        self.slots[data["agent_id"]] = Slot(role, dict(flags), joined_at=at)

    def on_agent_left(self, seq: int, at: datetime, data: dict[str, Any]) -> None:
        self.slots[data["agent_id"]].left_at = at

    def on_progress_updated(self, seq: int, at: datetime, data: dict[str, Any]) -> None:
        slot = self.slots[data["agent_id"]]
        slot.current = data["current"]
        slot.slot_status = data["slot_status"]

    def on_artifact_published(self, seq: int, at: datetime, data: dict[str, Any]) -> None:
        # Publishing sets the publisher's slot to `working`.
        slot = self.slots.get(data["agent_id"])
        if slot is not None and slot.left_at is None:
            slot.slot_status = "working"

    on_artifacts_merged = on_artifact_published

    def current(self) -> list[str]:
        return sorted(agent for agent, slot in self.slots.items() if slot.left_at is None)


@dataclass
class HeldClaim:
    claim_id: int
    step: int
    agent_id: str
    claimed_at: datetime
    expires_at: str


@dataclass
class Plan:
    """Completions (by whom, when), live claims and the review state of review steps."""

    completions: dict[int, tuple[str, datetime]] = field(default_factory=dict)
    claims: dict[int, HeldClaim] = field(default_factory=dict)
    pending_reviews: dict[str, int] = field(default_factory=dict)  # request id -> step
    approved: set[int] = field(default_factory=set)

    def on_step_completed(self, seq: int, at: datetime, data: dict[str, Any]) -> None:
        step = data["step"]
        self.completions[step] = (data["agent_id"], at)
        self._end_claim_on(step)

    def on_step_claimed(self, seq: int, at: datetime, data: dict[str, Any]) -> None:
        claim = HeldClaim(data["claim_id"], data["step"], data["agent_id"], at, data["expires_at"])
        self.claims[claim.claim_id] = claim

    def on_claim_released(self, seq: int, at: datetime, data: dict[str, Any]) -> None:
        self.claims.pop(data["claim_id"], None)

    on_claim_expired = on_claim_released

    def on_input_requested(self, seq: int, at: datetime, data: dict[str, Any]) -> None:
        if data["kind"] == RequestKind.REVIEW:
            # Submitting a review step ends the submitter's claim on it.
            self.pending_reviews[data["request_id"]] = data["step"]
            self._end_claim_on(data["step"])

    def on_input_provided(self, seq: int, at: datetime, data: dict[str, Any]) -> None:
        step = self.pending_reviews.pop(data["request_id"], None)
        if step is not None and data["choice"] == APPROVE:
            self.approved.add(step)

    def on_input_cancelled(self, seq: int, at: datetime, data: dict[str, Any]) -> None:
        self.pending_reviews.pop(data["request_id"], None)

    def _end_claim_on(self, step: int) -> None:
        if not self.claims:
            return
        for claim_id in [c for c, claim in self.claims.items() if claim.step == step]:
            del self.claims[claim_id]

    def review(self, step: int) -> str:
        """A review step's review: pending, approved, or required."""
        if step in self.pending_reviews.values():
            return "pending"
        return "approved" if step in self.approved else "required"


@dataclass
class Requests:
    """The requests for people open at the moment, by id."""

    open: dict[str, dict[str, Any]] = field(default_factory=dict)

    def on_input_requested(self, seq: int, at: datetime, data: dict[str, Any]) -> None:
        self.open[data["request_id"]] = {**data, "created_at": at}

    def on_input_provided(self, seq: int, at: datetime, data: dict[str, Any]) -> None:
        self.open.pop(data["request_id"], None)

    on_input_cancelled = on_input_provided


@dataclass
class Published:
    """The artifacts and facts published so far, by id."""

    artifacts: list[str] = field(default_factory=list)
    merged: set[str] = field(default_factory=set)
    facts: list[str] = field(default_factory=list)

    def on_artifact_published(self, seq: int, at: datetime, data: dict[str, Any]) -> None:
        self.artifacts.append(data["artifact_id"])

    def on_artifacts_merged(self, seq: int, at: datetime, data: dict[str, Any]) -> None:
        self.artifacts.append(data["artifact_id"])
        self.merged.add(data["artifact_id"])

    def on_fact_shared(self, seq: int, at: datetime, data: dict[str, Any]) -> None:
        self.facts.append(data["fact_id"])


class Spending(Ledger):
    """Usage totals and the budget (`usage.Ledger`), folded by the same events."""

    def on_usage_reported(self, seq: int, when: datetime, data: dict[str, Any]) -> None:
        self.apply(EventType.USAGE_REPORTED, data)

    def on_budget_changed(self, seq: int, when: datetime, data: dict[str, Any]) -> None:
        self.apply(EventType.BUDGET_CHANGED, data)


FOLDERS: dict[str, type] = {
    "arena": ArenaFields,
    "participants": Participants,
    "plan": Plan,
    "requests": Requests,
    "published": Published,
    "usage": Spending,
}


@dataclass
class Folded:
    """The folders after the events up to `seq` (the time of that event: `timestamp`)."""

    seq: int
    timestamp: datetime | None
    parts: dict[str, Any]

    def __getattr__(self, name: str) -> Any:
        try:
            return self.__dict__["parts"][name]
        except KeyError:
            raise AttributeError(name) from None


def fold(rows: Iterable[Row], folders: dict[str, type] = FOLDERS) -> Folded:
    """Fold `rows` (in seq order from 1, without gaps) into a new set of `folders`."""
    parts = {name: folder() for name, folder in folders.items()}
    handlers: dict[str, list[Callable[[int, datetime, dict[str, Any]], None]]] = {
        type: [
            getattr(part, f"on_{type}") for part in parts.values() if hasattr(part, f"on_{type}")
        ]
        for type in EventType.values
    }
    seq, when = 0, None
    for row_seq, type, timestamp, _actor, data in rows:
        if row_seq != seq + 1:
            raise ReplayError(f"event seq {row_seq} follows {seq}")
        try:
            applying = handlers[type]
        except KeyError:
            raise ReplayError(f"unknown event type {type!r} at seq {row_seq}") from None
        for apply in applying:
            apply(row_seq, timestamp, data)
        seq, when = row_seq, timestamp
    return Folded(seq, when, parts)
