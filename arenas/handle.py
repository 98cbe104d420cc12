"""ArenaHandle: one participant's (or a staff user's) permission-checked view of one arena.

Every read and write an agent makes goes through a handle. Each operation checks, in this
order: the caller can see the arena (else 404, its existence is not revealed), the caller's
role or permission flag (403), the arena's state (409), then the values given (400).

A write runs in one transaction: it locks the arena's row (`sql.lock_arena`), then reads the
caller's participation (never in the locking statement itself, so a participant removed
while the write waited for the lock is refused), checks, changes the rows and appends its
event (`events.append`), which are committed together.

The handle orchestrates: the parts (plan, claims, asks, usage, budgets, artifacts, facts)
each keep their own rows and call down only, and what crosses them runs in the order
`arenas/work.py` gives. Wire dicts are built here and in the doors (`representations`).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Container, Iterator
from contextlib import contextmanager
from typing import Any

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from . import (
    artifacts,
    asks,
    budgets,
    claims,
    events,
    facts,
    inputs,
    lifecycle,
    metrics,
    participants,
    plan,
    sql,
    usage,
    validation,
    work,
)
from .aggregate import ArenaAggregate
from .errors import (
    Invalid,
    NotFound,
    PermissionDenied,
    PreconditionFailed,
)
from .history import fork as history_fork
from .history import state as history_state
from .lifecycle import Operation
from .models import (
    Arena,
    Artifact,
    Claim,
    Event,
    EventType,
    Fact,
    InputRequest,
    Participant,
    RequestStatus,
    Role,
    UsageReport,
)
from .representations import arena_detail, fork_dict, you_dict
from .work import StepDone

__all__ = ["ArenaHandle", "StepDone"]


class ArenaHandle:
    """Operations of one caller on one arena. Create handles with `ArenaManager.handle`
    (an agent) or `ArenaManager.staff_handle` (a staff user)."""

    def __init__(
        self, arena_id: Any, *, agent_id: str | None = None, staff_username: str | None = None
    ):
        if (agent_id is None) == (staff_username is None):
            raise ValueError("A handle acts for exactly one agent or one staff user.")
        self.arena_id = inputs.arena_id(arena_id)
        self.agent_id = agent_id
        self.staff_username = staff_username
        # Set once an operation has found that the caller sees the arena (see `require_visible`).
        self.visibility_known = False

    def __repr__(self) -> str:
        return f"<ArenaHandle {self.arena_id} as {self.actor}>"

    @property
    def is_staff(self) -> bool:
        return self.staff_username is not None

    @property
    def actor(self) -> str:
        """The event `actor`: the agent id, or `staff:<username>`."""
        return self.agent_id if self.agent_id is not None else f"staff:{self.staff_username}"

    # --- who may do what ------------------------------------------------------------------

    def require_visible(self) -> None:
        """NotFound unless the caller can see the arena: a current participant, or staff
        and the arena exists. One statement. Adapters call it to report an error that came
        before any operation (such as a malformed body) only to callers who see the arena."""
        if self.is_staff:
            visible = sql.arena_exists(self.arena_id)
        else:
            visible = sql.is_participant(self.arena_id, self.agent_id)
        if not visible:
            raise NotFound("No such arena.")
        self.visibility_known = True

    def _me(self) -> Participant | None:
        """For a read: the caller's current participation (None for staff); NotFound if the
        caller cannot see the arena."""
        if self.is_staff:
            self.require_visible()
            return None
        me = sql.participation(self.arena_id, self.agent_id)
        if me is None:
            raise NotFound("No such arena.")
        self.visibility_known = True
        return me

    @contextmanager
    def _write(
        self, operation: Operation, *, flag: str | None = None, manage: bool = False
    ) -> Iterator[tuple[Arena, Participant | None]]:
        """Lock the arena, then check the caller (visible; a coordinator when `manage`; the
        permission `flag`) and that the arena's state allows `operation`, record the
        expiry of any lapsed claim (before the write's own event), and yield the
        locked arena and the caller's participation (None for staff)."""
        asked = time.perf_counter()
        with transaction.atomic():
            arena = sql.lock_arena(self.arena_id)
            if arena is None:
                raise NotFound("No such arena.")
            metrics.lock_taken(asked)
            me = None if self.is_staff else sql.participation(self.arena_id, self.agent_id)
            if me is None and not self.is_staff:
                raise NotFound("No such arena.")
            self.visibility_known = True
            if manage and me is not None and me.role != Role.COORDINATOR:
                raise PermissionDenied("Only a coordinator may manage this arena.")
            if flag is not None:
                _require_flag(me, flag)
            lifecycle.require_allows(arena.status, operation)
            claims.expire_due(arena, timezone.now())
            yield arena, me

    # --- reads ----------------------------------------------------------------------------

    def arena(self) -> Arena:
        self._me()
        return Arena.objects.get(pk=self.arena_id)

    def you(self, me: Participant | None) -> dict[str, Any]:
        """The caller as `GET /api/arenas/{id}/` shows it in `you`."""
        return you_dict(me, self.staff_username)

    def detail(self) -> dict[str, Any]:
        """The arena as the `GET /api/arenas/{id}/` and websocket snapshot show it."""
        arena = Arena.objects.filter(pk=self.arena_id).first()
        if arena is None:
            raise NotFound("No such arena.")
        current = participants.current(arena.pk)
        me = None
        if not self.is_staff:
            me = next((p for p in current if p.agent_id == self.agent_id), None)
            if me is None:
                raise NotFound("No such arena.")
        self.visibility_known = True
        forks = Arena.objects.filter(forked_from=arena).order_by("forked_at_seq", "created_at")
        listed = [fork_dict(i, at) for i, at in forks.values_list("id", "forked_at_seq")]
        return arena_detail(arena, current, self.you(me), listed)

    def aggregate(self) -> ArenaAggregate:
        self._me()
        return ArenaAggregate.of(Arena.objects.get(pk=self.arena_id))

    def events(self, after: int = 0, limit: int = inputs.PAGE_DEFAULT) -> list[Event]:
        """Events with `seq > after`, in seq order, at most `limit`."""
        self._me()
        after, limit = inputs.after(after), inputs.limit(limit)
        return list(
            Event.objects.filter(arena_id=self.arena_id, seq__gt=after).order_by("seq")[:limit]
        )

    def participants(self) -> list[Participant]:
        """Current participants, sorted by agent id."""
        self._me()
        return participants.current(self.arena_id)

    def steps(
        self, after: int = 0, limit: int = inputs.PAGE_DEFAULT
    ) -> tuple[list[dict[str, Any]], int | None]:
        """The plan from step `after + 1`, at most `limit` steps, with the `after` of the
        next page (None on the last page); see `work.page`."""
        self._me()
        after, limit = inputs.after(after, inputs.U32_MAX), inputs.limit(limit)
        return work.page(Arena.objects.get(pk=self.arena_id), after, limit)

    def artifacts(self, agent: str | None = None) -> QuerySet[Artifact]:
        """Artifacts without their content, oldest first: the caller's own slot always,
        other slots with `can_read_other_slots`. `agent` narrows to one slot."""
        me = self._me()
        listed = Artifact.objects.filter(arena_id=self.arena_id).defer("content")
        if agent is not None:
            agent = inputs.agent_id(agent, "agent")
            artifacts.require_may_read(me, agent)
            listed = listed.filter(agent_id=agent)
        elif me is not None and not me.can_read_other_slots:
            listed = listed.filter(agent_id=me.agent_id)
        return listed.order_by("created_at", "id")

    def artifact(self, artifact_id: Any) -> Artifact:
        me = self._me()
        try:
            artifact_uuid = uuid.UUID(str(artifact_id))
        except ValueError:
            raise NotFound("No such artifact.") from None
        artifact = Artifact.objects.filter(arena_id=self.arena_id, pk=artifact_uuid).first()
        if artifact is None:
            raise NotFound("No such artifact.")
        artifacts.require_may_read(me, artifact.agent_id)
        return artifact

    def facts(self, tag: str | None = None, q: str | None = None) -> QuerySet[Fact]:
        """The arena's shared facts, oldest first, searched as `facts.search` does."""
        self._me()
        return facts.search(Fact.objects.filter(arena_id=self.arena_id), tag, q)

    def state(self, at: int | None = None) -> dict[str, Any]:
        """The arena right after event `at` (its newest when None), as `history.state`
        folds it from the log; artifacts of slots the caller may not read left out."""
        me = self._me()
        return history_state.wire(history_state.at(self.arena_id, at), me)

    # --- management -----------------------------------------------------------------------

    def fork(self, at: Any, goal: Any = None) -> Arena:
        """A new arena in `created` from this arena's state at seq `at` (a coordinator or
        staff, in any status); see `history.fork`. Returns the fork."""
        with self._write(Operation.READ, manage=True) as (arena, _me):
            return history_fork.fork(arena, at, goal, self.agent_id, self.actor)

    def transition(self, to: str) -> Arena:
        """Move the arena to state `to` through the one lifecycle function."""
        with self._write(Operation.READ, manage=True) as (arena, _me):
            work.transition(arena, to, self.actor)
            return arena

    def act(self, action: Any) -> Arena:
        """Run a lifecycle action by name: activate, settle or archive."""
        action = validation.choice(action, "action", tuple(lifecycle.ACTIONS))
        return self.transition(lifecycle.ACTIONS[action])

    def update_goal(self, goal: Any, expected_seqs: Container[int] | None = None) -> Arena:
        """Replace the goal. With `expected_seqs` (an `If-Match`), the arena's `last_seq`
        must be one of them, checked under the row lock (else 412 precondition_failed)."""
        return self.update({"goal": goal}, expected_seqs)

    def update(self, changes: dict[str, Any], expected_seqs: Container[int] | None = None) -> Arena:
        """Coordinators and staff change the arena: `goal` (created or active) and/or
        `budget` (a full replacement, null removes it; until archived), in one write.
        `expected_seqs` as for `update_goal`."""
        operation = Operation.UPDATE_GOAL if "goal" in changes else Operation.CHANGE_BUDGET
        with self._write(operation, manage=True) as (arena, _me):
            if expected_seqs is not None and arena.last_seq not in expected_seqs:
                raise PreconditionFailed()
            if not changes:
                raise Invalid({"goal": ["Give goal, budget or both."]})
            budget = budgets.parse(changes["budget"]) if "budget" in changes else None
            if "goal" in changes:
                arena.goal = inputs.goal(changes["goal"])
                events.append(arena, EventType.GOAL_UPDATED, self.actor, new_goal=arena.goal)
            if "budget" in changes:
                budgets.change(arena, budget, self.actor)
            return arena

    def add_participant(self, agent_id: Any, role: Any, **overrides: Any) -> Participant:
        """Add an agent (or re-join one that left) with a role and optional flag overrides."""
        with self._write(Operation.ADD_PARTICIPANT, manage=True) as (arena, _me):
            return participants.add(arena, agent_id, role, overrides, self.actor)

    def remove_participant(self, agent_id: Any) -> None:
        """Leave (your own agent id) or remove another participant (coordinator or staff).
        The last current coordinator cannot leave an arena that is not archived."""
        agent_id = inputs.agent_id(agent_id)
        leaving = agent_id == self.agent_id
        with self._write(Operation.REMOVE_PARTICIPANT, manage=not leaving) as (arena, me):
            target = me if leaving else sql.participation(arena.id, agent_id)
            if target is None:
                raise NotFound(f"{agent_id!r} is not a participant of this arena.")
            participants.require_not_last_coordinator(arena, target)
            claims.release_all(arena, self.actor, agent_id)
            participants.leave(arena, target, self.actor)

    def leave(self) -> None:
        if self.agent_id is None:
            raise PermissionDenied("Staff users are not participants.")
        self.remove_participant(self.agent_id)

    # --- the caller's slot --------------------------------------------------------------

    def complete_step(self, step: Any, claim_id: Any = None) -> StepDone:
        """Complete step `step`: once, 409 after; see `plan.require_workable` for who may
        complete which step when. A live claim of another agent refuses it; with `claim_id`
        (the fencing token) it counts only if that is the caller's live claim on the step,
        which the completion ends (`claims.end_with_completion`). A review step is not
        completed: its review opens for a person (`StepDone.request`)."""
        with self._write(Operation.WRITE_SLOT, flag="can_write_own_slot") as (arena, me):
            claim_id = _optional_claim_id(claim_id)
            return work.complete(arena, me, step, claim_id, self.actor)

    # --- claims ------------------------------------------------------------------

    def claim_step(self, step: Any, lease_seconds: Any = None) -> tuple[Claim, Event | None]:
        """Claim step `step` for `lease_seconds` (the arena's lease by default): the same
        checks as completing it, and no live claim of another agent (409 step_claimed).
        The holder claiming again renews instead: the event is then None."""
        with self._write(Operation.WRITE_SLOT, flag="can_write_own_slot") as (arena, me):
            length = claims.lease(arena, lease_seconds)
            return work.claim(arena, me, step, length, self.actor)

    def claim_next(self, lease_seconds: Any = None) -> tuple[Claim, Event] | claims.Vacancy:
        """Claim the lowest-numbered step the caller could claim now (`claims.next_step`),
        or say why there is none (`claims.Vacancy`)."""
        with self._write(Operation.WRITE_SLOT, flag="can_write_own_slot") as (arena, me):
            length = claims.lease(arena, lease_seconds)
            return work.claim_next(arena, me, length, self.actor)

    def renew_claim(self, claim_id: Any, lease_seconds: Any = None) -> Claim:
        """The holder extends its live claim to now + the lease; no event."""
        with self._write(Operation.WRITE_SLOT, flag="can_write_own_slot") as (arena, me):
            length = claims.lease(arena, lease_seconds)
            claim = claims.find(arena, claim_id)
            if claim.agent_id != me.agent_id:
                raise PermissionDenied("Only the holder may renew a claim.")
            return claims.renew(arena, claims.require_live(claim), length)

    def release_claim(self, claim_id: Any) -> Event:
        """The holder, a coordinator or staff releases a live claim (`claim_released`)."""
        with self._write(Operation.RELEASE_CLAIM) as (arena, me):
            claim = claims.find(arena, claim_id)
            claims.require_holder_or_manager(claim, me)
            return claims.release(arena, claims.require_live(claim), self.actor)

    def live_claims(self) -> QuerySet[Claim]:
        """The arena's claims within their lease, by step."""
        self._me()
        return Claim.objects.within_lease().filter(arena_id=self.arena_id).order_by("step")

    # --- requests for people -----------------------------------------------------

    def ask(self, text: Any, choices: Any = None, step: Any = None) -> InputRequest:
        """Ask people a question (free text, or one of `choices`), about a step or not."""
        with self._write(Operation.ASK) as (arena, me):
            if me is None or me.role == Role.OBSERVER:
                raise PermissionDenied("Only a participant other than an observer may ask.")
            last = plan.last_step(arena)
            request, _event = asks.ask(arena, me, self.actor, text, choices, step, last)
            return request

    def answer_request(self, request_id: Any, choice: Any = None, text: Any = None) -> InputRequest:
        """A person (staff, or a coordinator other than the asker) answers an open request;
        approving a review completes its step."""
        with self._write(Operation.ASK) as (arena, me):
            request = asks.find(arena, request_id)
            asks.require_may_answer(request, me)
            asks.require_open(request)
            return work.answer(arena, request, choice, text, self.actor)

    def cancel_request(self, request_id: Any) -> Event:
        """The asker withdraws its open request (`input_cancelled`); a cancelled review
        leaves its step open."""
        with self._write(Operation.ASK) as (arena, me):
            request = asks.find(arena, request_id)
            if me is None or me.agent_id != request.agent_id:
                raise PermissionDenied("Only the agent that asked may cancel a request.")
            return asks.cancel(arena, asks.require_open(request), self.actor)

    def requests(self, status: Any = None) -> QuerySet[InputRequest]:
        """Every request of the arena (of `status` only, when given), newest first."""
        self._me()
        listed = InputRequest.objects.filter(arena_id=self.arena_id)
        if status is not None:
            listed = listed.filter(status=validation.choice(status, "status", RequestStatus.values))
        return listed.order_by("-created_at", "id")

    # --- usage and budgets --------------------------------------------------------

    def report_usage(self, values: dict[str, Any]) -> tuple[UsageReport, Event]:
        """Record what the caller's model calls cost (`usage.parse` names the values):
        never refused for being over budget, since the money is spent. Reaching 80% of a
        limit or the limit itself is announced after the report (`budgets.after_report`)."""
        with self._write(Operation.REPORT_USAGE) as (arena, me):
            if me is None or me.role == Role.OBSERVER:
                raise PermissionDenied("Only a participant other than an observer reports usage.")
            report = usage.parse(me.agent_id, values, plan.last_step(arena))
            row, event = usage.record(arena, me, report, self.actor)
            budgets.after_report(arena, me.agent_id, usage.Totals.of(me.usage))
            return row, event

    def budget(self) -> dict[str, Any]:
        """The budget, the arena's and the caller's spending, what remains, what is used up."""
        me = self._me()
        return budgets.state(Arena.objects.get(pk=self.arena_id), me)

    def usage(self, group: Any = "agent") -> dict[str, Any]:
        """The arena's usage totals and their breakdown by agent, step or model."""
        self._me()
        group = validation.choice(group, "group", usage.GROUPS)
        arena = Arena.objects.get(pk=self.arena_id)
        return {
            "totals": usage.Totals.of(arena.usage).wire(),
            "group": group,
            "results": usage.breakdown(arena, group),
        }

    def spend_over_time(self) -> dict[str, Any]:
        """The arena's cumulative cost after each report, for a chart (`usage.cost_series`)."""
        self._me()
        return usage.cost_series(Arena.objects.get(pk=self.arena_id))

    def report_progress(self, current: Any = None, slot_status: Any = None) -> Participant:
        """Say what the caller's slot is doing now; either value may be left unchanged."""
        with self._write(Operation.WRITE_SLOT, flag="can_write_own_slot") as (arena, me):
            return participants.report_progress(arena, me, self.actor, current, slot_status)

    def publish_artifact(
        self, kind: Any, title: Any, content: Any, metadata: Any = None
    ) -> Artifact:
        """Publish to the caller's own slot; the slot becomes `working`."""
        with self._write(Operation.WRITE_SLOT, flag="can_write_own_slot") as (arena, me):
            return artifacts.publish(arena, me, self.actor, kind, title, content, metadata)

    def merge(self, sources: Any, title: Any) -> Artifact:
        """Merge the artifacts of the named slots into one `structured_data` artifact in the
        caller's slot: `{"artifacts": [...]}` ordered by slot, then age. Merging reads the
        slots, so each must be one the caller may read; the result is an artifact like any
        other, held to the content limit."""
        with self._write(Operation.MERGE, flag="can_merge") as (arena, me):
            return artifacts.merge(arena, me, self.actor, sources, title)

    def share_fact(self, content: Any, confidence: Any = 1.0, tags: Any = None) -> Fact:
        with self._write(Operation.WRITE_SLOT, flag="can_write_shared_memory") as (arena, me):
            return facts.share(arena, me, self.actor, content, confidence, tags)

    def post_message(self, message: Any, to: Any = None) -> Event:
        """Post a message every participant sees; `to` addresses one current participant."""
        with self._write(Operation.POST_MESSAGE) as (arena, me):
            if me is not None and me.role == Role.OBSERVER:
                raise PermissionDenied("Observers cannot post messages.")
            message = inputs.message(message)
            if to is not None:
                to = inputs.agent_id(to, "to")
                if not sql.is_participant(arena.id, to):
                    raise Invalid.field("to", f"{to!r} is not a participant of this arena.")
            return events.append(
                arena,
                EventType.MESSAGE_POSTED,
                self.actor,
                agent_id=self.agent_id,
                to=to,
                text=message,
            )


# --- rules the operations share ----------------------------------------------------------


def _optional_claim_id(value: Any) -> int | None:
    if value is None:
        return None
    return validation.integer(value, "claim_id", minimum=1, maximum=inputs.SEQ_MAX)


def _require_flag(me: Participant | None, flag: str) -> None:
    if me is None:
        raise PermissionDenied(f"Staff users have no slot of their own ({flag}).")
    if not getattr(me, flag):
        raise PermissionDenied(f"Your participation lacks the permission {flag}.")
