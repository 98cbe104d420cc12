"""The catalogue of operations (arenas/operations.py) against the domain itself.

One world of two arenas is built once for the module: a `created` arena and an `active` one
whose titled plan has a step of each kind (completed, blocked, waiting for its review,
assigned to another agent, held by another agent, free, held by the caller, a released
claim), with artifacts, a fact, usage and requests in each state. Each operation then runs
through its handle in every cell of a matrix: the arena's state (created, active, active
with its budget used up, settling, archived) × the caller (coordinator, workers, observer,
a worker without any permission flag, staff, an agent who takes no part) × its arguments
(valid ones, malformed ones, ones naming what is missing or someone else's). Every cell
runs in a savepoint that is rolled back, so each starts from the same world.

The codes the matrix raises must be exactly those the catalogue declares, and each declared
code has a witness: one named cell that raises it.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import pytest
from django.db import transaction

from arenas import errors, lifecycle, operations
from arenas.agents import create_agent
from arenas.errors import DomainError
from arenas.handle import ArenaHandle
from arenas.lifecycle import Operation as Gate
from arenas.manager import ArenaManager
from arenas.models import Agent

manager = ArenaManager()

# Each test runs in a savepoint of the module's transaction, which holds the world.
pytestmark = pytest.mark.django_db

CALLERS = ("alice", "bob", "carol", "olive", "nemo", "root", "eve")
STAFF = "root"
CONDITIONS = ("created", "active", "exhausted", "settling", "archived")
MISSING_UUID = str(uuid.UUID(int=1))
MISSING_CLAIM = 999_999
NO_FLAGS = {
    "can_write_own_slot": False,
    "can_read_other_slots": False,
    "can_write_shared_memory": False,
    "can_merge": False,
}
PLAN = [
    {"title": "One"},  # 1: completed by bob
    {"title": "Two", "depends_on": [4]},  # 2: blocked
    {"title": "Three", "review": True},  # 3: bob's review pending
    {"title": "Four", "assignee": "carol"},  # 4: assigned to carol
    {"title": "Five"},  # 5: held by carol
    {"title": "Six"},  # 6: free
    {"title": "Seven"},  # 7: held by bob
    {"title": "Eight"},  # 8: bob's claim released (its id: `lost`)
    {"title": "Nine", "review": True},  # 9: a review step, free
]


class _Undo(Exception):
    pass


@contextmanager
def undone() -> Iterator[None]:
    """Run the block in a savepoint rolled back at its end, whatever happens in it."""
    try:
        with transaction.atomic():
            yield
            raise _Undo
    except _Undo:
        pass


def handle(arena_id: Any, caller: str) -> ArenaHandle:
    if caller == STAFF:
        return manager.staff_handle(arena_id, STAFF, check_now=False)
    return manager.handle(arena_id, caller, check_now=False)


def build_arena(status: str) -> dict[str, Any]:
    """An arena with the plan and its participants; `active` also gets the plan's states,
    artifacts, a fact, usage and requests. Returns the ids the arguments name."""
    arena_id = manager.create(
        {
            "goal": "Catalogue",
            "plan": PLAN,
            "participants": [
                {"agent_id": "bob", "role": "worker"},
                {"agent_id": "carol", "role": "worker"},
                {"agent_id": "olive", "role": "observer"},
                {"agent_id": "nemo", "role": "worker", **NO_FLAGS},
            ],
        },
        created_by="alice",
    )
    alice, bob, carol = (handle(arena_id, name) for name in ("alice", "bob", "carol"))
    ctx: dict[str, Any] = {"arena_id": arena_id}
    ctx["q_open"] = bob.ask("Which format?").id
    ctx["q_answered"] = bob.ask("Which colour?", ["red", "blue"]).id
    alice.answer_request(ctx["q_answered"], "red")
    if status == "created":
        ctx.update(
            claim7=MISSING_CLAIM - 1,
            claim5=MISSING_CLAIM - 2,
            lost=MISSING_CLAIM - 3,
            review=MISSING_UUID,
            art_bob=MISSING_UUID,
            art_carol=MISSING_UUID,
        )
        return ctx
    alice.act("activate")
    bob.complete_step(1)
    ctx["review"] = bob.complete_step(3).request.id
    ctx["claim5"] = carol.claim_step(5)[0].claim_id
    ctx["claim7"] = bob.claim_step(7)[0].claim_id
    ctx["lost"] = bob.claim_step(8)[0].claim_id
    bob.release_claim(ctx["lost"])
    ctx["art_bob"] = bob.publish_artifact("text", "Bob's", "b").id
    ctx["art_carol"] = carol.publish_artifact("text", "Carol's", "c").id
    bob.share_fact("Tides are regular.", 0.9, ["a"])
    bob.report_usage(
        {"model": "m", "input_tokens": 100, "output_tokens": 10, "cost_usd": "0.010000"}
    )
    return ctx


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker) -> Iterator[dict[str, dict[str, Any]]]:
    """The two arenas, built once in a transaction rolled back after the module."""
    with django_db_blocker.unblock():
        atomic = transaction.atomic()
        atomic.__enter__()
        try:
            for agent_id in ("alice", "bob", "carol", "olive", "nemo", "eve", "dave"):
                if not Agent.objects.filter(agent_id=agent_id).exists():
                    create_agent(agent_id, "")
            yield {"created": build_arena("created"), "active": build_arena("active")}
        finally:
            transaction.set_rollback(True)
            atomic.__exit__(None, None, None)


@contextmanager
def condition(world: dict[str, dict[str, Any]], name: str) -> Iterator[dict[str, Any]]:
    """The world in state `name`, undone afterwards."""
    ctx = world["created" if name == "created" else "active"]
    with undone():
        arena_id = ctx["arena_id"]
        if name == "exhausted":
            handle(arena_id, STAFF).update({"budget": {"cost_usd": "0.005"}})
        if name in ("settling", "archived"):
            handle(arena_id, "alice").act("settle")
        if name == "archived":
            handle(arena_id, "alice").act("archive")
        yield ctx


# --- the arguments of each operation, by name: (ctx, caller) -> (args, kwargs) ----------------

Arguments = Callable[[dict[str, Any], str], tuple[tuple[Any, ...], dict[str, Any]]]


def given(*args: Any, **kwargs: Any) -> Arguments:
    return lambda ctx, caller: (args, kwargs)


def named(*keys: str, **kwargs: Any) -> Arguments:
    """Arguments that are ids of the world (`ctx[key]`), or literal values."""
    return lambda ctx, caller: (tuple(ctx.get(k, k) for k in keys), kwargs)


USAGE = {"model": "m", "input_tokens": 1, "output_tokens": 1, "cost_usd": "0.000001"}

ARGUMENTS: dict[str, dict[str, Arguments]] = {
    "detail": {"plain": given()},
    "aggregate": {"plain": given()},
    "events": {"plain": given(), "bad after": given(after=-1), "bad limit": given(limit=0)},
    "participants": {"plain": given()},
    "steps": {"plain": given(), "bad after": given(after=-1)},
    "artifacts": {
        "all": given(),
        "bob's": given(agent="bob"),
        "carol's": given(agent="carol"),
        "bad agent": given(agent="not an id!"),
    },
    "artifact": {
        "bob's": named("art_bob"),
        "carol's": named("art_carol"),
        "missing": given(MISSING_UUID),
        "not an id": given("nope"),
    },
    "facts": {"all": given(), "by tag": given(tag="a", q="tide"), "empty tag": given(tag="")},
    "state": {"now": given(), "first": given(1), "zero": given(0), "future": given(10**9)},
    "live_claims": {"plain": given()},
    "requests": {"all": given(), "open": given("open"), "bad status": given("bogus")},
    "budget": {"plain": given()},
    "usage": {"by agent": given(), "by step": given("step"), "bad group": given("bogus")},
    "spend_over_time": {"plain": given()},
    "act": {
        "activate": given("activate"),
        "settle": given("settle"),
        "archive": given("archive"),
        "bogus": given("bogus"),
    },
    "update_goal": {
        "goal": given({"goal": "Another goal"}),
        "empty goal": given({"goal": ""}),
        "stale": given({"goal": "Another goal"}, expected_seqs={1}),
    },
    "change_budget": {
        "budget": given({"budget": {"cost_usd": "5"}}),
        "no budget": given({"budget": None}),
        "bad limit": given({"budget": {"bogus": 1}}),
        "nothing": given({}),
        "stale": given({"budget": None}, expected_seqs={1}),
    },
    "fork": {
        "at 1": given(1),
        "at 0": given(0),
        "empty goal": given(1, ""),
    },
    "add_participant": {
        "dave": given("dave", "worker"),
        "bob again": given("bob", "worker"),
        "no such agent": given("ghost", "worker"),
        "bad role": given("dave", "chief"),
    },
    "remove_participant": {
        "self": lambda ctx, caller: ((caller,), {}),
        "bob": given("bob"),
        "alice": given("alice"),
        "no participant": given("ghost"),
        "bad id": given("not an id!"),
    },
    "complete_step": {
        "free": given(6),
        "completed": given(1),
        "blocked": given(2),
        "in review": given(3),
        "carol's": given(4),
        "held by carol": given(5),
        "held by bob": given(7),
        "held by bob, with its claim": lambda ctx, caller: ((7, ctx["claim7"]), {}),
        "with a lost claim": lambda ctx, caller: ((8, ctx["lost"]), {}),
        "review step": given(9),
        "no such step": given(0),
        "bad claim id": given(6, 0),
    },
    "claim_step": {
        "free": given(6),
        "completed": given(1),
        "blocked": given(2),
        "in review": given(3),
        "carol's": given(4),
        "held by carol": given(5),
        "held by bob": given(7),
        "no such step": given(0),
        "short lease": given(6, 1),
    },
    "claim_next": {"plain": given(), "short lease": given(1)},
    "renew_claim": {
        "bob's": named("claim7"),
        "carol's": named("claim5"),
        "lost": named("lost"),
        "missing": given(MISSING_CLAIM),
        "not a number": given("x"),
        "short lease": named("claim7", lease_seconds=1),
    },
    "release_claim": {
        "bob's": named("claim7"),
        "carol's": named("claim5"),
        "lost": named("lost"),
        "missing": given(MISSING_CLAIM),
    },
    "report_progress": {
        "current": given("Reading"),
        "nothing": given(),
        "bad status": given(None, "bogus"),
    },
    "publish_artifact": {"text": given("text", "T", "c"), "bad kind": given("bogus", "T", "c")},
    "merge": {
        "bob's": given(["bob"], "Merged"),
        "carol's and bob's": given(["bob", "carol"], "Merged"),
        "no such slot": given(["ghost"], "Merged"),
        "empty title": given(["bob"], ""),
    },
    "share_fact": {"fact": given("A fact.", 0.5), "empty": given("", 0.5)},
    "post_message": {
        "to all": given("Hello"),
        "empty": given(""),
        "to nobody": given("Hello", "ghost"),
    },
    "report_usage": {"usage": given(USAGE), "no tokens": given({"model": "m"})},
    "ask": {"question": given("Why?"), "empty": given(""), "no such step": given("Why?", None, 0)},
    "answer_request": {
        "open question": named("q_open", None, "An answer."),
        "answered question": named("q_answered", "blue"),
        "approve the review": named("review", "approve"),
        "reject the review": named("review", "reject"),
        "a choice for a free question": named("q_open", "red"),
        "missing": given(MISSING_UUID, None, "An answer."),
    },
    "cancel_request": {
        "open question": named("q_open"),
        "answered question": named("q_answered"),
        "review": named("review"),
        "missing": given(MISSING_UUID),
    },
}


def change(operation: operations.Operation) -> Callable[..., Any]:
    """How a cell calls the operation on a handle."""
    return lambda h, *args, **kwargs: getattr(h, operation.method)(*args, **kwargs)


def call(ctx: dict[str, Any], operation: operations.Operation, caller: str, arguments: str):
    """Run one cell in a savepoint rolled back after it; the code it raised, or None."""
    args, kwargs = ARGUMENTS[operation.name][arguments](ctx, caller)
    try:
        with undone():
            change(operation)(handle(ctx["arena_id"], caller), *args, **kwargs)
    except DomainError as error:
        assert operations.CODES.get(error.code) == error.status, error.code
        return error.code
    return None


@dataclass(frozen=True)
class Cell:
    condition: str
    caller: str
    arguments: str


def matrix(world, operation: operations.Operation) -> dict[str | None, list[Cell]]:
    """Every cell of the operation's matrix, by the code it raised (None: it succeeded)."""
    found: dict[str | None, list[Cell]] = {}
    for state in CONDITIONS:
        with condition(world, state) as ctx:
            for caller in CALLERS:
                for arguments in ARGUMENTS[operation.name]:
                    code = call(ctx, operation, caller, arguments)
                    found.setdefault(code, []).append(Cell(state, caller, arguments))
    return found


# One cell that raises each code each operation declares.
WITNESSES: dict[str, dict[str, tuple[str, str, str]]] = {
    "detail": {"not_found": ("active", "eve", "plain")},
    "aggregate": {"not_found": ("active", "eve", "plain")},
    "events": {"not_found": ("active", "eve", "plain"), "invalid": ("active", "bob", "bad limit")},
    "participants": {"not_found": ("archived", "eve", "plain")},
    "steps": {"not_found": ("active", "eve", "plain"), "invalid": ("active", "olive", "bad after")},
    "artifacts": {
        "not_found": ("active", "eve", "all"),
        "invalid": ("active", "bob", "bad agent"),
        "permission_denied": ("active", "nemo", "bob's"),
    },
    "artifact": {
        "not_found": ("active", "bob", "missing"),
        "permission_denied": ("active", "nemo", "bob's"),
    },
    "facts": {"not_found": ("active", "eve", "all"), "invalid": ("active", "bob", "empty tag")},
    "state": {"not_found": ("active", "eve", "now"), "invalid": ("active", "root", "future")},
    "live_claims": {"not_found": ("active", "eve", "plain")},
    "requests": {
        "not_found": ("active", "eve", "all"),
        "invalid": ("active", "bob", "bad status"),
    },
    "budget": {"not_found": ("exhausted", "eve", "plain")},
    "usage": {
        "not_found": ("active", "eve", "by agent"),
        "invalid": ("active", "bob", "bad group"),
    },
    "spend_over_time": {"not_found": ("active", "eve", "plain")},
    "act": {
        "not_found": ("active", "eve", "settle"),
        "permission_denied": ("active", "bob", "settle"),
        "invalid": ("active", "alice", "bogus"),
        "invalid_transition": ("archived", "root", "archive"),
    },
    "update_goal": {
        "not_found": ("active", "eve", "goal"),
        "permission_denied": ("active", "bob", "goal"),
        "arena_not_active": ("settling", "alice", "goal"),
        "arena_archived": ("archived", "root", "goal"),
        "invalid": ("created", "alice", "empty goal"),
        "precondition_failed": ("active", "alice", "stale"),
    },
    "change_budget": {
        "not_found": ("active", "eve", "budget"),
        "permission_denied": ("active", "carol", "budget"),
        "arena_archived": ("archived", "alice", "budget"),
        "invalid": ("settling", "root", "bad limit"),
        "precondition_failed": ("created", "root", "stale"),
    },
    "fork": {
        "not_found": ("active", "eve", "at 1"),
        "permission_denied": ("archived", "bob", "at 1"),
        "invalid": ("active", "alice", "at 0"),
    },
    "add_participant": {
        "not_found": ("active", "eve", "dave"),
        "permission_denied": ("active", "bob", "dave"),
        "arena_not_active": ("settling", "alice", "dave"),
        "arena_archived": ("archived", "alice", "dave"),
        "already_participant": ("active", "alice", "bob again"),
        "invalid": ("created", "root", "no such agent"),
    },
    "remove_participant": {
        "not_found": ("active", "alice", "no participant"),
        "permission_denied": ("active", "bob", "alice"),
        "arena_archived": ("archived", "bob", "self"),
        "last_coordinator": ("active", "alice", "self"),
        "invalid": ("active", "root", "bad id"),
    },
    "complete_step": {
        "not_found": ("active", "eve", "free"),
        "permission_denied": ("active", "bob", "carol's"),
        "arena_not_active": ("settling", "bob", "free"),
        "arena_archived": ("archived", "bob", "free"),
        "invalid": ("active", "bob", "no such step"),
        "claim_lost": ("active", "bob", "with a lost claim"),
        "review_pending": ("active", "bob", "in review"),
        "step_claimed": ("active", "bob", "held by carol"),
        "step_already_completed": ("active", "bob", "completed"),
        "step_blocked": ("active", "bob", "blocked"),
        "budget_exhausted": ("exhausted", "bob", "free"),
    },
    "claim_step": {
        "not_found": ("active", "eve", "free"),
        "permission_denied": ("active", "olive", "free"),
        "arena_not_active": ("created", "bob", "free"),
        "arena_archived": ("archived", "carol", "free"),
        "invalid": ("active", "bob", "short lease"),
        "review_pending": ("active", "bob", "in review"),
        "step_claimed": ("active", "bob", "held by carol"),
        "step_already_completed": ("active", "carol", "completed"),
        "step_blocked": ("active", "alice", "blocked"),
        "budget_exhausted": ("exhausted", "bob", "free"),
    },
    "claim_next": {
        "not_found": ("active", "eve", "plain"),
        "permission_denied": ("active", "root", "plain"),
        "arena_not_active": ("settling", "bob", "plain"),
        "arena_archived": ("archived", "bob", "plain"),
        "invalid": ("active", "bob", "short lease"),
        "budget_exhausted": ("exhausted", "carol", "plain"),
    },
    "renew_claim": {
        "not_found": ("active", "bob", "missing"),
        "permission_denied": ("active", "bob", "carol's"),
        "arena_not_active": ("settling", "bob", "bob's"),
        "arena_archived": ("archived", "bob", "bob's"),
        "invalid": ("active", "bob", "short lease"),
        "claim_lost": ("active", "bob", "lost"),
    },
    "release_claim": {
        "not_found": ("active", "alice", "missing"),
        "permission_denied": ("active", "bob", "carol's"),
        "arena_archived": ("archived", "alice", "bob's"),
        "claim_lost": ("settling", "bob", "bob's"),
    },
    "report_progress": {
        "not_found": ("active", "eve", "current"),
        "permission_denied": ("active", "nemo", "current"),
        "arena_not_active": ("created", "bob", "current"),
        "arena_archived": ("archived", "bob", "current"),
        "invalid": ("active", "bob", "nothing"),
    },
    "publish_artifact": {
        "not_found": ("active", "eve", "text"),
        "permission_denied": ("active", "root", "text"),
        "arena_not_active": ("settling", "bob", "text"),
        "arena_archived": ("archived", "bob", "text"),
        "invalid": ("active", "bob", "bad kind"),
    },
    "merge": {
        "not_found": ("active", "eve", "bob's"),
        "permission_denied": ("active", "bob", "bob's"),
        "arena_not_active": ("created", "alice", "bob's"),
        "arena_archived": ("archived", "alice", "bob's"),
        "invalid": ("settling", "alice", "no such slot"),
    },
    "share_fact": {
        "not_found": ("active", "eve", "fact"),
        "permission_denied": ("active", "olive", "fact"),
        "arena_not_active": ("settling", "bob", "fact"),
        "arena_archived": ("archived", "bob", "fact"),
        "invalid": ("active", "bob", "empty"),
    },
    "post_message": {
        "not_found": ("active", "eve", "to all"),
        "permission_denied": ("active", "olive", "to all"),
        "arena_archived": ("archived", "bob", "to all"),
        "invalid": ("active", "root", "to nobody"),
    },
    "report_usage": {
        "not_found": ("active", "eve", "usage"),
        "permission_denied": ("active", "olive", "usage"),
        "arena_not_active": ("created", "bob", "usage"),
        "arena_archived": ("archived", "bob", "usage"),
        "invalid": ("settling", "bob", "no tokens"),
    },
    "ask": {
        "not_found": ("active", "eve", "question"),
        "permission_denied": ("active", "root", "question"),
        "arena_archived": ("archived", "bob", "question"),
        "invalid": ("created", "bob", "no such step"),
    },
    "answer_request": {
        "not_found": ("active", "alice", "missing"),
        "permission_denied": ("active", "bob", "open question"),
        "arena_not_active": ("settling", "alice", "approve the review"),
        "arena_archived": ("archived", "root", "open question"),
        "invalid": ("active", "alice", "a choice for a free question"),
        "request_closed": ("active", "alice", "answered question"),
    },
    "cancel_request": {
        "not_found": ("active", "bob", "missing"),
        "permission_denied": ("active", "carol", "open question"),
        "arena_archived": ("archived", "bob", "open question"),
        "request_closed": ("active", "bob", "answered question"),
    },
}

NAMES = [operation.name for operation in operations.OPERATIONS]
# The operations that only read.
READS = {
    "detail",
    "aggregate",
    "events",
    "participants",
    "steps",
    "artifacts",
    "artifact",
    "facts",
    "state",
    "live_claims",
    "requests",
    "budget",
    "usage",
    "spend_over_time",
}


def test_every_operation_has_arguments_and_witnesses():
    assert set(ARGUMENTS) == set(NAMES)
    assert set(WITNESSES) == set(NAMES)


@pytest.mark.parametrize(
    ("name", "code"), [(o.name, code) for o in operations.OPERATIONS for code in o.errors]
)
def test_each_declared_error_is_raised_by_its_witness(world, name, code):
    state, caller, arguments = WITNESSES[name][code]
    operation = operations.operation(name)
    with condition(world, state) as ctx:
        assert call(ctx, operation, caller, arguments) == code


@pytest.mark.parametrize("name", NAMES)
def test_the_matrix_raises_exactly_the_declared_codes(world, name):
    """Across every state, caller and argument, the codes raised are the declared ones;
    the operation succeeds somewhere, and never in a state its lifecycle gate shuts, where
    it is refused for the state (`arena_archived` when archived, else `arena_not_active`)."""
    operation = operations.operation(name)
    assert operation.statuses == lifecycle.ALLOWED_IN[Gate[operation.gate]]
    assert operation.write == (operation.method not in READS)
    found = matrix(world, operation)
    assert None in found, f"{name} never succeeded"
    raised = set(found) - {None}
    assert raised == set(operation.errors), {
        "undeclared": {c: found[c][:3] for c in raised - set(operation.errors)},
        "never raised": sorted(set(operation.errors) - raised),
    }
    succeeded = {"active" if c.condition == "exhausted" else c.condition for c in found[None]}
    assert succeeded <= operation.statuses
    for status in set(operations.STATUSES) - operation.statuses:
        code = "arena_archived" if status == operations.ARCHIVED else "arena_not_active"
        assert status in {cell.condition for cell in found.get(code, [])}, (status, code)


def test_the_catalogue_names_the_domain_errors():
    """Every code is a domain error's, with its status; every domain error's code is
    listed (or is `unavailable`, which any operation may answer). A door's own error is not
    an operation's (MCP answers anything unexpected `server_error`), whether or not that door
    was imported before this test."""
    doors = ("arenas.api", "arenas.mcp", "arenas.live", "arenas.dashboard", "arenas.admin")
    domain: dict[str, int] = {}
    pending = [errors.DomainError]
    while pending:
        cls = pending.pop()
        pending.extend(cls.__subclasses__())
        if "code" in cls.__dict__ and not cls.__module__.startswith(doors):
            domain[cls.code] = cls.status
    assert domain == {**operations.CODES, **operations.EVERY_OPERATION}
    for operation in operations.OPERATIONS:
        assert set(operation.errors) <= set(operations.CODES)
        assert len(set(operation.errors)) == len(operation.errors)
        assert operation.who in operations.WHO
        assert callable(getattr(ArenaHandle, operation.method))
