"""The arenas' append-only event logs, and the usage reports they record."""

from __future__ import annotations

from django.db import models
from django.db.models import Q

from ..inputs import MODEL_NAME_MAX, U32_MAX
from .agents import Agent
from .arena import Arena
from .choices import EventType
from .constraints import one_of, step_number, u32


class Event(models.Model):
    """One entry of an arena's append-only log. Never updated or deleted."""

    arena = models.ForeignKey(Arena, on_delete=models.PROTECT, related_name="events")
    seq = models.BigIntegerField()
    type = models.CharField(max_length=32, choices=EventType.choices)
    timestamp = models.DateTimeField()
    # null means "the system"; an empty string would be a different, meaningless actor.
    actor = models.CharField(max_length=200, null=True, blank=True)  # noqa: DJ001
    data = models.JSONField(default=dict)

    class Meta:
        ordering = ["arena_id", "seq"]
        constraints = [
            models.UniqueConstraint(fields=["arena", "seq"], name="event_unique_seq"),
            models.CheckConstraint(condition=Q(seq__gte=1), name="event_seq_positive"),
            models.CheckConstraint(condition=one_of("type", EventType), name="event_type_valid"),
        ]

    def __str__(self) -> str:
        return f"#{self.seq} {self.type}"


class UsageReport(models.Model):
    """One usage report: what an agent's model calls cost, as recorded by the
    `usage_reported` event of seq `seq`. `cost_micro_usd` is null for a model the price table
    could not price (`priced` false)."""

    arena = models.ForeignKey(Arena, on_delete=models.CASCADE, related_name="usage_reports")
    seq = models.BigIntegerField()
    agent = models.ForeignKey(Agent, on_delete=models.PROTECT, related_name="usage_reports")
    model = models.CharField(max_length=MODEL_NAME_MAX)
    input_tokens = models.BigIntegerField()
    output_tokens = models.BigIntegerField()
    cached_input_tokens = models.BigIntegerField()
    calls = models.BigIntegerField()
    cost_micro_usd = models.BigIntegerField(null=True, blank=True)
    priced = models.BooleanField()
    step = models.BigIntegerField(null=True, blank=True)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["arena_id", "seq"]
        constraints = [
            models.UniqueConstraint(fields=["arena", "seq"], name="usage_unique_seq"),
            models.CheckConstraint(condition=u32("input_tokens"), name="usage_input_u32"),
            models.CheckConstraint(condition=u32("output_tokens"), name="usage_output_u32"),
            models.CheckConstraint(
                condition=u32("cached_input_tokens"), name="usage_cached_input_u32"
            ),
            models.CheckConstraint(
                condition=Q(calls__gte=1, calls__lte=U32_MAX), name="usage_calls_range"
            ),
            models.CheckConstraint(
                condition=Q(cost_micro_usd__isnull=True) | Q(cost_micro_usd__gte=0),
                name="usage_cost_nonnegative",
            ),
            models.CheckConstraint(
                condition=Q(step__isnull=True) | step_number("step"), name="usage_step_u32"
            ),
        ]
        indexes = [
            models.Index(fields=["arena", "step"], name="usage_by_step"),
            models.Index(fields=["arena", "model"], name="usage_by_model"),
        ]

    def __str__(self) -> str:
        return f"{self.model} by {self.agent_id} (#{self.seq})"
