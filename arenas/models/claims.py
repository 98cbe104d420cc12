"""Claims: leases on steps, and the queries that say which of them hold a step."""

from __future__ import annotations

from datetime import datetime

from django.db import models
from django.db.models import Q
from django.utils import timezone

from .agents import Agent
from .arena import Arena
from .choices import ClaimEnd
from .constraints import step_number


class ClaimQuerySet(models.QuerySet):
    """A claim is live from its creation until it ends (`ended_at` set: completed,
    released, expired, its holder gone, the arena settling). Its lease may pass before
    its expiry is recorded (the next write to the arena or the sweep records it): writes
    record due expiries first (`claims.expire_due`) and then ask for `live()`; reads, which
    record nothing, ask for `within_lease()`, and for `past_lease()` to tell what lapsed."""

    def live(self) -> ClaimQuerySet:
        """The claims not ended (at most one per step: `claim_one_live_per_step`)."""
        return self.filter(ended_at__isnull=True)

    def within_lease(self, now: datetime | None = None) -> ClaimQuerySet:
        """The live claims whose lease has not passed at `now` (default: now): what a
        reader shows as held, whether or not a lapsed lease's expiry is recorded yet."""
        return self.live().filter(expires_at__gt=now or timezone.now())

    def past_lease(self, now: datetime | None = None) -> ClaimQuerySet:
        """The live claims whose lease has passed at `now` (default: now), their expiry
        not recorded yet."""
        return self.live().filter(expires_at__lte=now or timezone.now())

    def ended(self) -> ClaimQuerySet:
        return self.filter(ended_at__isnull=False)


class Claim(models.Model):
    """A lease on one step: its holder may work on the step until `expires_at`.
    `claim_id` is the seq of the `step_claimed` event that created it, the fencing token a
    completion names. A claim is live until `ended_at` is set (completed, released,
    expired, its holder gone, the arena settling); the database holds at most one live
    claim per step."""

    arena = models.ForeignKey(Arena, on_delete=models.CASCADE, related_name="claims")
    claim_id = models.BigIntegerField()
    step = models.BigIntegerField()
    agent = models.ForeignKey(Agent, on_delete=models.PROTECT, related_name="claims")
    claimed_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    renewed_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    end = models.CharField(max_length=16, choices=ClaimEnd.choices, blank=True, default="")

    objects = ClaimQuerySet.as_manager()

    class Meta:
        ordering = ["arena_id", "claim_id"]
        constraints = [
            models.UniqueConstraint(fields=["arena", "claim_id"], name="claim_unique_id"),
            models.UniqueConstraint(
                fields=["arena", "step"],
                condition=Q(ended_at__isnull=True),
                name="claim_one_live_per_step",
            ),
            models.CheckConstraint(condition=step_number("step"), name="claim_step_u32"),
            models.CheckConstraint(
                condition=Q(ended_at__isnull=True, end="")
                | Q(ended_at__isnull=False) & Q(end__in=ClaimEnd.values),
                name="claim_end_valid",
            ),
        ]
        indexes = [models.Index(fields=["arena", "ended_at", "expires_at"])]

    def __str__(self) -> str:
        return f"claim {self.claim_id}: step {self.step} by {self.agent_id}"

    @property
    def is_live(self) -> bool:
        return self.ended_at is None
