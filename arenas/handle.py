"""ArenaHandle: one participant's (or a staff user's) permission-checked view of one arena.

Every read and write an agent makes goes through a handle. Each operation checks, in this
order: the caller can see the arena (else 404, its existence is not revealed), the caller's
role or permission flag (403), the arena's state (409), then the values given (400).

Writes run in one transaction that locks the arena's row first; the change and its event are
committed together. Permissions are read again under that lock, so a participant removed a
moment ago cannot still write.
"""

from __future__ import annotations

import uuid
from collections.abc import Container, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from typing import Any

from django.db import connection, transaction
from django.db.models import QuerySet
from django.utils import timezone

from . import events, lifecycle, permissions, statements, text
from .aggregate import ArenaAggregate, saturating_add
from .errors import (
    AlreadyParticipant,
    Invalid,
    LastCoordinator,
    NotFound,
    PermissionDenied,
    PreconditionFailed,
    StepAlreadyCompleted,
    StepBlocked,
)
from .lifecycle import Operation
from .models import (
    Agent,
    Arena,
    Artifact,
    ArtifactKind,
    Event,
    EventType,
    Fact,
    FactTag,
    Participant,
    Role,
    SlotStatus,
    Step,
    StepCompletion,
)
from .representations import arena_detail, permissions_dict
from .text import U32_MAX

GOAL_MAX = 4000
TEXT_MAX = 4000
CURRENT_MAX = 500
TITLE_MAX = 200
CONTENT_MAX_BYTES = 1024 * 1024
METADATA_MAX_BYTES = 64 * 1024
CONFIDENCE_MIN = 0.0
CONFIDENCE_MAX = 1.0
TAGS_MAX = 16
TAG_MAX = 64
MERGE_SOURCES_MAX = 100
EVENTS_PAGE_MAX = 500


def parse_arena_id(value: Any) -> uuid.UUID:
    """A UUID, or NotFound: a malformed id names no arena."""
    if isinstance(value, uuid.UUID):
        return value
    try:
        return uuid.UUID(str(value))
    except (TypeError, ValueError, AttributeError):
        raise NotFound("No such arena.") from None


def validate_goal(goal: Any) -> str:
    return text.text(goal, "goal", min_len=1, max_len=GOAL_MAX, blank=False)


class ArenaHandle:
    """Operations of one caller on one arena. Create handles with `ArenaManager.handle`
    (an agent) or `ArenaManager.staff_handle` (a staff user)."""

    def __init__(
        self, arena_id: Any, *, agent_id: str | None = None, staff_username: str | None = None
    ):
        if (agent_id is None) == (staff_username is None):
            raise ValueError("A handle acts for exactly one agent or one staff user.")
        self.arena_id = parse_arena_id(arena_id)
        self.agent_id = agent_id
        self.staff_username = staff_username

    def __repr__(self) -> str:
        return f"<ArenaHandle {self.arena_id} as {self.actor}>"

    @property
    def is_staff(self) -> bool:
        return self.staff_username is not None

    @property
    def actor(self) -> str:
        """The event `actor`: the agent id, or `staff:<username>`."""
        return self.agent_id if self.agent_id is not None else f"staff:{self.staff_username}"

    # --- checks ---------------------------------------------------------------------------

    def _me(self) -> Participant | None:
        """The caller's current participation (None for staff); NotFound if not visible."""
        if self.is_staff:
            self.require_visible()
            return None
        row = statements.fetch_one(
            _sql(connection.vendor).participant, [_arena_param(self.arena_id), self.agent_id]
        )
        if row is None:
            raise NotFound("No such arena.")
        return _PARTICIPANT.load(row)

    def require_visible(self) -> None:
        """NotFound unless the caller can see the arena: a current participant, or staff
        and the arena exists. One statement."""
        sql, key = _sql(connection.vendor), _arena_param(self.arena_id)
        if self.is_staff:
            row = statements.fetch_one(sql.arena_exists, [key])
        else:
            row = statements.fetch_one(sql.is_participant, [key, self.agent_id])
        if row is None:
            raise NotFound("No such arena.")

    def _require_permission(self, me: Participant | None, flag: str) -> None:
        if me is None:
            raise PermissionDenied(f"Staff users have no slot of their own ({flag}).")
        if not getattr(me, flag):
            raise PermissionDenied(f"Your participation lacks the permission {flag}.")

    def _require_coordinator(self, me: Participant | None) -> None:
        if me is not None and me.role != Role.COORDINATOR:
            raise PermissionDenied("Only a coordinator may manage this arena.")

    @contextmanager
    def _write(
        self,
        operation: Operation,
        *,
        flag: str | None = None,
        manage: bool = False,
    ) -> Iterator[tuple[Arena, Participant | None]]:
        """Lock the arena, check the caller and the arena's state, and yield both. The arena
        row and the caller's participation come from one locking statement."""
        with transaction.atomic():
            arena, me = self._lock()
            if manage:
                self._require_coordinator(me)
            if flag is not None:
                self._require_permission(me, flag)
            lifecycle.require_allows(arena.status, operation)
            yield arena, me

    def _lock(self) -> tuple[Arena, Participant | None]:
        """The arena's row, locked until the transaction ends, and the caller's current
        participation (None for staff); NotFound if the caller cannot see the arena."""
        sql, key = _sql(connection.vendor), _arena_param(self.arena_id)
        if self.is_staff:
            row = statements.fetch_one(sql.lock_arena, [key])
        else:
            row = statements.fetch_one(sql.lock_arena_as, [self.agent_id, key])
        if row is None:
            raise NotFound("No such arena.")
        arena = _ARENA.load(row)
        if self.is_staff:
            return arena, None
        if row[len(_ARENA)] is None:
            raise NotFound("No such arena.")
        return arena, _PARTICIPANT.load(row, len(_ARENA))

    # --- reads ----------------------------------------------------------------------------

    def arena(self) -> Arena:
        self._me()
        return Arena.objects.get(pk=self.arena_id)

    def you(self, me: Participant | None) -> dict[str, Any]:
        if me is None:
            return {
                "agent_id": None,
                "staff": self.staff_username,
                "role": "staff",
                "permissions": dict.fromkeys(permissions.PERMISSIONS, False),
            }
        return {
            "agent_id": me.agent_id,
            "staff": None,
            "role": me.role,
            "permissions": permissions_dict(me),
        }

    def detail(self) -> dict[str, Any]:
        """The arena as the SPEC's `GET /api/arenas/{id}/` and websocket snapshot show it."""
        arena = Arena.objects.filter(pk=self.arena_id).first()
        if arena is None:
            raise NotFound("No such arena.")
        current = current_participants(arena.pk)
        if self.is_staff:
            me = None
        else:
            me = next((p for p in current if p.agent_id == self.agent_id), None)
            if me is None:
                raise NotFound("No such arena.")
        return arena_detail(arena, current, self.you(me))

    def aggregate(self) -> ArenaAggregate:
        self._me()
        return ArenaAggregate.of(Arena.objects.get(pk=self.arena_id))

    def events(self, after: int = 0, limit: int = 50) -> list[Event]:
        """Events with `seq > after`, in seq order, at most `limit`."""
        self._me()
        after = text.integer(after, "after", minimum=0, maximum=2**63 - 1)
        limit = text.integer(limit, "limit", minimum=1, maximum=EVENTS_PAGE_MAX)
        return list(
            Event.objects.filter(arena_id=self.arena_id, seq__gt=after).order_by("seq")[:limit]
        )

    def participants(self) -> list[Participant]:
        """Current participants, sorted by agent id."""
        self._me()
        return current_participants(self.arena_id)

    def steps(self, after: int = 0, limit: int = 50) -> tuple[list[dict[str, Any]], int | None]:
        """The plan from step `after + 1`, at most `limit` steps, each with its completion,
        and the `after` of the next page (None on the last page). An open-ended plan
        (total_steps 0) lists its completed steps."""
        self._me()
        after = text.integer(after, "after", minimum=0, maximum=U32_MAX)
        limit = text.integer(limit, "limit", minimum=1, maximum=EVENTS_PAGE_MAX)
        arena = Arena.objects.get(pk=self.arena_id)
        completions = StepCompletion.objects.filter(arena=arena, step__gt=after).order_by("step")
        if arena.total_steps == 0:
            rows = list(completions[: limit + 1])
            page = [_step_dict(c.step, None, c) for c in rows[:limit]]
            return page, (page[-1]["step"] if len(rows) > limit else None)
        last = min(after + limit, arena.total_steps)
        numbers = range(after + 1, last + 1)
        planned = {s.number: s for s in Step.objects.filter(arena=arena, number__in=numbers)}
        done = {c.step: c for c in completions.filter(step__lte=last)}
        pipeline = arena.strategy == "pipeline"
        page = []
        for n in numbers:
            step = planned.get(n)
            if step is None and pipeline and n > 1:
                depends = [n - 1]
            else:
                depends = step.depends_on if step else []
            page.append(_step_dict(n, step, done.get(n), depends))
        return page, (last if last < arena.total_steps else None)

    def artifacts(self, agent: str | None = None) -> QuerySet[Artifact]:
        """Artifacts without their content, oldest first: the caller's own slot always,
        other slots with `can_read_other_slots`. `agent` narrows to one slot."""
        me = self._me()
        reads_all = me is None or me.can_read_other_slots
        qs = Artifact.objects.filter(arena_id=self.arena_id).defer("content")
        if agent is not None:
            agent = text.agent_id(agent, "agent")
            if not reads_all and agent != me.agent_id:
                raise PermissionDenied(
                    "Your participation lacks the permission can_read_other_slots."
                )
            qs = qs.filter(agent_id=agent)
        elif not reads_all:
            qs = qs.filter(agent_id=me.agent_id)
        return qs.order_by("created_at", "id")

    def artifact(self, artifact_id: Any) -> Artifact:
        me = self._me()
        try:
            artifact_uuid = uuid.UUID(str(artifact_id))
        except ValueError:
            raise NotFound("No such artifact.") from None
        artifact = Artifact.objects.filter(arena_id=self.arena_id, pk=artifact_uuid).first()
        if artifact is None:
            raise NotFound("No such artifact.")
        if me is not None and artifact.agent_id != me.agent_id and not me.can_read_other_slots:
            raise PermissionDenied("Your participation lacks the permission can_read_other_slots.")
        return artifact

    def facts(self, tag: str | None = None, q: str | None = None) -> QuerySet[Fact]:
        """The arena's shared facts, oldest first, optionally by exact tag and by a
        case-insensitive substring of the content."""
        self._me()
        return filter_facts(Fact.objects.filter(arena_id=self.arena_id), tag, q)

    # --- management -----------------------------------------------------------------------

    def transition(self, to: str) -> Arena:
        """Move the arena to state `to` through the one lifecycle function."""
        with self._write(Operation.READ, manage=True) as (arena, _me):
            lifecycle.transition(arena, to, self.actor)
            return arena

    def act(self, action: Any) -> Arena:
        """Run a lifecycle action by name: activate, settle or archive."""
        action = text.choice(action, "action", tuple(lifecycle.ACTIONS))
        return self.transition(lifecycle.ACTIONS[action])

    def update_goal(self, goal: Any, expected_seqs: Container[int] | None = None) -> Arena:
        """Replace the goal. With `expected_seqs` (an `If-Match`), the arena's `last_seq`
        must be one of them, checked under the row lock (else 412 precondition_failed)."""
        with self._write(Operation.UPDATE_GOAL, manage=True) as (arena, _me):
            if expected_seqs is not None and arena.last_seq not in expected_seqs:
                raise PreconditionFailed()
            arena.goal = validate_goal(goal)
            events.append(
                arena, EventType.GOAL_UPDATED, self.actor, save_fields=["goal"], new_goal=arena.goal
            )
            return arena

    def add_participant(self, agent_id: Any, role: Any, **overrides: Any) -> Participant:
        """Add an agent (or re-join one that left) with a role and optional flag overrides."""
        with self._write(Operation.ADD_PARTICIPANT, manage=True) as (arena, _me):
            agent = _existing_agent(agent_id, "agent_id")
            role, flags = permissions.resolve(role, overrides)
            existing = Participant.objects.filter(arena=arena, agent=agent).first()
            if existing is not None and existing.left_at is None:
                raise AlreadyParticipant(f"{agent.agent_id!r} is already a participant.")
            participant = join(arena, agent, role, flags, existing)
            events.append(
                arena, EventType.AGENT_JOINED, self.actor, agent_id=agent.agent_id, role=role
            )
            return participant

    def remove_participant(self, agent_id: Any) -> None:
        """Leave (your own agent id) or remove another participant (coordinator or staff)."""
        agent_id = text.agent_id(agent_id)
        leaving_self = agent_id == self.agent_id
        with self._write(Operation.REMOVE_PARTICIPANT, manage=not leaving_self) as (arena, _me):
            target = Participant.objects.filter(
                arena=arena, agent_id=agent_id, left_at__isnull=True
            ).first()
            if target is None:
                raise NotFound(f"{agent_id!r} is not a participant of this arena.")
            if target.role == Role.COORDINATOR:
                coordinators = Participant.objects.filter(
                    arena=arena, role=Role.COORDINATOR, left_at__isnull=True
                ).count()
                if coordinators <= 1:
                    raise LastCoordinator()
            target.left_at = timezone.now()
            target.save(update_fields=["left_at"])
            events.append(arena, EventType.AGENT_LEFT, self.actor, agent_id=agent_id)

    def leave(self) -> None:
        if self.agent_id is None:
            raise PermissionDenied("Staff users are not participants.")
        self.remove_participant(self.agent_id)

    # --- the caller's slot --------------------------------------------------------------

    def complete_step(self, step: Any) -> tuple[Event, ArenaAggregate]:
        """Complete step `step`: 201 once, 409 after; blocked until its dependencies are done."""
        with self._write(Operation.WRITE_SLOT, flag="can_write_own_slot") as (arena, me):
            top = arena.total_steps or U32_MAX
            if isinstance(step, bool) or not isinstance(step, int) or not 1 <= step <= top:
                raise Invalid.field("step", f"Must be a step number from 1 to {top}.")
            planned = _planned_step(arena, step)
            if (
                planned is not None
                and planned.assignee_id not in (None, me.agent_id)
                and me.role != Role.COORDINATOR
            ):
                raise PermissionDenied(f"Step {step} is assigned to {planned.assignee_id!r}.")
            if planned is not None:
                depends_on = planned.depends_on
            else:
                depends_on = [step - 1] if arena.strategy == "pipeline" and step > 1 else []
            done = _completed(arena, [step, *depends_on])
            if step in done:
                raise StepAlreadyCompleted(f"Step {step} is already completed.")
            missing = sorted(set(depends_on) - done)
            if missing:
                raise StepBlocked(
                    f"Step {step} waits for step(s) {', '.join(map(str, missing))}.",
                    waiting_for=missing,
                )
            now = timezone.now()
            statements.insert(
                StepCompletion(
                    arena_id=arena.id, step=step, agent_id=me.agent_id, completed_at=now
                ),
                ["arena", "step", "agent", "completed_at"],
            )
            arena.completed_steps = saturating_add(arena.completed_steps)
            event = events.append(
                arena,
                EventType.STEP_COMPLETED,
                self.actor,
                save_fields=["completed_steps"],
                step=step,
                agent_id=me.agent_id,
                completed_steps=arena.completed_steps,
                total_steps=arena.total_steps,
            )
            return event, ArenaAggregate.of(arena)

    def report_progress(self, current: Any = None, slot_status: Any = None) -> Participant:
        """Say what the caller's slot is doing now; either value may be left unchanged."""
        with self._write(Operation.WRITE_SLOT, flag="can_write_own_slot") as (arena, me):
            if current is None and slot_status is None:
                raise Invalid({"current": ["Give current, slot_status or both."]})
            if current is not None:
                me.current = text.text(current, "current", max_len=CURRENT_MAX)
            if slot_status is not None:
                me.slot_status = text.choice(slot_status, "slot_status", SlotStatus.values)
            me.save(update_fields=["current", "slot_status"])
            events.append(
                arena,
                EventType.PROGRESS_UPDATED,
                self.actor,
                agent_id=me.agent_id,
                current=me.current,
                slot_status=me.slot_status,
            )
            return me

    def publish_artifact(
        self, kind: Any, title: Any, content: Any, metadata: Any = None
    ) -> Artifact:
        """Publish to the caller's own slot; the slot becomes `working`."""
        with self._write(Operation.WRITE_SLOT, flag="can_write_own_slot") as (arena, me):
            kind = text.choice(kind, "kind", ArtifactKind.values)
            title = text.text(title, "title", min_len=1, max_len=TITLE_MAX, blank=False)
            if kind != ArtifactKind.STRUCTURED_DATA and not isinstance(content, str):
                raise Invalid.field("content", f"Must be a string for kind {kind!r}.")
            content = text.json_value(content, "content", max_bytes=CONTENT_MAX_BYTES)
            metadata = _metadata(metadata)
            artifact = Artifact.objects.create(
                arena=arena,
                agent_id=me.agent_id,
                kind=kind,
                title=title,
                content=content,
                metadata=metadata,
            )
            _mark_working(me)
            events.append(
                arena,
                EventType.ARTIFACT_PUBLISHED,
                self.actor,
                agent_id=me.agent_id,
                artifact_id=str(artifact.id),
                kind=kind,
                title=title,
            )
            return artifact

    def merge(self, sources: Any, title: Any) -> Artifact:
        """Merge the artifacts of the named slots into one `structured_data` artifact in the
        caller's slot: `{"artifacts": [...]}` ordered by slot, then age."""
        with self._write(Operation.MERGE, flag="can_merge") as (arena, me):
            title = text.text(title, "title", min_len=1, max_len=TITLE_MAX, blank=False)
            slots = _merge_sources(arena, sources)
            merged = sorted(
                Artifact.objects.filter(arena=arena, agent_id__in=slots),
                key=lambda a: (a.agent_id, a.created_at, a.id),
            )
            if not merged:
                raise Invalid.field("sources", "The named slots hold no artifacts.")
            source_ids = [str(a.id) for a in merged]
            artifact = Artifact.objects.create(
                arena=arena,
                agent_id=me.agent_id,
                kind=ArtifactKind.STRUCTURED_DATA,
                title=title,
                content={
                    "artifacts": [
                        {
                            "id": str(a.id),
                            "agent_id": a.agent_id,
                            "kind": a.kind,
                            "title": a.title,
                            "content": a.content,
                        }
                        for a in merged
                    ]
                },
                metadata={"sources": source_ids, "slots": slots},
            )
            _mark_working(me)
            events.append(
                arena,
                EventType.ARTIFACTS_MERGED,
                self.actor,
                agent_id=me.agent_id,
                artifact_id=str(artifact.id),
                sources=source_ids,
            )
            return artifact

    def share_fact(self, content: Any, confidence: Any = 1.0, tags: Any = None) -> Fact:
        with self._write(Operation.WRITE_SLOT, flag="can_write_shared_memory") as (arena, me):
            content = text.text(content, "content", min_len=1, max_len=TEXT_MAX, blank=False)
            confidence = _confidence(confidence)
            tags = _tags(tags)
            fact = Fact.objects.create(
                arena=arena,
                source_agent_id=me.agent_id,
                content=content,
                confidence=confidence,
                tags=tags,
            )
            FactTag.objects.bulk_create([FactTag(fact=fact, tag=tag) for tag in set(tags)])
            events.append(
                arena,
                EventType.FACT_SHARED,
                self.actor,
                agent_id=me.agent_id,
                fact_id=str(fact.id),
            )
            return fact

    def post_message(self, message: Any, to: Any = None) -> Event:
        """Post a message every participant sees; `to` addresses one current participant."""
        with self._write(Operation.POST_MESSAGE) as (arena, me):
            if me is not None and me.role == Role.OBSERVER:
                raise PermissionDenied("Observers cannot post messages.")
            message = text.text(message, "text", min_len=1, max_len=TEXT_MAX, blank=False)
            if to is not None:
                to = text.agent_id(to, "to")
                if not Participant.objects.filter(
                    arena=arena, agent_id=to, left_at__isnull=True
                ).exists():
                    raise Invalid.field("to", f"{to!r} is not a participant of this arena.")
            return events.append(
                arena,
                EventType.MESSAGE_POSTED,
                self.actor,
                agent_id=self.agent_id,
                to=to,
                text=message,
            )


# --- the write path's statements (SQL written once, see `statements`) ----------------------

_ARENA = statements.Loader(Arena)
_PARTICIPANT = statements.Loader(Participant)
_STEP = statements.Loader(Step, ["assignee", "depends_on"])


@dataclass(frozen=True)
class _Statements:
    arena_exists: str
    is_participant: str
    participant: str
    lock_arena: str
    lock_arena_as: str
    planned_step: str
    completed: str


@cache
def _sql(vendor: str) -> _Statements:
    arena_table, arena_pk = statements.table(Arena), statements.column(Arena, "id", "a")
    p_table = statements.table(Participant)

    def p(name: str) -> str:
        return statements.column(Participant, name, "p")

    current = f"{p('agent')} = %s AND {p('left_at')} IS NULL"
    return _Statements(
        arena_exists=f"SELECT 1 FROM {arena_table} a WHERE {arena_pk} = %s",
        is_participant=f"SELECT 1 FROM {p_table} p WHERE {p('arena')} = %s AND {current}",
        participant=(
            f"SELECT {_PARTICIPANT.columns('p')} FROM {p_table} p "
            f"WHERE {p('arena')} = %s AND {current}"
        ),
        lock_arena=(
            f"SELECT {_ARENA.columns('a')} FROM {arena_table} a WHERE {arena_pk} = %s"
            + statements.lock_suffix("a")
        ),
        lock_arena_as=(
            f"SELECT {_ARENA.columns('a')}, {_PARTICIPANT.columns('p')} FROM {arena_table} a "
            f"LEFT JOIN {p_table} p ON {p('arena')} = {arena_pk} AND {current} "
            f"WHERE {arena_pk} = %s" + statements.lock_suffix("a")
        ),
        planned_step=(
            f"SELECT {_STEP.columns('s')} FROM {statements.table(Step)} s "
            f"WHERE {statements.column(Step, 'arena', 's')} = %s "
            f"AND {statements.column(Step, 'number', 's')} = %s"
        ),
        completed=(
            f"SELECT {statements.column(StepCompletion, 'step', 'c')} "
            f"FROM {statements.table(StepCompletion)} c "
            f"WHERE {statements.column(StepCompletion, 'arena', 'c')} = %s "
            f"AND {statements.column(StepCompletion, 'step', 'c')} IN ({{}})"
        ),
    )


def _arena_param(arena_id: uuid.UUID) -> Any:
    """An arena id as the database takes it (a UUID on PostgreSQL, hex text on SQLite)."""
    return statements.param(Arena, "id", arena_id)


def _planned_step(arena: Arena, number: int) -> Step | None:
    """The plan's step `number`, or None. An open-ended arena (total_steps 0) has no plan."""
    if arena.total_steps == 0:
        return None
    row = statements.fetch_one(
        _sql(connection.vendor).planned_step, [_arena_param(arena.id), number]
    )
    return None if row is None else _STEP.load(row)


def _completed(arena: Arena, numbers: Sequence[int]) -> set[int]:
    """Which of the step `numbers` are completed."""
    sql = _sql(connection.vendor).completed.format(", ".join(["%s"] * len(numbers)))
    rows = statements.fetch_all(sql, [_arena_param(arena.id), *numbers])
    return {row[0] for row in rows}


# --- helpers shared with the manager ------------------------------------------------------


def current_participants(arena_id: Any) -> list[Participant]:
    """The arena's current participants by agent id, in code point order: sorted here, not
    by the database, whose collation (an `en_US` locale, ICU) may order punctuation
    differently from the replayed aggregate."""
    rows = Participant.objects.filter(arena_id=arena_id, left_at__isnull=True)
    return sorted(rows, key=lambda p: p.agent_id)


def join(
    arena: Arena,
    agent: Agent,
    role: str,
    flags: dict[str, bool],
    existing: Participant | None = None,
) -> Participant:
    """Store a (re-)joining participation; the caller appends `agent_joined`."""
    participant = existing or Participant(arena=arena, agent=agent)
    participant.role = role
    for name, value in flags.items():
        setattr(participant, name, value)
    participant.joined_at = timezone.now()
    participant.left_at = None
    participant.slot_status = SlotStatus.IDLE
    participant.current = ""
    participant.save()
    return participant


def filter_facts(qs: QuerySet[Fact], tag: str | None, q: str | None) -> QuerySet[Fact]:
    if tag is not None:
        tag = text.text(tag, "tag", min_len=1, max_len=TAG_MAX)
        qs = qs.filter(tag_rows__tag=tag)
    if q is not None:
        q = text.text(q, "q", min_len=1, max_len=TEXT_MAX)
        qs = qs.filter(content__icontains=q)
    return qs.order_by("created_at", "id")


def _existing_agent(agent_id: Any, field: str) -> Agent:
    agent_id = text.agent_id(agent_id, field)
    agent = Agent.objects.filter(agent_id=agent_id, is_active=True).first()
    if agent is None:
        raise Invalid.field(field, f"No active agent {agent_id!r}.")
    return agent


def _step_dict(
    number: int,
    step: Step | None,
    completion: StepCompletion | None,
    depends_on: Sequence[int] = (),
) -> dict[str, Any]:
    return {
        "step": number,
        "title": step.title if step else "",
        "assignee": step.assignee_id if step else None,
        "depends_on": list(depends_on),
        "completed": completion is not None,
        "completed_by": completion.agent_id if completion else None,
        "completed_at": events.timestamp(completion.completed_at) if completion else None,
    }


def _mark_working(me: Participant) -> None:
    if me.slot_status != SlotStatus.WORKING:
        me.slot_status = SlotStatus.WORKING
        me.save(update_fields=["slot_status"])


def _metadata(value: Any) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise Invalid.field("metadata", "Must be a JSON object.")
    return text.json_value(value, "metadata", max_bytes=METADATA_MAX_BYTES)


def _confidence(value: Any) -> float:
    return text.number(value, "confidence", minimum=CONFIDENCE_MIN, maximum=CONFIDENCE_MAX)


def _tags(value: Any) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise Invalid.field("tags", "Must be a list of strings.")
    if len(value) > TAGS_MAX:
        raise Invalid.field("tags", f"At most {TAGS_MAX} tags.")
    return [text.text(tag, "tags", min_len=1, max_len=TAG_MAX) for tag in value]


def _merge_sources(arena: Arena, sources: Any) -> list[str]:
    if not isinstance(sources, list) or not sources:
        raise Invalid.field("sources", "Must be a non-empty list of agent ids.")
    if len(sources) > MERGE_SOURCES_MAX:
        raise Invalid.field("sources", f"At most {MERGE_SOURCES_MAX} slots.")
    slots = sorted({text.agent_id(s, "sources") for s in sources})
    known = set(
        Participant.objects.filter(arena=arena, agent_id__in=slots).values_list(
            "agent_id", flat=True
        )
    )
    unknown = [s for s in slots if s not in known]
    if unknown:
        raise Invalid.field("sources", f"No slot in this arena for: {', '.join(unknown)}.")
    return slots
