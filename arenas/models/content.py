"""What agents and people put into an arena: requests for people, artifacts, facts."""

from __future__ import annotations

import uuid

from django.db import models
from django.db.models import Q
from django.utils import timezone

from ..inputs import TAG_MAX, TITLE_MAX
from .agents import Agent
from .arena import Arena
from .choices import ArtifactKind, RequestKind, RequestStatus
from .constraints import one_of, step_number


class InputRequest(models.Model):
    """A request for people: an agent's question, or the review a review step's
    completion opens. It stays `open` until a person (staff, or a coordinator other than the
    asker) answers it, or the asker cancels it; archiving cancels what is still open."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    arena = models.ForeignKey(Arena, on_delete=models.CASCADE, related_name="requests")
    kind = models.CharField(max_length=16, choices=RequestKind.choices)
    # The agent that asks; null for a request the system opens (a budget reached).
    agent = models.ForeignKey(
        Agent, null=True, blank=True, on_delete=models.PROTECT, related_name="requests"
    )
    text = models.TextField()
    choices = models.JSONField(null=True, blank=True)
    step = models.BigIntegerField(null=True, blank=True)
    status = models.CharField(
        max_length=16, choices=RequestStatus.choices, default=RequestStatus.OPEN
    )
    # {"choice", "text", "by", "at"} once answered.
    answer = models.JSONField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    closed_at = models.DateTimeField(null=True, blank=True)
    # A budget request's limit (`cost_usd`, `tokens`, `per_agent_cost_usd`, `per_agent_tokens`).
    budget_limit = models.CharField(max_length=32, blank=True, default="")

    class Meta:
        # The dashboard's name for them, in the admin too. (Names only: no schema change.)
        verbose_name = "request for people"
        verbose_name_plural = "requests for people"
        ordering = ["-created_at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=one_of("kind", RequestKind), name="request_kind_valid"
            ),
            models.CheckConstraint(
                condition=one_of("status", RequestStatus), name="request_status_valid"
            ),
            models.CheckConstraint(
                condition=Q(step__isnull=True) | step_number("step"), name="request_step_u32"
            ),
            models.CheckConstraint(
                condition=~Q(kind=RequestKind.REVIEW) | Q(step__isnull=False),
                name="request_review_has_step",
            ),
            models.CheckConstraint(
                condition=Q(kind=RequestKind.BUDGET) | Q(agent__isnull=False),
                name="request_asked_by_agent",
            ),
            models.UniqueConstraint(
                fields=["arena", "step"],
                condition=Q(kind=RequestKind.REVIEW, status=RequestStatus.OPEN),
                name="request_one_open_review_per_step",
            ),
        ]
        indexes = [
            models.Index(fields=["arena", "status", "created_at"]),
            models.Index(fields=["status", "created_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.kind} of {self.agent_id} ({self.status})"


class Artifact(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    arena = models.ForeignKey(Arena, on_delete=models.CASCADE, related_name="artifacts")
    agent = models.ForeignKey(Agent, on_delete=models.PROTECT, related_name="artifacts")
    kind = models.CharField(max_length=16, choices=ArtifactKind.choices)
    title = models.CharField(max_length=TITLE_MAX)
    content = models.JSONField(help_text="A string, or any JSON value for structured_data.")
    metadata = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["arena_id", "created_at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=one_of("kind", ArtifactKind), name="artifact_kind_valid"
            )
        ]
        indexes = [models.Index(fields=["arena", "agent", "created_at"])]

    def __str__(self) -> str:
        return f"{self.title} ({self.kind}, {self.agent_id})"


class Fact(models.Model):
    """A shared fact. `settled_at` is set when its arena is archived: from then on it is part
    of long-term memory, searchable at /api/facts/."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    arena = models.ForeignKey(Arena, on_delete=models.CASCADE, related_name="facts")
    source_agent = models.ForeignKey(Agent, on_delete=models.PROTECT, related_name="facts")
    content = models.TextField()
    # The content case-folded (str.casefold), so `q` searches ignore case for every letter on
    # every database: SQLite's LIKE and lower() fold ASCII only.
    content_folded = models.TextField(default="", editable=False)
    confidence = models.FloatField(default=1.0)
    tags = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    settled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["arena_id", "created_at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(confidence__gte=0.0, confidence__lte=1.0), name="fact_confidence_range"
            )
        ]

    def __str__(self) -> str:
        return self.content if len(self.content) <= 60 else self.content[:59] + "…"


class FactTag(models.Model):
    """The search index of a fact's tags (exact match on every database)."""

    fact = models.ForeignKey(Fact, on_delete=models.CASCADE, related_name="tag_rows")
    tag = models.CharField(max_length=TAG_MAX)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["fact", "tag"], name="fact_tag_unique")]
        indexes = [models.Index(fields=["tag"])]

    def __str__(self) -> str:
        return self.tag
