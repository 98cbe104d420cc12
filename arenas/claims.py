"""Claims: leases on the steps of a plan.

A claim lets one participant hold one step for a bounded time: it renews the lease while it
works, and loses the step when it stops renewing, so another agent can take it over. Its id
is the `seq` of its `step_claimed` event, the fencing token a completion names: a completion
with a claim id that is no longer live is refused (`claim_lost`), so work done under a lapsed
lease never counts twice.

Every function here runs inside a write of `ArenaHandle`: the arena's row is locked and the
caller checked, and the events it appends are the write's own.

`Arena.next_expiry_at` makes it free for a write to know whether any claim may have lapsed
(`expire_due`) and whether the arena has live claims at all. Its invariant: no live claim
expires before it, and it is null only when there is no live claim. It may be earlier than
the earliest live claim's expiry (a claim that ended or was renewed leaves it as it was);
once it has passed, the next write or sweep looks, records what lapsed and sets it anew.
So ending or renewing a claim costs no statement to keep it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any

from django.db import transaction
from django.db.models import Min
from django.utils import timezone

from . import events, inputs, sql
from .errors import ClaimLost, NotFound, PermissionDenied, StepClaimed
from .models import Arena, Claim, ClaimEnd, Event, EventType, Participant, Role, Step, Strategy

# Arenas one sweep visits at most (the most overdue first); the next sweep takes the rest.
SWEEP_BATCH = 1000


@dataclass(frozen=True)
class Vacancy:
    """Why claims/next found no step: the steps not completed, of them those held by a live
    claim, and those waiting for a step they depend on."""

    remaining: int
    claimed: int
    blocked: int


def lease(arena: Arena, value: Any) -> timedelta:
    """The lease asked for (`lease_seconds`, 5–86400) or the arena's default."""
    seconds = arena.lease_seconds if value is None else inputs.lease_seconds(value)
    return timedelta(seconds=seconds)


def expire_due(arena: Arena, now: datetime) -> list[Claim]:
    """Record the expiry of every live claim whose lease has passed, ordered by
    `expires_at` then step: each ends and gets its `claim_expired` event (actor: the
    system), before whatever the write appends next. Costs nothing when none is due."""
    if arena.next_expiry_at is None or arena.next_expiry_at > now:
        return []
    due = list(Claim.objects.past_lease(now).filter(arena=arena).order_by("expires_at", "step"))
    for claim in due:
        _end(claim, ClaimEnd.EXPIRED, now)
    refresh_next_expiry(arena)
    if not due:
        sql.save_arena(arena)  # it lagged: keep the value just found (no event saves it)
    for claim in due:
        _outcome(arena, claim, EventType.CLAIM_EXPIRED, None)
    return due


def sweep(now: datetime | None = None, limit: int = SWEEP_BATCH) -> int:
    """Record the expiry of every lapsed claim, for arenas nobody writes to: each arena
    with a claim past its lease (at most `limit` of them, most overdue first), in a
    transaction of its own under the arena's lock, so processes sweeping at once record
    each expiry once. How many claims expired. The per-process loop of the live feed's hub
    and `manage.py expire_claims` run it."""
    now = now or timezone.now()
    due = (
        Arena.objects.filter(next_expiry_at__lte=now)
        .order_by("next_expiry_at")
        .values_list("id", flat=True)[:limit]
    )
    expired = 0
    for arena_id in list(due):
        with transaction.atomic():
            arena = sql.lock_arena(arena_id)
            if arena is not None:
                expired += len(expire_due(arena, now))
    return expired


def live_claim_on(arena: Arena, step: int) -> Claim | None:
    """The step's live claim (after `expire_due`), or None."""
    if arena.next_expiry_at is None:
        return None
    return sql.live_claim_on(arena.id, step)


def require_unclaimed(arena: Arena, me: Participant, step: int) -> Claim | None:
    """StepClaimed when another agent holds a live claim on the step; the caller's own live
    claim on it (or None) otherwise."""
    held = live_claim_on(arena, step)
    if held is not None and held.agent_id != me.agent_id:
        raise StepClaimed(
            f"Step {step} is held by {held.agent_id!r} until "
            f"{events.timestamp(held.expires_at)} (claim {held.claim_id}).",
            holder=held.agent_id,
            claim_id=held.claim_id,
            expires_at=events.timestamp(held.expires_at),
        )
    return held


def take(
    arena: Arena, me: Participant, step: int, length: timedelta, actor: str
) -> tuple[Claim, Event]:
    """A new claim of the caller on a workable, unclaimed step, and its `step_claimed`
    event: the claim's id is that event's seq."""
    now = timezone.now()
    claim = Claim(
        arena=arena,
        claim_id=arena.last_seq + 1,
        step=step,
        agent_id=me.agent_id,
        claimed_at=now,
        expires_at=now + length,
    )
    if arena.next_expiry_at is None or claim.expires_at < arena.next_expiry_at:
        arena.next_expiry_at = claim.expires_at
    event = events.append(
        arena,
        EventType.STEP_CLAIMED,
        actor,
        now=now,
        step=step,
        agent_id=me.agent_id,
        claim_id=claim.claim_id,
        expires_at=events.timestamp(claim.expires_at),
    )
    claim.save(force_insert=True)
    return claim, event


def renew(arena: Arena, claim: Claim, length: timedelta) -> Claim:
    """Extend a live claim to now + `length`; no event (the log records outcomes only)."""
    now = timezone.now()
    claim.expires_at = now + length
    claim.renewed_at = now
    claim.save(update_fields=["expires_at", "renewed_at"])
    return claim


def find(arena: Arena, claim_id: Any) -> Claim:
    """The arena's claim with this id, live or not; NotFound when it never existed."""
    claim = Claim.objects.filter(arena=arena, claim_id=inputs.claim_id(claim_id)).first()
    if claim is None:
        raise NotFound("No such claim.")
    return claim


def require_live(claim: Claim) -> Claim:
    if claim.ended_at is not None:
        raise ClaimLost(
            f"Claim {claim.claim_id} on step {claim.step} is no longer live "
            f"({claim.get_end_display().lower()}).",
            claim_id=claim.claim_id,
        )
    return claim


def require_holder_or_manager(claim: Claim, me: Participant | None) -> None:
    """The holder, a coordinator or staff (`me` None) may release a claim."""
    if me is not None and me.agent_id != claim.agent_id and me.role != Role.COORDINATOR:
        raise PermissionDenied("Only the holder or a coordinator may release this claim.")


def release(arena: Arena, claim: Claim, actor: str | None) -> Event:
    """End a live claim and append its `claim_released`."""
    _end(claim, ClaimEnd.RELEASED, timezone.now())
    return _outcome(arena, claim, EventType.CLAIM_RELEASED, actor)


def release_all(arena: Arena, actor: str | None, agent_id: str | None = None) -> None:
    """Release every live claim of the arena (of `agent_id` only, when given), by step:
    before an agent leaves, and before the arena settles."""
    if arena.next_expiry_at is None:
        return
    live = Claim.objects.live().filter(arena=arena)
    if agent_id is None:
        arena.next_expiry_at = None  # none will be left
    else:
        live = live.filter(agent_id=agent_id)
    for claim in live.order_by("step"):
        release(arena, claim, actor)


def end_with_completion(
    arena: Arena, me: Participant, step: int, claim_id: int | None, end: str = ClaimEnd.COMPLETED
) -> None:
    """The claims' side of completing a step: a live claim of another agent refuses
    it (StepClaimed); a `claim_id` that is not the caller's live claim on the step refuses
    it (ClaimLost); the caller's own live claim on it ends (`end`), without an event.
    With a `claim_id`, the usual case, one statement ends the named claim if it is the
    caller's live claim on the step; the checks that name the refusal run only when not."""
    if (
        claim_id is not None
        and arena.next_expiry_at is not None
        and sql.end_claim(arena.id, step, claim_id, me.agent_id, end, timezone.now())
    ):
        return
    held = require_unclaimed(arena, me, step)
    if claim_id is not None:
        raise ClaimLost(
            f"Claim {claim_id} is not your live claim on step {step}: its lease lapsed or "
            "the step was taken over, so this result must not count.",
            claim_id=claim_id,
        )
    if held is not None:
        _end(held, end, timezone.now())


def next_step(arena: Arena, me: Participant, last_step: int) -> int | None:
    """The lowest-numbered step the caller could claim now: workable (completed
    dependencies, not completed, unassigned or the caller's unless it coordinates) and
    held by no live claim, the caller's own included, up to `last_step`. None when there
    is none. Found by one statement from the completed prefix on (brought up to date by
    the caller: `plan.advance_prefix`), never by walking the plan in Python."""
    if _titled(arena):
        coordinator = me.role == Role.COORDINATOR
        return sql.first_claimable_titled_step(
            arena.id, arena.completed_prefix, me.agent_id, coordinator
        )
    if arena.strategy == Strategy.PIPELINE:
        # Each step waits for the one before: only the first open step can be worked.
        candidate = arena.completed_prefix + 1
        free = live_claim_on(arena, candidate) is None
    else:
        candidate = sql.first_step(arena.id, arena.completed_prefix, free_of_claims=True)
        free = True
    return candidate if free and candidate <= last_step else None


def vacancy(arena: Arena) -> Vacancy:
    """What claims/next reports when it found nothing to claim. An open-ended plan has no
    last step: there, `remaining` counts the steps held by live claims, and none is
    blocked (only its pipeline's next step is ever held back, by its claim)."""
    claimed = Claim.objects.live().filter(arena=arena).count()
    if arena.total_steps == 0:
        return Vacancy(remaining=claimed, claimed=claimed, blocked=0)
    remaining = arena.total_steps - arena.completed_steps
    if _titled(arena):
        blocked = sql.blocked_titled_steps(arena.id, arena.completed_prefix)
    elif arena.strategy == Strategy.PIPELINE:
        blocked = max(0, remaining - 1)
    else:
        blocked = 0
    return Vacancy(remaining=remaining, claimed=claimed, blocked=blocked)


def _titled(arena: Arena) -> bool:
    return arena.total_steps > 0 and _has_plan_rows(arena.id)


@lru_cache(maxsize=10_000)
def _has_plan_rows(arena_id: Any) -> bool:
    """Whether the arena's plan is titled (Step rows): fixed when the arena is created, so
    each process asks once per arena."""
    return Step.objects.filter(arena_id=arena_id).exists()


def state(claim: Claim, now: datetime) -> str:
    """What `Claim.objects.within_lease` and `past_lease` say of one claim at `now`:
    "live" (within its lease), "lapsed" (past it, its expiry not recorded yet), or how it
    ended (a `ClaimEnd` value)."""
    if claim.ended_at is not None:
        return claim.end
    return "live" if claim.expires_at > now else "lapsed"


def refresh_next_expiry(arena: Arena) -> None:
    arena.next_expiry_at = (
        Claim.objects.live().filter(arena=arena).aggregate(first=Min("expires_at"))["first"]
    )


def _outcome(arena: Arena, claim: Claim, type: str, actor: str | None) -> Event:
    """The event that records how a claim ended: released or expired."""
    return events.append(
        arena, type, actor, step=claim.step, agent_id=claim.agent_id, claim_id=claim.claim_id
    )


def _end(claim: Claim, end: str, now: datetime) -> None:
    claim.ended_at = now
    claim.end = end
    claim.save(update_fields=["ended_at", "end"])
