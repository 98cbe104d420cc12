"""ArenaAggregate: the arena's progress snapshot, and rebuilding it by replaying events.

The stored aggregate (counters and status on the Arena row, current participants) must
always equal `replay` of the arena's events; `verify_arenas` checks exactly that.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from . import sql
from .inputs import U32_MAX
from .models import Arena, Event, EventType
from .usage import Ledger, Totals


def saturating_add(value: int, amount: int = 1) -> int:
    """u32 addition that sticks at 4294967295 instead of wrapping."""
    return min(value + amount, U32_MAX)


def progress(completed_steps: int, total_steps: int) -> float:
    """The share of the plan completed, 0.0–1.0 (the wire's `progress`); 0.0 for an
    open-ended plan (no steps)."""
    return completed_steps / total_steps if total_steps else 0.0


def progress_percent(completed_steps: int, total_steps: int) -> int:
    """`progress` in whole percent, as people read it (the dashboard, the admin): rounded
    down, so a plan shows 100% only once every step is completed (at 99.6% it shows 99%);
    at most 100, and 0 for an open-ended plan."""
    if not total_steps:
        return 0
    return min(100, completed_steps * 100 // total_steps)


@dataclass(frozen=True)
class ArenaAggregate:
    completed_steps: int
    total_steps: int
    participants: tuple[str, ...]
    status: str
    last_seq: int
    # What the arena's agents reported spending.
    usage: Totals = field(default_factory=Totals)

    @property
    def progress(self) -> float:
        return progress(self.completed_steps, self.total_steps)

    def as_dict(self) -> dict[str, Any]:
        return {
            "completed_steps": self.completed_steps,
            "total_steps": self.total_steps,
            "participants": list(self.participants),
            "progress": self.progress,
            "status": self.status,
            "last_seq": self.last_seq,
            "usage": self.usage.wire(),
        }

    @classmethod
    def of(cls, arena: Arena) -> ArenaAggregate:
        """The stored aggregate of `arena` (agent ids sorted by code point, as `replay`
        sorts them)."""
        return cls(
            completed_steps=arena.completed_steps,
            total_steps=arena.total_steps,
            participants=tuple(sql.current_agent_ids(arena.pk)),
            status=arena.status,
            last_seq=arena.last_seq,
            usage=Totals.of(arena.usage),
        )


class ReplayError(Exception):
    """The event log itself is broken (a gap, a repeat, or an unknown event type)."""


@dataclass
class _Fold:
    completed_steps: int = 0
    total_steps: int = 0
    participants: set[str] = field(default_factory=set)
    status: str = ""
    last_seq: int = 0
    ledger: Ledger = field(default_factory=Ledger)

    def apply(self, seq: int, type: str, data: dict[str, Any]) -> None:
        if seq != self.last_seq + 1:
            raise ReplayError(f"event seq {seq} follows {self.last_seq}")
        self.last_seq = seq
        if type == EventType.ARENA_CREATED:
            self.total_steps = data["total_steps"]
            self.status = "created"
        elif type == EventType.AGENT_JOINED:
            self.participants.add(data["agent_id"])
        elif type == EventType.AGENT_LEFT:
            self.participants.discard(data["agent_id"])
        elif type == EventType.STEP_COMPLETED:
            self.completed_steps = saturating_add(self.completed_steps)
        elif type == EventType.STATUS_CHANGED:
            self.status = data["to_status"]
        elif type in (EventType.USAGE_REPORTED, EventType.BUDGET_CHANGED):
            self.ledger.apply(type, data)
        elif type not in EventType.values:
            raise ReplayError(f"unknown event type {type!r} at seq {seq}")


def replay(events: Iterable[tuple[int, str, dict[str, Any]]]) -> ArenaAggregate:
    """Fold `(seq, type, data)` triples, in seq order, into the aggregate they describe."""
    return replay_with_ledger(events)[0]


def replay_with_ledger(
    events: Iterable[tuple[int, str, dict[str, Any]]],
) -> tuple[ArenaAggregate, Ledger]:
    """`replay`, and the usage ledger the same events describe (per agent, step, model)."""
    fold = _Fold()
    for seq, type, data in events:
        fold.apply(seq, type, data)
    return ArenaAggregate(
        completed_steps=fold.completed_steps,
        total_steps=fold.total_steps,
        participants=tuple(sorted(fold.participants)),
        status=fold.status,
        last_seq=fold.last_seq,
        usage=fold.ledger.arena,
    ), fold.ledger


def rebuild(arena_id: Any, chunk_size: int = 5000) -> ArenaAggregate:
    """Replay the stored events of one arena."""
    return rebuild_with_ledger(arena_id, chunk_size)[0]


def rebuild_with_ledger(arena_id: Any, chunk_size: int = 5000) -> tuple[ArenaAggregate, Ledger]:
    """Replay the stored events of one arena: its aggregate and its usage ledger."""
    rows = (
        Event.objects.filter(arena_id=arena_id)
        .order_by("seq")
        .values_list("seq", "type", "data")
        .iterator(chunk_size=chunk_size)
    )
    return replay_with_ledger(rows)
