"""The worker loop of `client.work(arena_id, do_step)`, as one program.

Claim the next step; run `do_step` on it while a lease renewal runs beside it (every third
of the lease); complete the step with the claim's `claim_id`; repeat. When no step can be
claimed now, wait on the arena's feed for a change that may free one (a step completed, a
claim released or expired, an answer to a review, a status change), or for `wait_seconds`,
and try again. The loop ends when every step is completed or the arena has left `active`
(an arena still `created` is waited for). A lost claim (a renewal or the completion answers
`ClaimLost`) abandons that step's result: another agent took the step over, and the fencing
`claim_id` makes sure the work does not count twice.

A review step is not completed by its worker: completing it answers 202 with
`{"request", "event"}`, its claim ends, and the step waits for a person. The loop counts it
`submitted` and goes on; claims/next offers no step whose review is open, so while only
reviews remain it waits on the feed. An approval completes the step (`step_completed`); a
rejection leaves it open, and the next claim takes it up again.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from .core import Program, RunStep, Sleep
from .errors import (
    ArenaError,
    ArenaNotActive,
    ClaimLost,
    ReviewPending,
    ServerError,
    StepAlreadyCompleted,
    Throttled,
    Unreachable,
)
from .feed import FeedCursor

if TYPE_CHECKING:
    from .api import Api
    from .types import Claim, Step

# The events after which a step may have become claimable (or the arena not active).
WAKE_EVENTS = frozenset(
    {
        "step_completed",
        "claim_released",
        "claim_expired",
        "status_changed",
        "input_provided",
        "input_cancelled",
    }
)
# Failures after which a renewal is tried again at its next turn (the lease decides).
PASSING_FAILURES = (Unreachable, ServerError, Throttled)


@dataclass
class ClaimedStep:
    """What `do_step` is given: the step claimed, its title, the claim and the step as
    the plan lists it (None in an open-ended plan, which lists completed steps only)."""

    arena_id: str
    step: int
    title: str
    claim: Claim
    plan: Step | None


@dataclass
class WorkReport:
    """What one `work()` did: the steps it completed (and what `do_step` returned for
    each), the review steps it submitted (a person decides), the steps whose claim it lost
    (their result abandoned), and the arena's status when it stopped."""

    completed: list[int] = field(default_factory=list)
    submitted: list[int] = field(default_factory=list)
    lost: list[int] = field(default_factory=list)
    results: dict[int, Any] = field(default_factory=dict)
    status: str = "active"


@dataclass
class Lease:
    claim: Claim
    lost: bool = False


def work(
    api: Api,
    arena_id: str,
    do_step: Callable[[ClaimedStep], Any],
    *,
    lease_seconds: int | None = None,
    wait_seconds: float = 30.0,
) -> Program[WorkReport]:
    """Work on the arena's steps until all are completed or it leaves `active`.

    `do_step(step)` gets a `ClaimedStep`; on the async client it may be a coroutine
    function (else it runs in a thread). Its return value is kept in `report.results`.
    If it raises, the claim is released and the exception ends `work()`.
    `lease_seconds`: each claim's lease (None: the arena's `lease_seconds`)."""
    report = WorkReport()
    feed: FeedCursor | None = None
    while True:
        try:
            answer = yield from api.claim_next_step.program(arena_id, lease_seconds)
        except ArenaNotActive:
            arena = yield from api.get_arena.program(arena_id)
            if arena["status"] != "created":
                report.status = arena["status"]
                return report
            answer = None
        if answer is not None and answer["claim"] is not None:
            yield from run_one(api, arena_id, answer["claim"], do_step, lease_seconds, report)
            continue
        if answer is not None and answer["remaining"] == 0:
            return report
        if feed is None:
            # The feed starts at its snapshot: whatever happened before it, the next claim
            # sees; whatever happens after it, the feed shows.
            feed = FeedCursor(api, arena_id, after=None)
            yield from feed.open(wait_seconds)
            continue
        yield from wait_for_change(feed, wait_seconds)


def run_one(
    api: Api,
    arena_id: str,
    claim: Claim,
    do_step: Callable[[ClaimedStep], Any],
    lease_seconds: int | None,
    report: WorkReport,
) -> Program[None]:
    number = claim["step"]
    page = yield from api.get_plan.program(arena_id, after=number - 1, limit=1)
    plan = next((s for s in page["results"] if s["step"] == number), None)
    item = ClaimedStep(arena_id, number, plan["title"] if plan else "", claim, plan)
    lease = Lease(claim)
    try:
        result = yield RunStep(do_step, item, renewal(api, arena_id, lease, lease_seconds))
    except Exception:
        with contextlib.suppress(ArenaError):  # lost already: the step is free either way
            yield from api.release_claim.program(arena_id, lease.claim["claim_id"])
        raise
    if lease.lost:
        report.lost.append(number)
        return
    try:
        done = yield from api.complete_step.program(arena_id, number, claim["claim_id"])
    except (ClaimLost, StepAlreadyCompleted, ReviewPending):
        # The claim lapsed and another agent did the step (completed it, or submitted it for
        # review: the server checks the step before the claim).
        report.lost.append(number)
        return
    (report.submitted if "request" in done else report.completed).append(number)
    report.results[number] = result


def renewal(api: Api, arena_id: str, lease: Lease, lease_seconds: int | None) -> Program[None]:
    """Renew the claim every third of its lease until abandoned, or until it is lost."""
    interval = renewal_interval(lease.claim, lease_seconds)
    while True:
        yield Sleep(interval)
        try:
            answer = yield from api.renew_claim.program(
                arena_id, lease.claim["claim_id"], lease_seconds
            )
        except PASSING_FAILURES:
            continue
        except ArenaError:
            lease.lost = True
            return
        lease.claim = answer["claim"]


def renewal_interval(claim: Claim, lease_seconds: int | None) -> float:
    if lease_seconds is None:
        granted = datetime.fromisoformat(claim["expires_at"]) - datetime.fromisoformat(
            claim["claimed_at"]
        )
        lease_seconds = max(1, round(granted.total_seconds()))
    return lease_seconds / 3


def wait_for_change(feed: FeedCursor, seconds: float) -> Program[None]:
    deadline = time.monotonic() + seconds
    while (left := deadline - time.monotonic()) > 0:
        event = yield from feed.next_event(left)
        if event is None or event["type"] in WAKE_EVENTS:
            return
