"""Arenas, their plans and completions, and their participants; with the queries that
state who takes part in an arena and who may see it."""

from __future__ import annotations

import uuid
from typing import Any

from django.db import models
from django.db.models import Count, Q
from django.utils import timezone

from ..inputs import CURRENT_MAX, LEASE_DEFAULT, LEASE_MAX, LEASE_MIN, STEP_TITLE_MAX
from .agents import Agent
from .choices import Role, SlotStatus, Status, Strategy
from .constraints import one_of, step_number, u32

# A participant is current from joining until it leaves (`left_at` set). Every query for
# current participants goes through `CURRENT` (as a lookup on Participant) or
# `CURRENT_PARTICIPANT` (as a lookup from Arena through `participants`).
CURRENT = Q(left_at__isnull=True)
CURRENT_PARTICIPANT = Q(participants__left_at__isnull=True)


class ParticipantQuerySet(models.QuerySet):
    def current(self) -> ParticipantQuerySet:
        """The participants that have not left (`Participant.is_current`)."""
        return self.filter(CURRENT)

    def owned_by(self, user: Any) -> ParticipantQuerySet:
        """The participations of agents `user` owns."""
        return self.filter(agent__owner=user)


class ArenaQuerySet(models.QuerySet):
    def with_current_participant(self, agent_id: str) -> ArenaQuerySet:
        """The arenas in which the agent is a current participant."""
        return self.filter(
            pk__in=Participant.objects.current().filter(agent_id=agent_id).values("arena_id")
        )

    def visible_to(self, user: Any) -> ArenaQuerySet:
        """The arenas a person may see: staff all, another user those in which an agent
        they own is a current participant (the dashboard's rule, and a webhook
        subscription's). A subquery, not a join, so that counts over the result see every
        participant, not only the rows a join on the owner's agents would leave."""
        if user.is_staff:
            return self.all()
        return self.filter(pk__in=Participant.objects.current().owned_by(user).values("arena_id"))

    def unarchived(self) -> ArenaQuerySet:
        return self.exclude(status=Status.ARCHIVED)

    def with_participant_count(self, name: str = "participant_count") -> ArenaQuerySet:
        """Annotated with `name`: how many current participants each arena has."""
        return self.annotate(
            **{name: Count("participants", filter=CURRENT_PARTICIPANT, distinct=True)}
        )


class Arena(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    goal = models.TextField()
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.CREATED)
    strategy = models.CharField(max_length=16, choices=Strategy.choices, default=Strategy.PEER)
    total_steps = models.BigIntegerField(default=0)
    completed_steps = models.BigIntegerField(default=0)
    created_by = models.ForeignKey(
        Agent, null=True, blank=True, on_delete=models.SET_NULL, related_name="created_arenas"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    activated_at = models.DateTimeField(null=True, blank=True)
    settling_at = models.DateTimeField(null=True, blank=True)
    archived_at = models.DateTimeField(null=True, blank=True)
    last_seq = models.BigIntegerField(default=0)
    last_activity_at = models.DateTimeField(null=True, blank=True)
    settle_report = models.JSONField(null=True, blank=True)
    # The default lease of a claim on this arena's steps.
    lease_seconds = models.PositiveIntegerField(default=LEASE_DEFAULT)
    # The earliest `expires_at` of the arena's live claims; null when it has none. A write
    # that finds it past records those expiries first; the sweep looks for arenas by it.
    next_expiry_at = models.DateTimeField(null=True, blank=True)
    # Steps 1..completed_prefix are all completed: where the search for a claimable step
    # starts (only ever grows; kept by arenas/claims.py).
    completed_prefix = models.BigIntegerField(default=0)
    # The spending limits (arenas/budgets.py, wire form: money as 6-decimal strings, tokens as
    # integers); null when the arena has none.
    budget = models.JSONField(null=True, blank=True)
    # What its agents reported spending (arenas/usage.py `Totals`, money in micro-dollars).
    usage = models.JSONField(default=dict, blank=True)
    # The budget warnings and exhaustions already announced, one key per scope, limit and
    # limit value (arenas/budgets.py), so that each is announced once.
    budget_marks = models.JSONField(default=list, blank=True)
    # A fork (arenas/history/fork.py) names the arena and the seq it was forked from.
    forked_from = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="forks"
    )
    forked_at_seq = models.BigIntegerField(null=True, blank=True)

    objects = ArenaQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "id"]
        constraints = [
            models.CheckConstraint(condition=one_of("status", Status), name="arena_status_valid"),
            models.CheckConstraint(
                condition=one_of("strategy", Strategy), name="arena_strategy_valid"
            ),
            models.CheckConstraint(condition=u32("total_steps"), name="arena_total_steps_u32"),
            models.CheckConstraint(
                condition=u32("completed_steps"), name="arena_completed_steps_u32"
            ),
            models.CheckConstraint(condition=Q(last_seq__gte=0), name="arena_last_seq_nonnegative"),
            models.CheckConstraint(
                condition=Q(lease_seconds__gte=LEASE_MIN, lease_seconds__lte=LEASE_MAX),
                name="arena_lease_seconds_range",
            ),
            models.CheckConstraint(
                condition=u32("completed_prefix"), name="arena_completed_prefix_u32"
            ),
        ]
        indexes = [
            models.Index(fields=["status", "created_at"]),
            models.Index(
                fields=["next_expiry_at"],
                condition=Q(next_expiry_at__isnull=False),
                name="arena_next_expiry",
            ),
        ]

    def __str__(self) -> str:
        goal = self.goal if len(self.goal) <= 60 else self.goal[:59] + "…"
        return f"{goal} ({self.status})"


class Step(models.Model):
    """One step of a titled plan. Arenas created with `total_steps` have no Step rows:
    their steps are untitled, unassigned and independent (pipeline: each after the last)."""

    arena = models.ForeignKey(Arena, on_delete=models.CASCADE, related_name="steps")
    number = models.BigIntegerField()
    title = models.CharField(max_length=STEP_TITLE_MAX, blank=True)
    assignee = models.ForeignKey(
        Agent, null=True, blank=True, on_delete=models.SET_NULL, related_name="assigned_steps"
    )
    depends_on = models.JSONField(default=list, blank=True)
    # Completing it opens a review request; a person's approval completes it.
    review = models.BooleanField(default=False)

    class Meta:
        ordering = ["arena_id", "number"]
        constraints = [
            models.UniqueConstraint(fields=["arena", "number"], name="step_unique_number"),
            models.CheckConstraint(condition=step_number("number"), name="step_number_u32"),
        ]

    def __str__(self) -> str:
        return f"{self.number}. {self.title}"


class StepCompletion(models.Model):
    arena = models.ForeignKey(Arena, on_delete=models.CASCADE, related_name="completions")
    step = models.BigIntegerField()
    agent = models.ForeignKey(Agent, on_delete=models.PROTECT, related_name="completions")
    completed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["arena_id", "step"]
        constraints = [
            models.UniqueConstraint(fields=["arena", "step"], name="completion_unique_step"),
            models.CheckConstraint(condition=step_number("step"), name="completion_step_u32"),
        ]

    def __str__(self) -> str:
        return f"step {self.step} by {self.agent_id}"


class Participant(models.Model):
    arena = models.ForeignKey(Arena, on_delete=models.CASCADE, related_name="participants")
    agent = models.ForeignKey(Agent, on_delete=models.PROTECT, related_name="participations")
    role = models.CharField(max_length=16, choices=Role.choices)
    can_write_own_slot = models.BooleanField()
    can_read_other_slots = models.BooleanField()
    can_write_shared_memory = models.BooleanField()
    can_merge = models.BooleanField()
    joined_at = models.DateTimeField()
    left_at = models.DateTimeField(null=True, blank=True)
    slot_status = models.CharField(
        max_length=16, choices=SlotStatus.choices, default=SlotStatus.IDLE
    )
    current = models.CharField(max_length=CURRENT_MAX, blank=True, default="")
    # What this agent reported spending in the arena (arenas/usage.py `Totals`).
    usage = models.JSONField(default=dict, blank=True)

    objects = ParticipantQuerySet.as_manager()

    class Meta:
        ordering = ["arena_id", "agent_id"]
        constraints = [
            models.UniqueConstraint(fields=["arena", "agent"], name="participant_unique_agent"),
            models.CheckConstraint(condition=one_of("role", Role), name="participant_role_valid"),
            models.CheckConstraint(
                condition=one_of("slot_status", SlotStatus), name="participant_slot_status_valid"
            ),
        ]
        indexes = [models.Index(fields=["agent", "left_at"])]

    def __str__(self) -> str:
        return f"{self.agent_id} ({self.role})"

    @property
    def is_current(self) -> bool:
        return self.left_at is None
