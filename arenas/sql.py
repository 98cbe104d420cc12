"""Every hand-written SQL statement of the service, each a named function.

Everything else uses the ORM. These statements are on the path every write takes
(authenticating the token, locking the arena, reading the caller's participation and the
plan, finding the step to claim, saving the arena): the ORM builds each statement anew on
every call (cloning the queryset, compiling it, instantiating the rows), which costs several
times the statement itself there. Where the ORM does as well, it is used: counting a plan's
blocked steps (`blocked_titled_steps`) is faster through it.
Each function says what it saves, as measured by `bench/sql.py` (µs per call, this function
against its ORM equivalent, on the 2-core development machine; docs/performance.md).

Rules every statement here keeps:
- Literal SQL that SQLite and PostgreSQL both run, over the tables of `arenas/models/`. Where
  the two differ the function holds one literal statement per database.
- Values go in as parameters, adapted by the model field they are compared with or stored
  in (a UUID is hex text on SQLite); rows come back converted as the ORM converts them
  (`_load`), as model instances with every column loaded.
- Each function's `orm` attribute is its ORM equivalent, as code: tests/domain/test_sql.py
  checks on both databases that the two return the same, and bench/sql.py times both.
- Row locks: `FOR UPDATE` on PostgreSQL. SQLite has no row locks; there every write
  transaction is IMMEDIATE (settings.py), which holds the database's write lock from BEGIN.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from functools import cache
from typing import Any, TypeVar

from django.db import DEFAULT_DB_ALIAS, connections
from django.db.models import Model

from .models import (
    Agent,
    AgentToken,
    Arena,
    Claim,
    Event,
    InputRequest,
    Participant,
    RequestKind,
    RequestStatus,
    Step,
    StepCompletion,
    UsageReport,
)

F = TypeVar("F", bound=Callable[..., Any])
M = TypeVar("M", bound=Model)

STATEMENTS: list[Callable[..., Any]] = []


def statement(orm: Callable[..., Any]) -> Callable[[F], F]:
    """Register a statement function with its ORM equivalent (`function.orm`)."""

    def register(function: F) -> F:
        function.orm = orm  # type: ignore[attr-defined]
        STATEMENTS.append(function)
        return function

    return register


# --- the columns each statement loads: every concrete field, in the model's order --------


def _columns(model: type[Model]) -> tuple[str, ...]:
    return tuple(field.attname for field in model._meta.concrete_fields)


ARENA_COLUMNS = _columns(Arena)
PARTICIPANT_COLUMNS = _columns(Participant)
AGENT_COLUMNS = _columns(Agent)
TOKEN_COLUMNS = _columns(AgentToken)
STEP_COLUMNS = _columns(Step)
CLAIM_COLUMNS = _columns(Claim)


# --- authentication ----------------------------------------------------------------------


def _token_holder_orm(digest: str) -> AgentToken | None:
    return (
        AgentToken.objects.select_related("agent")
        .filter(digest=digest, revoked_at__isnull=True, agent__is_active=True)
        .first()
    )


@statement(orm=_token_holder_orm)
def token_holder(digest: str) -> AgentToken | None:
    """The unrevoked token with this SHA-256 digest, with its active agent loaded
    (`token.agent`); None when there is none. Every authenticated request runs it.

    ORM: `AgentToken.objects.select_related("agent").filter(digest=digest,
    revoked_at__isnull=True, agent__is_active=True).first()`.

    Measured (bench/sql.py, µs per call, this against the ORM): SQLite 29 against 355,
    PostgreSQL 114 against 494."""
    row = _one(
        """
        SELECT t.id, t.agent_id, t.digest, t.prefix, t.created_at, t.last_used_at, t.revoked_at,
               a.agent_id, a.display_name, a.is_active, a.created_at, a.last_seen_at,
               a.owner_id
        FROM arenas_agenttoken t
        JOIN arenas_agent a ON a.agent_id = t.agent_id
        WHERE t.digest = %s AND t.revoked_at IS NULL AND a.is_active
        """,
        [digest],
    )
    if row is None:
        return None
    token = _load(AgentToken, TOKEN_COLUMNS, row)
    token.agent = _load(Agent, AGENT_COLUMNS, row, len(TOKEN_COLUMNS))
    return token


# --- the arena and the caller --------------------------------------------------------------


_LOCK_ARENA = """
    SELECT id, goal, status, strategy, total_steps, completed_steps, created_by_id,
           created_at, activated_at, settling_at, archived_at, last_seq,
           last_activity_at, settle_report, lease_seconds, next_expiry_at, completed_prefix,
           budget, usage, budget_marks,
           forked_from_id, forked_at_seq
    FROM arenas_arena
    WHERE id = %s
    """
_LOCK_ARENA_BY_VENDOR = {
    "postgresql": _LOCK_ARENA + "FOR UPDATE",
    # No row locks: the IMMEDIATE transaction already holds the database's write lock.
    "sqlite": _LOCK_ARENA,
}


@statement(orm=lambda arena_id: Arena.objects.select_for_update().filter(pk=arena_id).first())
def lock_arena(arena_id: uuid.UUID) -> Arena | None:
    """The arena's row, locked until the transaction ends (call it inside
    `transaction.atomic()`); None when there is no such arena. Every write starts here.

    ORM: `Arena.objects.select_for_update().filter(pk=arena_id).first()`.

    Measured (bench/sql.py, µs per call, this against the ORM): SQLite 30 against 239,
    PostgreSQL 119 against 362."""
    row = _one(_LOCK_ARENA_BY_VENDOR[_db().vendor], [_lookup(Arena, "id", arena_id)])
    return None if row is None else _load(Arena, ARENA_COLUMNS, row)


def _participation_orm(arena_id: uuid.UUID, agent_id: str) -> Participant | None:
    return Participant.objects.current().filter(arena_id=arena_id, agent_id=agent_id).first()


@statement(orm=_participation_orm)
def participation(arena_id: uuid.UUID, agent_id: str) -> Participant | None:
    """The agent's current participation in the arena (None if it is not a participant).
    Writes read it after `lock_arena`, in a statement of its own: under READ COMMITTED a
    row read in the locking statement would be the one from before the lock wait.

    ORM: `Participant.objects.current().filter(arena_id=arena_id,
    agent_id=agent_id).first()`.

    Measured (bench/sql.py, µs per call, this against the ORM): SQLite 26 against 318,
    PostgreSQL 109 against 437."""
    row = _one(
        """
        SELECT id, arena_id, agent_id, role, can_write_own_slot, can_read_other_slots,
               can_write_shared_memory, can_merge, joined_at, left_at, slot_status, current,
               usage
        FROM arenas_participant
        WHERE arena_id = %s AND agent_id = %s AND left_at IS NULL
        """,
        [_lookup(Arena, "id", arena_id), agent_id],
    )
    return None if row is None else _load(Participant, PARTICIPANT_COLUMNS, row)


def _is_participant_orm(arena_id: uuid.UUID, agent_id: str) -> bool:
    return Participant.objects.current().filter(arena_id=arena_id, agent_id=agent_id).exists()


@statement(orm=_is_participant_orm)
def is_participant(arena_id: uuid.UUID, agent_id: str) -> bool:
    """Whether the agent currently takes part in the arena: the visibility check of a
    request that reports an error before its operation ran.

    ORM: `Participant.objects.current().filter(arena_id=arena_id,
    agent_id=agent_id).exists()`.

    Measured (bench/sql.py, µs per call, this against the ORM): SQLite 12 against 167,
    PostgreSQL 80 against 284."""
    row = _one(
        """
        SELECT 1 FROM arenas_participant
        WHERE arena_id = %s AND agent_id = %s AND left_at IS NULL
        """,
        [_lookup(Arena, "id", arena_id), agent_id],
    )
    return row is not None


@statement(orm=lambda arena_id: Arena.objects.filter(pk=arena_id).exists())
def arena_exists(arena_id: uuid.UUID) -> bool:
    """Whether there is such an arena: staff's visibility check.

    ORM: `Arena.objects.filter(pk=arena_id).exists()`.

    Measured (bench/sql.py, µs per call, this against the ORM): SQLite 11 against 93,
    PostgreSQL 106 against 195."""
    return (
        _one("SELECT 1 FROM arenas_arena WHERE id = %s", [_lookup(Arena, "id", arena_id)])
        is not None
    )


def _current_agent_ids_orm(arena_id: uuid.UUID) -> list[str]:
    return sorted(
        Participant.objects.current().filter(arena_id=arena_id).values_list("agent_id", flat=True)
    )


@statement(orm=_current_agent_ids_orm)
def current_agent_ids(arena_id: uuid.UUID) -> list[str]:
    """The agent ids of the arena's current participants, sorted in Python (code point
    order, as `aggregate.replay` sorts them, whatever the database's collation). Every
    step completion answers with the aggregate, which lists them.

    ORM: `sorted(Participant.objects.current().filter(arena_id=arena_id)
    .values_list("agent_id", flat=True))`.

    Measured (bench/sql.py, µs per call, this against the ORM): SQLite 12 against 193,
    PostgreSQL 80 against 304."""
    rows = _all(
        "SELECT agent_id FROM arenas_participant WHERE arena_id = %s AND left_at IS NULL",
        [_lookup(Arena, "id", arena_id)],
    )
    return sorted(row[0] for row in rows)


# --- the plan ------------------------------------------------------------------------------


@statement(
    orm=lambda arena_id, number: Step.objects.filter(arena_id=arena_id, number=number).first()
)
def planned_step(arena_id: uuid.UUID, number: int) -> Step | None:
    """Step `number` of the arena's titled plan (None for a step of an untitled plan).

    ORM: `Step.objects.filter(arena_id=arena_id, number=number).first()`.

    Measured (bench/sql.py, µs per call, this against the ORM): SQLite 22 against 249,
    PostgreSQL 102 against 383."""
    row = _one(
        """
        SELECT id, arena_id, number, title, assignee_id, depends_on, review
        FROM arenas_step
        WHERE arena_id = %s AND number = %s
        """,
        [_lookup(Arena, "id", arena_id), number],
    )
    return None if row is None else _load(Step, STEP_COLUMNS, row)


def _completed_among_orm(arena_id: uuid.UUID, numbers: Sequence[int]) -> set[int]:
    return set(
        StepCompletion.objects.filter(arena_id=arena_id, step__in=numbers).values_list(
            "step", flat=True
        )
    )


# One statement text whatever the number of steps asked about (so PostgreSQL prepares it
# once): the numbers travel as one array (PostgreSQL) or one JSON array (SQLite).
_COMPLETED_AMONG = {
    "postgresql": """
        SELECT step FROM arenas_stepcompletion
        WHERE arena_id = %s AND step = ANY(%s)
        """,
    "sqlite": """
        SELECT step FROM arenas_stepcompletion
        WHERE arena_id = %s AND step IN (SELECT value FROM json_each(%s))
        """,
}


@statement(orm=_completed_among_orm)
def completed_among(arena_id: uuid.UUID, numbers: Sequence[int]) -> set[int]:
    """Which of the step `numbers` are completed: a step and the steps it depends on.

    ORM: `set(StepCompletion.objects.filter(arena_id=arena_id,
    step__in=numbers).values_list("step", flat=True))`.

    Measured (bench/sql.py, µs per call, this against the ORM): SQLite 17 against 193,
    PostgreSQL 105 against 301."""
    vendor = _db().vendor
    steps: Any = list(numbers) if vendor == "postgresql" else json.dumps(list(numbers))
    rows = _all(_COMPLETED_AMONG[vendor], [_lookup(Arena, "id", arena_id), steps])
    return {row[0] for row in rows}


# --- claimable steps (claims/next) -------------------------------------------------------
#
# Each finds its answer in one statement from a step number on (the arena's completed
# prefix), so a plan of a million steps is never walked in Python.


def _first_step_orm(arena_id: uuid.UUID, after: int, free_of_claims: bool) -> int:
    taken = set(
        StepCompletion.objects.filter(arena_id=arena_id, step__gt=after).values_list(
            "step", flat=True
        )
    )
    if free_of_claims:
        taken |= set(
            Claim.objects.live()
            .filter(arena_id=arena_id, step__gt=after)
            .values_list("step", flat=True)
        )
    return min(n for n in [after + 1, *(t + 1 for t in taken)] if n not in taken)


@statement(orm=_first_step_orm)
def first_step(arena_id: uuid.UUID, after: int, free_of_claims: bool) -> int:
    """The lowest step after `after` that is not completed (and, `free_of_claims`, held by
    no live claim: an untitled peer plan's next claimable step).

    ORM: the completions (and live claims) after `after` as a set, and the first number
    after `after` not in it (`_first_step_orm`).

    Measured (bench/sql.py, µs per call, this against the ORM): SQLite 21 against 392,
    PostgreSQL 95 against 614."""
    key = _lookup(Arena, "id", arena_id)
    row = _one(
        """
        WITH taken AS (
            SELECT step FROM arenas_stepcompletion WHERE arena_id = %s AND step > %s
            UNION ALL
            SELECT step FROM arenas_claim
            WHERE arena_id = %s AND step > %s AND ended_at IS NULL AND %s
        )
        SELECT MIN(candidate) FROM (
            SELECT %s + 1 AS candidate
            UNION ALL
            SELECT step + 1 FROM taken
        ) AS candidates
        WHERE candidate NOT IN (SELECT step FROM taken)
        """,
        [key, after, key, after, free_of_claims, after],
    )
    return row[0]


def _titled_candidates_orm(arena_id: uuid.UUID, after: int) -> list[Step]:
    """The titled steps after `after` that are not completed, each with `waits` set when a
    step it depends on is not completed."""
    done = set(StepCompletion.objects.filter(arena_id=arena_id).values_list("step", flat=True))
    steps = []
    for step in Step.objects.filter(arena_id=arena_id, number__gt=after).order_by("number"):
        if step.number not in done:
            step.waits = any(dep not in done for dep in step.depends_on)
            steps.append(step)
    return steps


def _first_claimable_titled_step_orm(
    arena_id: uuid.UUID, after: int, agent_id: str, coordinator: bool
) -> int | None:
    held = set(Claim.objects.live().filter(arena_id=arena_id).values_list("step", flat=True)) | set(
        InputRequest.objects.filter(
            arena_id=arena_id, kind=RequestKind.REVIEW, status=RequestStatus.OPEN
        ).values_list("step", flat=True)
    )
    for step in _titled_candidates_orm(arena_id, after):
        mine = step.assignee_id in (None, agent_id) or coordinator
        if mine and not step.waits and step.number not in held:
            return step.number
    return None


# A step's unmet dependencies: its `depends_on` (a JSON array) elements without completion.
_UNMET_DEPENDENCY = {
    "postgresql": """
        SELECT 1 FROM jsonb_array_elements_text(s.depends_on) AS d(step)
        WHERE NOT EXISTS (
            SELECT 1 FROM arenas_stepcompletion c
            WHERE c.arena_id = s.arena_id AND c.step = d.step::bigint
        )
        """,
    "sqlite": """
        SELECT 1 FROM json_each(s.depends_on) AS d
        WHERE NOT EXISTS (
            SELECT 1 FROM arenas_stepcompletion c
            WHERE c.arena_id = s.arena_id AND c.step = d.value
        )
        """,
}
_FIRST_CLAIMABLE_TITLED_STEP = """
    SELECT s.number FROM arenas_step s
    WHERE s.arena_id = %s AND s.number > %s
      AND (s.assignee_id IS NULL OR s.assignee_id = %s OR %s)
      AND NOT EXISTS (
          SELECT 1 FROM arenas_stepcompletion c
          WHERE c.arena_id = s.arena_id AND c.step = s.number
      )
      AND NOT EXISTS (
          SELECT 1 FROM arenas_claim k
          WHERE k.arena_id = s.arena_id AND k.step = s.number AND k.ended_at IS NULL
      )
      AND NOT EXISTS (
          SELECT 1 FROM arenas_inputrequest r
          WHERE r.arena_id = s.arena_id AND r.step = s.number
            AND r.kind = 'review' AND r.status = 'open'
      )
      AND NOT EXISTS ({unmet})
    ORDER BY s.number
    LIMIT 1
    """
_FIRST_CLAIMABLE_TITLED_STEP_BY_VENDOR = {
    vendor: _FIRST_CLAIMABLE_TITLED_STEP.replace("{unmet}", unmet)
    for vendor, unmet in _UNMET_DEPENDENCY.items()
}


@statement(orm=_first_claimable_titled_step_orm)
def first_claimable_titled_step(
    arena_id: uuid.UUID, after: int, agent_id: str, coordinator: bool
) -> int | None:
    """The lowest step of a titled plan after `after` that the agent could claim: not
    completed, held by no live claim, not waiting for its review, every step it depends on
    completed, and unassigned or assigned to the agent (any step for a `coordinator`). None
    when there is none.

    ORM: the plan's steps in order, with the completions and live claims as sets
    (`_first_claimable_titled_step_orm`).

    Measured (bench/sql.py, µs per call, this against the ORM): SQLite 21 against 1025,
    PostgreSQL 168 against 1574."""
    row = _one(
        _FIRST_CLAIMABLE_TITLED_STEP_BY_VENDOR[_db().vendor],
        [_lookup(Arena, "id", arena_id), after, agent_id, coordinator],
    )
    return None if row is None else row[0]


def blocked_titled_steps(arena_id: uuid.UUID, after: int) -> int:
    """How many steps of a titled plan after `after` are not completed and wait for a step
    they depend on: through the ORM, which counts them faster than the one statement did
    on PostgreSQL (bench/sql.py: 1.2 ms against 5.0 ms on a 50-step plan) and is off the
    write path (claims/next when it finds nothing)."""
    return sum(1 for step in _titled_candidates_orm(arena_id, after) if step.waits)


def _live_claim_on_orm(arena_id: uuid.UUID, step: int) -> Claim | None:
    return Claim.objects.live().filter(arena_id=arena_id, step=step).first()


@statement(orm=_live_claim_on_orm)
def live_claim_on(arena_id: uuid.UUID, step: int) -> Claim | None:
    """The step's live claim, or None (the database holds at most one: `claim_live_step`).
    On the path of every completion while the arena has live claims.

    ORM: `Claim.objects.live().filter(arena_id=arena_id, step=step).first()`.

    Measured (bench/sql.py, µs per call, this against the ORM): SQLite 25 against 299,
    PostgreSQL 112 against 420."""
    row = _one(
        """
        SELECT id, arena_id, claim_id, step, agent_id, claimed_at, expires_at, renewed_at,
               ended_at, "end"
        FROM arenas_claim
        WHERE arena_id = %s AND step = %s AND ended_at IS NULL
        """,
        [_lookup(Arena, "id", arena_id), step],
    )
    return None if row is None else _load(Claim, CLAIM_COLUMNS, row)


def _end_claim_orm(
    arena_id: uuid.UUID, step: int, claim_id: int, agent_id: str, end: str, at: datetime
) -> bool:
    return bool(
        Claim.objects.live()
        .filter(arena_id=arena_id, step=step, claim_id=claim_id, agent_id=agent_id)
        .update(ended_at=at, end=end)
    )


@statement(orm=_end_claim_orm)
def end_claim(
    arena_id: uuid.UUID, step: int, claim_id: int, agent_id: str, end: str, at: datetime
) -> bool:
    """End claim `claim_id` (as `end`, at `at`) if it is `agent_id`'s live claim on `step`:
    whether it was. The fenced completion's one statement (`claims.end_with_completion`).

    ORM: `Claim.objects.live().filter(arena_id=…, step=…, claim_id=…,
    agent_id=…).update(ended_at=at, end=end)`.

    Measured (bench/sql.py, µs per call, this against the ORM): SQLite 19 against 192,
    PostgreSQL 86 against 287."""
    connection = _db()
    with connection.cursor() as cursor:
        cursor.execute(
            """
            UPDATE arenas_claim SET ended_at = %s, "end" = %s
            WHERE arena_id = %s AND step = %s AND claim_id = %s AND agent_id = %s
              AND ended_at IS NULL
            """,
            [
                _field(Claim, "ended_at").get_db_prep_save(at, connection),
                end,
                _lookup(Arena, "id", arena_id),
                step,
                claim_id,
                agent_id,
            ],
        )
        return cursor.rowcount > 0


# --- writes --------------------------------------------------------------------------------


def _insert_completion_orm(completion: StepCompletion) -> StepCompletion:
    completion.save(force_insert=True)
    return completion


@statement(orm=_insert_completion_orm)
def insert_completion(completion: StepCompletion) -> StepCompletion:
    """INSERT a new completion (every field set by the caller, `completed_at` included);
    its `id` is set.

    ORM: `completion.save(force_insert=True)`.

    Measured (bench/sql.py, µs per call, this against the ORM): SQLite 34 against 59,
    PostgreSQL 117 against 149."""
    completion.id = _insert(
        """
        INSERT INTO arenas_stepcompletion (arena_id, step, agent_id, completed_at)
        VALUES (%s, %s, %s, %s)
        """,
        completion,
        ("arena_id", "step", "agent_id", "completed_at"),
    )
    _saved(completion)
    return completion


def _insert_event_orm(event: Event) -> Event:
    event.save(force_insert=True)
    return event


@statement(orm=_insert_event_orm)
def insert_event(event: Event) -> Event:
    """INSERT a new event of the log (every field set by the caller); its `id` is set.

    ORM: `event.save(force_insert=True)`.

    Measured (bench/sql.py, µs per call, this against the ORM): SQLite 43 against 67,
    PostgreSQL 138 against 166."""
    event.id = _insert(
        """
        INSERT INTO arenas_event (arena_id, seq, type, timestamp, actor, data)
        VALUES (%s, %s, %s, %s, %s, %s)
        """,
        event,
        ("arena_id", "seq", "type", "timestamp", "actor", "data"),
    )
    _saved(event)
    return event


def _record_usage_orm(me: Participant, row: UsageReport) -> UsageReport:
    me.save(update_fields=["usage"])
    row.save(force_insert=True)
    return row


USAGE_REPORT_COLUMNS = (
    "arena_id",
    "seq",
    "agent_id",
    "model",
    "input_tokens",
    "output_tokens",
    "cached_input_tokens",
    "calls",
    "cost_micro_usd",
    "priced",
    "step",
    "created_at",
)
_INSERT_USAGE_REPORT = """
        INSERT INTO arenas_usagereport (arena_id, seq, agent_id, model, input_tokens,
            output_tokens, cached_input_tokens, calls, cost_micro_usd, priced, step, created_at)
        VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)
        """
_RECORD_USAGE_POSTGRESQL = """
        WITH spent AS (UPDATE arenas_participant SET usage = %s WHERE id = %s)
        INSERT INTO arenas_usagereport (arena_id, seq, agent_id, model, input_tokens,
            output_tokens, cached_input_tokens, calls, cost_micro_usd, priced, step, created_at)
        VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)
        """


@statement(orm=_record_usage_orm)
def record_usage(me: Participant, row: UsageReport) -> UsageReport:
    """Store a usage report: UPDATE the participation's `usage` totals from the instance and
    INSERT the report's row (every field set by the caller); its `id` is set. On PostgreSQL
    one statement (the UPDATE in a WITH clause of the INSERT), on SQLite two.

    ORM: `me.save(update_fields=["usage"])`, then `row.save(force_insert=True)`.

    Measured (bench/sql.py --calls 1000, µs per call, this against the ORM, on the machine
    loaded by a test suite): SQLite 307 against 1,056, PostgreSQL 602 against 1,400."""
    connection = _db()
    totals = [_stored(me, "usage", connection), _lookup(Participant, "id", me.id)]
    if connection.vendor == "postgresql":
        row.id = _insert(
            _RECORD_USAGE_POSTGRESQL,
            row,
            USAGE_REPORT_COLUMNS,
            before=totals,
        )
    else:
        _execute("UPDATE arenas_participant SET usage = %s WHERE id = %s", totals)
        row.id = _insert(_INSERT_USAGE_REPORT, row, USAGE_REPORT_COLUMNS)
    _saved(row)
    return row


ARENA_MUTABLE_COLUMNS = (
    "goal",
    "status",
    "completed_steps",
    "activated_at",
    "settling_at",
    "archived_at",
    "last_seq",
    "last_activity_at",
    "settle_report",
    "next_expiry_at",
    "completed_prefix",
    "budget",
    "usage",
    "budget_marks",
)


def _save_arena_orm(arena: Arena) -> None:
    arena.save(update_fields=ARENA_MUTABLE_COLUMNS)


@statement(orm=_save_arena_orm)
def save_arena(arena: Arena) -> None:
    """UPDATE every column of a locked arena that changes over its life, from the
    instance (one statement text for every write, whichever columns it changed).

    ORM: `arena.save(update_fields=ARENA_MUTABLE_COLUMNS)`.

    Measured (bench/sql.py, µs per call, this against the ORM): SQLite 46 against 111,
    PostgreSQL 148 against 295."""
    connection = _db()
    params = [_stored(arena, name, connection) for name in ARENA_MUTABLE_COLUMNS]
    params.append(_lookup(Arena, "id", arena.id))
    _execute(
        """
        UPDATE arenas_arena
        SET goal = %s, status = %s, completed_steps = %s, activated_at = %s,
            settling_at = %s, archived_at = %s, last_seq = %s, last_activity_at = %s,
            settle_report = %s, next_expiry_at = %s, completed_prefix = %s, budget = %s,
            usage = %s, budget_marks = %s
        WHERE id = %s
        """,
        params,
    )


# --- lock waits ------------------------------------------------------------------------------

LOCK_NOT_AVAILABLE = "55P03"  # PostgreSQL's SQLSTATE for a lock_timeout that ran out


@contextmanager
def lock_timeout(seconds: float) -> Iterator[None]:
    """Within the current transaction, a statement that waits longer than `seconds` for a
    lock fails (`is_lock_timeout`) instead of waiting on; the server's setting again after.
    PostgreSQL only: SQLite has no row locks (its transactions queue at BEGIN IMMEDIATE, up to
    the busy timeout), so there it does nothing. The statements stay out of any savepoint
    the block opens, so they run even when a statement inside failed."""
    if _db().vendor != "postgresql":
        yield
        return
    _execute("SELECT set_config('lock_timeout', %s, true)", [f"{max(1, int(seconds * 1000))}ms"])
    try:
        yield
    finally:
        _execute("SET LOCAL lock_timeout TO DEFAULT", [])


def is_lock_timeout(error: BaseException) -> bool:
    """Whether a database error is a lock wait that `lock_timeout` cut short."""
    return getattr(error.__cause__, "sqlstate", None) == LOCK_NOT_AVAILABLE


# --- the machinery: parameters in, rows out --------------------------------------------------


def _db() -> Any:
    """The thread's database connection itself. `django.db.connection` is a proxy that looks
    the connection up on every attribute it is asked for, and Django's field conversions ask
    it several times per value; passing the connection once costs one lookup per call."""
    return connections[DEFAULT_DB_ALIAS]


def _one(sql: str, params: Sequence[Any]) -> tuple[Any, ...] | None:
    with _db().cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchone()


def _all(sql: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
    with _db().cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def _execute(sql: str, params: Sequence[Any]) -> None:
    with _db().cursor() as cursor:
        cursor.execute(sql, params)


def _insert(sql: str, instance: Model, attnames: Iterable[str], before: Sequence[Any] = ()) -> int:
    """Run an INSERT of `instance`'s `attnames` (after the parameters `before`, those of a
    WITH clause); the new row's auto id."""
    connection = _db()
    params = [*before, *(_stored(instance, name, connection) for name in attnames)]
    with connection.cursor() as cursor:
        if connection.features.can_return_columns_from_insert:
            cursor.execute(sql.rstrip() + " RETURNING id", params)
            return cursor.fetchone()[0]
        cursor.execute(sql, params)
        return cursor.lastrowid


def _saved(instance: Model) -> None:
    instance._state.adding = False
    instance._state.db = DEFAULT_DB_ALIAS


@cache
def _field(model: type[Model], attname: str) -> Any:
    """The model's field stored in column `attname` (found once per process)."""
    return next(f for f in model._meta.concrete_fields if f.attname == attname)


def _lookup(model: type[Model], attname: str, value: Any) -> Any:
    """`value` as the database takes it in a comparison with the column `attname`."""
    return _field(model, attname).get_db_prep_value(value, _db(), prepared=False)


def _stored(instance: Model, attname: str, connection: Any = None) -> Any:
    """The instance's `attname` as the database stores it."""
    field = _field(type(instance), attname)
    return field.get_db_prep_save(getattr(instance, attname), connection or _db())


def _load(model: type[M], attnames: tuple[str, ...], row: Sequence[Any], start: int = 0) -> M:
    """A `model` instance from `row[start:]`, its values converted as the ORM converts them
    (UUIDs, datetimes and booleans on SQLite, JSON everywhere)."""
    connection = _db()
    converters = _converters(connection.vendor, model, attnames)
    values = []
    for value, steps in zip(row[start : start + len(attnames)], converters, strict=True):
        for convert, column in steps:
            value = convert(value, column, connection)
        values.append(value)
    return model.from_db(DEFAULT_DB_ALIAS, list(attnames), values)


@cache
def _converters(vendor: str, model: type[Model], attnames: tuple[str, ...]) -> list[list[Any]]:
    connection = _db()
    result = []
    for name in attnames:
        column = _field(model, name).get_col(model._meta.db_table)
        steps = connection.ops.get_db_converters(column) + column.get_db_converters(connection)
        result.append([(step, column) for step in steps])
    return result
