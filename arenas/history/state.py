"""An arena's state right after one event of its log (`GET /api/arenas/{id}/state/?at=`).

Computed from one read of the log up to `at` (`fold`) and the rows that never change once
written: the arena's id, strategy, creation time and lease, its plan's steps, its artifacts
(without their content) and facts. No row that changes later (participants, claims,
requests, counters) is read, so the answer for a past seq never changes.

Two things the log does not hold are not shown as they were: presence (shown nowhere
here) and the `expires_at` of a claim renewed after its `step_claimed` (shown as claimed).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import connection
from django.db.models import QuerySet

from .. import lifecycle, validation
from ..aggregate import ArenaAggregate
from ..errors import NotFound
from ..events import timestamp
from ..models import Arena, Artifact, Event, Fact, Participant, RequestStatus, Step
from ..plan import dependencies
from ..representations import artifact_dict, fork_dict
from ..usage import Totals
from .fold import Folded, fold

LOG_CHUNK = 5000
IN_LIST_MAX = 500
LOG_QUERY = (
    "SELECT seq, type, timestamp, actor, data::text FROM arenas_event "
    "WHERE arena_id = %s AND seq <= %s ORDER BY seq"
)


@dataclass(frozen=True)
class Moment:
    """The arena right after event `folded.seq`: the fold, and the unchanging rows it
    names (the plan's steps by number; the artifacts and facts published up to then)."""

    arena: Arena
    folded: Folded
    steps: dict[int, Step]
    artifacts: list[Artifact]
    facts: list[Fact]


def at(arena_id: Any, seq: int | None) -> Moment:
    """The arena `arena_id` right after event `seq` (its newest when None); 400 unless
    1 ≤ seq ≤ last_seq."""
    arena = (
        Arena.objects.only(
            "id", "strategy", "created_at", "lease_seconds", "last_seq", "total_steps"
        )
        .filter(pk=arena_id)
        .first()
    )
    if arena is None:
        raise NotFound("No such arena.")
    if seq is None:
        seq = arena.last_seq
    seq = validation.integer(seq, "at", minimum=1, maximum=max(arena.last_seq, 1))
    folded = fold(_log(arena.pk, seq))
    published = folded.published
    artifact_ids = set(published.artifacts)
    fact_ids = set(published.facts)
    steps = {}
    if folded.arena.total_steps:
        steps = {s.number: s for s in Step.objects.filter(arena_id=arena.pk)}
    artifacts = _published(Artifact.objects.defer("content"), arena.pk, artifact_ids)
    facts = _published(Fact.objects.defer("content_folded"), arena.pk, fact_ids)
    artifacts.sort(key=lambda a: (a.created_at, a.id))
    facts.sort(key=lambda f: (f.created_at, f.id))
    return Moment(arena, folded, steps, artifacts, facts)


def _published(rows: QuerySet, arena_id: Any, ids: set[str]) -> list:
    """The arena's rows among `ids` (published up to the seq): by id when they are few,
    else the arena's whole set kept by id; no query when there are none."""
    if not ids:
        return []
    rows = rows.filter(arena_id=arena_id)
    if len(ids) <= IN_LIST_MAX:
        rows = rows.filter(pk__in=ids)
    return [row for row in rows if str(row.id) in ids]


def _log(arena_id: Any, seq: int) -> Iterator[tuple]:
    """The arena's events 1..seq in one ordered read, streamed in chunks, as tuples."""
    if connection.vendor == "postgresql":
        return _log_postgres(arena_id, seq)
    return (
        Event.objects.filter(arena_id=arena_id, seq__lte=seq)
        .order_by("seq")
        .values_list("seq", "type", "timestamp", "actor", "data")
        .iterator(chunk_size=LOG_CHUNK)
    )


def _log_postgres(arena_id: Any, seq: int) -> Iterator[tuple]:
    """As `_log`, on PostgreSQL: rows in binary form (a timestamp is eight bytes, not text
    to parse), `data` decoded once, no model field converters."""
    query = LOG_QUERY
    params = (arena_id, seq)
    with connection.cursor() as wrapper:
        cursor = wrapper.cursor  # psycopg's own, for `binary`
        # Logged as Django logs its queries (when it does: DEBUG, CaptureQueriesContext).
        record = getattr(wrapper, "debug_sql", None)
        with record(query, params) if record else nullcontext():
            cursor.execute(query, params, binary=True)
        # jsonb's text starts with its value: raw_decode, without json.loads' whitespace scan.
        decode = json.JSONDecoder().raw_decode
        while rows := cursor.fetchmany(LOG_CHUNK):
            for row_seq, type, when, actor, data in rows:
                yield row_seq, type, when, actor, decode(data)[0]


def wire(moment: Moment, me: Participant | None) -> dict[str, Any]:
    """The state as the API sends it, for the caller `me` (None: staff): an artifact of a
    slot the caller may not read is left out, as in the artifact list."""
    folded = moment.folded
    arena_id = str(moment.arena.pk)
    return {
        "at": folded.seq,
        "timestamp": _ts(folded.timestamp),
        "arena": arena_dict(moment),
        "participants": participants_list(folded),
        "plan": plan_list(moment),
        "claims": [
            {
                "claim_id": c.claim_id,
                "arena_id": arena_id,
                "step": c.step,
                "agent_id": c.agent_id,
                "claimed_at": _ts(c.claimed_at),
                "expires_at": c.expires_at,
            }
            for c in sorted(folded.plan.claims.values(), key=lambda c: c.step)
        ],
        "requests": requests_list(folded, arena_id),
        "artifacts": [
            artifact_dict(a, with_content=False)
            for a in moment.artifacts
            if me is None or me.can_read_other_slots or a.agent_id == me.agent_id
        ],
        "facts": [fact_dict(f, folded.arena.archived_at) for f in moment.facts],
    }


def arena_dict(moment: Moment) -> dict[str, Any]:
    """The arena's fields as `GET /api/arenas/{id}/` showed them then, with its
    aggregate and allowed transitions."""
    fields = moment.folded.arena
    participants = moment.folded.participants
    aggregate = ArenaAggregate(
        completed_steps=fields.completed_steps,
        total_steps=fields.total_steps,
        participants=tuple(participants.current()),
        status=fields.status,
        last_seq=moment.folded.seq,
        usage=moment.folded.usage.arena,
    )
    return {
        "id": str(moment.arena.pk),
        "goal": fields.goal,
        "status": fields.status,
        "strategy": fields.strategy,
        "total_steps": fields.total_steps,
        "completed_steps": fields.completed_steps,
        "created_by": fields.created_by,
        "created_at": _ts(moment.arena.created_at),
        "activated_at": _ts(fields.activated_at),
        "settling_at": _ts(fields.settling_at),
        "archived_at": _ts(fields.archived_at),
        "last_seq": moment.folded.seq,
        "settle_report": fields.settle_report,
        "lease_seconds": moment.arena.lease_seconds,
        "budget": moment.folded.usage.budget,
        "usage": moment.folded.usage.arena.wire(),
        "forked_from": fields.forked_from,
        "forks": [fork_dict(fork_id, seq) for fork_id, seq in fields.forks],
        "aggregate": aggregate.as_dict(),
        "allowed_transitions": lifecycle.allowed_transitions(fields.status),
    }


def participants_list(folded: Folded) -> list[dict[str, Any]]:
    """Everyone who took part up to then, current or gone (`left_at`), by agent id."""
    return [
        {
            "agent_id": agent_id,
            "role": slot.role,
            "permissions": dict(slot.permissions),
            "slot_status": slot.slot_status,
            "current": slot.current,
            "joined_at": _ts(slot.joined_at),
            "left_at": _ts(slot.left_at),
            "usage": folded.usage.agents.get(agent_id, Totals()).wire(),
        }
        for agent_id, slot in sorted(folded.participants.slots.items())
    ]


def plan_list(moment: Moment) -> list[dict[str, Any]]:
    """The plan's steps with their completion, live claim and review. A titled plan is
    listed whole; an untitled or open-ended one lists the steps completed or claimed."""
    folded = moment.folded
    plan = folded.plan
    held = {c.step: c for c in plan.claims.values()}
    total = folded.arena.total_steps
    if moment.steps:
        numbers: Any = range(1, total + 1)
    else:
        numbers = sorted(set(plan.completions) | set(held))
    steps, strategy, completions = moment.steps, folded.arena.strategy, plan.completions
    stamps: dict[datetime, str] = {}  # a completion time's wire form, once per instant
    listed = []
    for number in numbers:
        step = steps.get(number) if steps else None
        done = completions.get(number)
        completed_at = None
        if done is not None:
            completed_at = stamps.get(done[1])
            if completed_at is None:
                completed_at = stamps[done[1]] = timestamp(done[1])
        claim = held.get(number) if held else None
        listed.append(
            {
                "step": number,
                "title": step.title if step else "",
                "assignee": step.assignee_id if step else None,
                "depends_on": dependencies(strategy, number, step.depends_on if step else ())
                if total
                else [],
                "completed": done is not None,
                "completed_by": done[0] if done else None,
                "completed_at": completed_at,
                "claim": None
                if claim is None
                else {
                    "claim_id": claim.claim_id,
                    "agent_id": claim.agent_id,
                    "expires_at": claim.expires_at,
                },
                "review": plan.review(number) if step is not None and step.review else None,
            }
        )
    return listed


def requests_list(folded: Folded, arena_id: str) -> list[dict[str, Any]]:
    """The requests open then, newest first."""
    listed = sorted(folded.requests.open.values(), key=lambda r: r["request_id"])
    listed.sort(key=lambda r: r["created_at"], reverse=True)
    return [
        {
            "id": r["request_id"],
            "arena_id": arena_id,
            "kind": r["kind"],
            "agent_id": r["agent_id"],
            "text": r["text"],
            "choices": r["choices"],
            "step": r["step"],
            "status": RequestStatus.OPEN,
            "answer": None,
            "created_at": _ts(r["created_at"]),
        }
        for r in listed
    ]


def fact_dict(fact: Fact, archived_at: datetime | None) -> dict[str, Any]:
    """A fact as it was then: part of long-term memory once the arena was archived."""
    return {
        "id": str(fact.id),
        "arena_id": str(fact.arena_id),
        "content": fact.content,
        "source_agent": fact.source_agent_id,
        "confidence": fact.confidence,
        "tags": fact.tags,
        "created_at": _ts(fact.created_at),
        "settled_at": _ts(archived_at),
    }


def _ts(value: datetime | None) -> str | None:
    return timestamp(value) if value else None
