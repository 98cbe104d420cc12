"""Each hand-written statement of `arenas/sql.py` returns what its ORM equivalent returns
(`function.orm`), on SQLite and on PostgreSQL: the same instances with every column loaded
and converted, the same rows written."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection, transaction
from django.db.models import Model
from django.utils import timezone

from arenas import agents, sql
from arenas.models import Arena, Claim, Event, Participant, StepCompletion, UsageReport

pytestmark = pytest.mark.django_db(transaction=True)


def columns(instance: Model | None) -> dict[str, Any] | None:
    """Every concrete column of an instance, as loaded (none may be deferred)."""
    if instance is None:
        return None
    assert not instance.get_deferred_fields(), instance.get_deferred_fields()
    return {f.attname: getattr(instance, f.attname) for f in instance._meta.concrete_fields}


@pytest.fixture
def world(make_agent, make_arena, manager):
    """An arena with a titled plan (one step assigned), three participants (one gone),
    completions and a settle report; an agent's token, one revoked token, one of an
    inactive agent."""
    _, token = make_agent("alice")
    make_agent("bob")
    arena_id = make_arena(
        status="active",
        plan=[
            {"title": "Gather 🧪", "assignee": "bob"},
            {"title": "Write", "depends_on": [1]},
            {"title": "Check"},
        ],
        participants=[
            {"agent_id": "bob", "role": "worker", "can_read_other_slots": False},
            {"agent_id": "zed", "role": "observer"},
        ],
    )
    manager.handle(arena_id, "bob").complete_step(1)
    manager.handle(arena_id, "zed").leave()
    revoked_agent, revoked = make_agent("rita")
    agents.revoke_token(revoked_agent.tokens.get())
    inactive, dormant = make_agent("ivan")
    inactive.is_active = False
    inactive.save()
    return {"arena_id": arena_id, "token": token, "revoked": revoked, "dormant": dormant}


def both(function, *args: Any) -> tuple[Any, Any]:
    return function(*args), function.orm(*args)


def test_every_statement_is_compared_here():
    compared = {
        "token_holder",
        "lock_arena",
        "participation",
        "is_participant",
        "arena_exists",
        "current_agent_ids",
        "planned_step",
        "completed_among",
        "insert_completion",
        "insert_event",
        "save_arena",
        "record_usage",
        "first_step",
        "first_claimable_titled_step",
        "live_claim_on",
        "end_claim",
    }
    assert {f.__name__ for f in sql.STATEMENTS} == compared


def test_token_holder(world):
    for token in (world["token"], world["revoked"], world["dormant"], "aa_unknown"):
        mine, orm = both(sql.token_holder, agents.digest(token))
        assert columns(mine) == columns(orm)
        if orm is not None:
            assert columns(mine.agent) == columns(orm.agent)
    assert sql.token_holder(agents.digest(world["token"])).agent.agent_id == "alice"


def test_lock_arena(world):
    arena = Arena.objects.get(pk=world["arena_id"])
    arena.settle_report = {"facts_persisted": 1, "artifacts_archived": 2, "events_cleared": 0}
    arena.save()
    with transaction.atomic():
        mine, orm = both(sql.lock_arena, world["arena_id"])
    assert columns(mine) == columns(orm)
    assert mine.settle_report["artifacts_archived"] == 2
    with transaction.atomic():
        assert both(sql.lock_arena, "00000000-0000-0000-0000-000000000000") == (None, None)


@pytest.mark.parametrize("agent_id", ["alice", "bob", "zed", "nobody"])
def test_participation_and_is_participant(world, agent_id):
    mine, orm = both(sql.participation, world["arena_id"], agent_id)
    assert columns(mine) == columns(orm)
    assert both(sql.is_participant, world["arena_id"], agent_id) == ((orm is not None),) * 2


def test_arena_exists(world):
    assert both(sql.arena_exists, world["arena_id"]) == (True, True)
    assert both(sql.arena_exists, "00000000-0000-0000-0000-000000000000") == (False, False)


def test_current_agent_ids(world):
    mine, orm = both(sql.current_agent_ids, world["arena_id"])
    assert mine == orm == ["alice", "bob"]


@pytest.mark.parametrize("number", [1, 2, 3, 4])
def test_planned_step(world, number):
    mine, orm = both(sql.planned_step, world["arena_id"], number)
    assert columns(mine) == columns(orm)


@pytest.mark.parametrize("numbers", [[1], [2], [2, 1], [1, 2, 3, 999], []])
def test_completed_among(world, numbers):
    mine, orm = both(sql.completed_among, world["arena_id"], numbers)
    assert mine == orm


def test_insert_completion(world):
    now = timezone.now()
    rows = []
    for function, step in ((sql.insert_completion, 2), (sql.insert_completion.orm, 3)):
        row = function(
            StepCompletion(arena_id=world["arena_id"], step=step, agent_id="bob", completed_at=now)
        )
        assert row.pk is not None and not row._state.adding
        rows.append(columns(StepCompletion.objects.get(pk=row.pk)))
    ignored = ("id", "step")
    assert {k: v for k, v in rows[0].items() if k not in ignored} == {
        k: v for k, v in rows[1].items() if k not in ignored
    }
    assert rows[0]["completed_at"] == now


def test_insert_event(world):
    data = {"agent_id": "alice", "to": None, "text": "é 🧪 \u202e"}
    rows = []
    for function, seq in ((sql.insert_event, 1000), (sql.insert_event.orm, 1001)):
        event = function(
            Event(
                arena_id=world["arena_id"],
                seq=seq,
                type="message_posted",
                timestamp=timezone.now(),
                actor="alice",
                data=data,
            )
        )
        stored = columns(Event.objects.get(pk=event.pk))
        rows.append({k: v for k, v in stored.items() if k not in ("id", "seq", "timestamp")})
    assert rows[0] == rows[1]
    assert rows[0]["data"] == data


def test_save_arena(world):
    saved = []
    for function in (sql.save_arena, sql.save_arena.orm):
        with transaction.atomic():
            arena = sql.lock_arena(world["arena_id"])
            arena.goal = "Changed ✓"
            arena.status = "settling"
            arena.completed_steps += 1
            arena.settling_at = timezone.now()
            arena.last_seq += 1
            arena.settle_report = {"facts_persisted": 0, "artifacts_archived": 0}
            function(arena)
            saved.append(columns(Arena.objects.get(pk=arena.pk)))
            assert saved[-1] == columns(arena)
            transaction.set_rollback(True)
    assert {k for k in saved[0] if saved[0][k] != saved[1][k]} <= {"settling_at"}


def test_record_usage(world):
    stored = []
    for function, seq in ((sql.record_usage, 1000), (sql.record_usage.orm, 1001)):
        with transaction.atomic():
            me = sql.participation(world["arena_id"], "alice")
            me.usage = {"input_tokens": 9, "output_tokens": 2, "calls": seq, "cost_micro_usd": 7}
            row = function(
                me,
                UsageReport(
                    arena_id=world["arena_id"],
                    seq=seq,
                    agent_id="alice",
                    model="gpt-4o ✓",
                    input_tokens=9,
                    output_tokens=2,
                    cached_input_tokens=1,
                    calls=1,
                    cost_micro_usd=None if seq == 1001 else 7,
                    priced=seq == 1000,
                    step=None if seq == 1000 else 3,
                    created_at=timezone.now(),
                ),
            )
            assert row.pk is not None and not row._state.adding
            assert columns(UsageReport.objects.get(pk=row.pk)) == columns(row)
            participant = Participant.objects.get(pk=me.pk)
            assert columns(participant) == columns(me)
            stored.append((columns(row), participant.usage))
            transaction.set_rollback(True)
    (first, first_usage), (second, second_usage) = stored
    assert first_usage["calls"] == 1000 and second_usage["calls"] == 1001
    assert first["model"] == second["model"] == "gpt-4o ✓"


def test_the_lock_statement_locks_on_postgresql(postgres, world):
    """FOR UPDATE: a second transaction cannot lock the row while the first holds it."""
    import psycopg

    url = connection.settings_dict
    dsn = f"host={url['HOST'] or '127.0.0.1'} port={url['PORT'] or 5432} "
    dsn += f"dbname={url['NAME']} user={url['USER'] or 'postgres'}"
    with transaction.atomic():
        sql.lock_arena(world["arena_id"])
        with (
            psycopg.connect(dsn, autocommit=True) as other,
            pytest.raises(psycopg.errors.LockNotAvailable),
        ):
            other.execute(
                "SELECT 1 FROM arenas_arena WHERE id = %s FOR UPDATE NOWAIT",
                [world["arena_id"]],
            )
    assert Participant.objects.filter(arena_id=world["arena_id"]).count() == 3


@pytest.fixture
def work(make_agent, make_arena, manager):
    """Two arenas mid-work: an untitled one of 20 steps with completions out of order and
    live and ended claims, and a titled one with dependencies, assignees and claims."""
    make_agent("bob")
    untitled = make_arena(
        status="active", total_steps=20, participants=[{"agent_id": "bob", "role": "worker"}]
    )
    alice, bob = manager.handle(untitled, "alice"), manager.handle(untitled, "bob")
    for step in (1, 2, 4, 5, 9):
        alice.complete_step(step)
    bob.claim_step(3)
    released = bob.claim_step(6)[0]
    bob.release_claim(released.claim_id)
    bob.claim_step(7)
    titled = make_arena(
        status="active",
        plan=[
            {"title": "a"},
            {"title": "b", "depends_on": [1]},
            {"title": "c", "assignee": "alice"},
            {"title": "d"},
            {"title": "e", "depends_on": [4, 1]},
            {"title": "f"},
        ],
        participants=[{"agent_id": "bob", "role": "worker"}],
    )
    manager.handle(titled, "bob").claim_step(4)
    manager.handle(titled, "alice").complete_step(6)
    return {"untitled": untitled, "titled": titled}


@pytest.mark.parametrize("after", [0, 1, 2, 3, 5, 9, 25])
@pytest.mark.parametrize("free_of_claims", [False, True])
def test_first_step_after_completions_and_claims(work, after, free_of_claims):
    mine, orm = both(sql.first_step, work["untitled"], after, free_of_claims)
    assert mine == orm
    assert sql.first_step(work["untitled"], 0, False) == 3
    assert sql.first_step(work["untitled"], 0, True) == 6


@pytest.mark.parametrize(
    ("agent_id", "coordinator", "after"),
    [("bob", False, 0), ("alice", True, 0), ("bob", False, 1), ("bob", False, 3), ("x", False, 6)],
)
def test_first_claimable_titled_step(work, agent_id, coordinator, after):
    args = (work["titled"], after, agent_id, coordinator)
    mine, orm = both(sql.first_claimable_titled_step, *args)
    assert mine == orm
    assert sql.first_claimable_titled_step(work["titled"], 0, "bob", False) == 1


@pytest.mark.parametrize(("after", "blocked"), [(0, 2), (1, 2), (2, 1), (5, 0)])
def test_blocked_titled_steps_wait_for_a_dependency(work, after, blocked):
    """Steps 2 (after 1) and 5 (after 4 and 1) wait: neither 1 nor 4 is completed."""
    assert sql.blocked_titled_steps(work["titled"], after) == blocked


@pytest.mark.parametrize("step", [3, 6, 7, 8])
def test_live_claim_on(work, step):
    mine, orm = both(sql.live_claim_on, work["untitled"], step)
    assert columns(mine) == columns(orm)
    assert (mine is None) == (step in (6, 8))  # 6 was released, 8 never claimed


def test_end_claim_ends_only_the_agents_live_claim_on_the_step(work):
    """The statement on live claim 3 of step 3, its ORM equivalent on step 7's: the same
    refusals, then the same row."""
    at = timezone.now()
    ended = []
    for function, step in ((sql.end_claim, 3), (sql.end_claim.orm, 7)):
        claim = Claim.objects.get(arena_id=work["untitled"], step=step, ended_at=None)
        args = (work["untitled"], step)
        assert function(*args, claim.claim_id, "alice", "completed", at) is False  # not hers
        assert function(*args, claim.claim_id + 100, "bob", "completed", at) is False
        assert function(work["untitled"], step + 1, claim.claim_id, "bob", "completed", at) is False
        assert function(*args, claim.claim_id, "bob", "completed", at) is True
        assert function(*args, claim.claim_id, "bob", "completed", at) is False  # ended
        claim.refresh_from_db()
        ended.append((claim.end, claim.ended_at))
    assert ended == [("completed", at), ("completed", at)]
