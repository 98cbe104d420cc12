"""The tables of Aleph Arena and the constraints the database holds for them.

Rows are written only by the domain modules (manager, handle, lifecycle, events, agents);
adapters read through them too. Counters are 64-bit columns held to the u32 range
0..4294967295 by check constraints.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone

from .inputs import (
    AGENT_ID_MAX,
    AGENT_ID_RE,
    CURRENT_MAX,
    DISPLAY_NAME_MAX,
    IDEMPOTENCY_KEY_MAX,
    LEASE_DEFAULT,
    LEASE_MAX,
    LEASE_MIN,
    MODEL_NAME_MAX,
    STEP_TITLE_MAX,
    TAG_MAX,
    TITLE_MAX,
    U32_MAX,
    WEBHOOK_URL_MAX,
)


class Status(models.TextChoices):
    CREATED = "created", "Created"
    ACTIVE = "active", "Active"
    SETTLING = "settling", "Settling"
    ARCHIVED = "archived", "Archived"


class Strategy(models.TextChoices):
    PEER = "peer", "Peer"
    PIPELINE = "pipeline", "Pipeline"


class Role(models.TextChoices):
    COORDINATOR = "coordinator", "Coordinator"
    WORKER = "worker", "Worker"
    OBSERVER = "observer", "Observer"


class SlotStatus(models.TextChoices):
    IDLE = "idle", "Idle"
    WORKING = "working", "Working"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"


class ArtifactKind(models.TextChoices):
    TEXT = "text", "Text"
    CODE = "code", "Code"
    FILE = "file", "File"
    STRUCTURED_DATA = "structured_data", "Structured data"


class ClaimEnd(models.TextChoices):
    """How a claim stopped being live."""

    COMPLETED = "completed", "Completed"
    RELEASED = "released", "Released"
    EXPIRED = "expired", "Expired"
    SUBMITTED = "submitted", "Submitted for review"


class EventType(models.TextChoices):
    ARENA_CREATED = "arena_created"
    AGENT_JOINED = "agent_joined"
    AGENT_LEFT = "agent_left"
    STEP_COMPLETED = "step_completed"
    GOAL_UPDATED = "goal_updated"
    STATUS_CHANGED = "status_changed"
    PROGRESS_UPDATED = "progress_updated"
    ARTIFACT_PUBLISHED = "artifact_published"
    ARTIFACTS_MERGED = "artifacts_merged"
    FACT_SHARED = "fact_shared"
    MESSAGE_POSTED = "message_posted"
    ARENA_SETTLED = "arena_settled"
    STEP_CLAIMED = "step_claimed"
    CLAIM_RELEASED = "claim_released"
    CLAIM_EXPIRED = "claim_expired"
    INPUT_REQUESTED = "input_requested"
    INPUT_PROVIDED = "input_provided"
    INPUT_CANCELLED = "input_cancelled"
    USAGE_REPORTED = "usage_reported"
    BUDGET_CHANGED = "budget_changed"
    BUDGET_WARNING = "budget_warning"
    BUDGET_EXHAUSTED = "budget_exhausted"
    ARENA_FORKED = "arena_forked"


class RequestKind(models.TextChoices):
    QUESTION = "question", "Question"
    REVIEW = "review", "Review"
    BUDGET = "budget", "Budget"


class RequestStatus(models.TextChoices):
    OPEN = "open", "Open"
    ANSWERED = "answered", "Answered"
    CANCELLED = "cancelled", "Cancelled"


def _in(field: str, choices: type[models.TextChoices]) -> Q:
    return Q(**{f"{field}__in": choices.values})


def _u32(field: str) -> Q:
    return Q(**{f"{field}__gte": 0, f"{field}__lte": U32_MAX})


def _step_number(field: str) -> Q:
    return Q(**{f"{field}__gte": 1, f"{field}__lte": U32_MAX})


class Agent(models.Model):
    agent_id = models.CharField(
        primary_key=True,
        max_length=AGENT_ID_MAX,
        validators=[RegexValidator(AGENT_ID_RE.pattern)],
        help_text="Unique slug: lower-case letters, digits, '_', '.', '-'.",
    )
    display_name = models.CharField(max_length=DISPLAY_NAME_MAX, blank=True)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    # The last authenticated request or open feed (presence): written at most once
    # per agent per PRESENCE_RESOLUTION (arenas/agents.py).
    last_seen_at = models.DateTimeField(null=True, blank=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="agents",
    )

    class Meta:
        ordering = ["agent_id"]

    def __str__(self) -> str:
        return self.agent_id


class AgentToken(models.Model):
    """A bearer token; only its SHA-256 digest is stored."""

    agent = models.ForeignKey(Agent, on_delete=models.CASCADE, related_name="tokens")
    digest = models.CharField(max_length=64, unique=True)
    prefix = models.CharField(
        max_length=12, help_text="The token's first characters, to tell tokens apart."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["agent_id", "created_at", "id"]

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.agent_id})"


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

    class Meta:
        ordering = ["-created_at", "id"]
        constraints = [
            models.CheckConstraint(condition=_in("status", Status), name="arena_status_valid"),
            models.CheckConstraint(
                condition=_in("strategy", Strategy), name="arena_strategy_valid"
            ),
            models.CheckConstraint(condition=_u32("total_steps"), name="arena_total_steps_u32"),
            models.CheckConstraint(
                condition=_u32("completed_steps"), name="arena_completed_steps_u32"
            ),
            models.CheckConstraint(condition=Q(last_seq__gte=0), name="arena_last_seq_nonnegative"),
            models.CheckConstraint(
                condition=Q(lease_seconds__gte=LEASE_MIN, lease_seconds__lte=LEASE_MAX),
                name="arena_lease_seconds_range",
            ),
            models.CheckConstraint(
                condition=_u32("completed_prefix"), name="arena_completed_prefix_u32"
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
            models.CheckConstraint(condition=_step_number("number"), name="step_number_u32"),
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
            models.CheckConstraint(condition=_step_number("step"), name="completion_step_u32"),
        ]

    def __str__(self) -> str:
        return f"step {self.step} by {self.agent_id}"


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

    class Meta:
        ordering = ["arena_id", "claim_id"]
        constraints = [
            models.UniqueConstraint(fields=["arena", "claim_id"], name="claim_unique_id"),
            models.UniqueConstraint(
                fields=["arena", "step"],
                condition=Q(ended_at__isnull=True),
                name="claim_one_live_per_step",
            ),
            models.CheckConstraint(condition=_step_number("step"), name="claim_step_u32"),
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
            models.CheckConstraint(condition=_in("kind", RequestKind), name="request_kind_valid"),
            models.CheckConstraint(
                condition=_in("status", RequestStatus), name="request_status_valid"
            ),
            models.CheckConstraint(
                condition=Q(step__isnull=True) | _step_number("step"), name="request_step_u32"
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

    class Meta:
        ordering = ["arena_id", "agent_id"]
        constraints = [
            models.UniqueConstraint(fields=["arena", "agent"], name="participant_unique_agent"),
            models.CheckConstraint(condition=_in("role", Role), name="participant_role_valid"),
            models.CheckConstraint(
                condition=_in("slot_status", SlotStatus), name="participant_slot_status_valid"
            ),
        ]
        indexes = [models.Index(fields=["agent", "left_at"])]

    def __str__(self) -> str:
        return f"{self.agent_id} ({self.role})"

    @property
    def is_current(self) -> bool:
        return self.left_at is None


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
            models.CheckConstraint(condition=_in("kind", ArtifactKind), name="artifact_kind_valid")
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
            models.CheckConstraint(condition=_in("type", EventType), name="event_type_valid"),
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
            models.CheckConstraint(condition=_u32("input_tokens"), name="usage_input_u32"),
            models.CheckConstraint(condition=_u32("output_tokens"), name="usage_output_u32"),
            models.CheckConstraint(
                condition=_u32("cached_input_tokens"), name="usage_cached_input_u32"
            ),
            models.CheckConstraint(
                condition=Q(calls__gte=1, calls__lte=U32_MAX), name="usage_calls_range"
            ),
            models.CheckConstraint(
                condition=Q(cost_micro_usd__isnull=True) | Q(cost_micro_usd__gte=0),
                name="usage_cost_nonnegative",
            ),
            models.CheckConstraint(
                condition=Q(step__isnull=True) | _step_number("step"), name="usage_step_u32"
            ),
        ]
        indexes = [
            models.Index(fields=["arena", "step"], name="usage_by_step"),
            models.Index(fields=["arena", "model"], name="usage_by_model"),
        ]

    def __str__(self) -> str:
        return f"{self.model} by {self.agent_id} (#{self.seq})"


class IdempotencyRecord(models.Model):
    """A POST's response kept for replay under its Idempotency-Key (per agent, 24 hours).
    `status_code` is null while the first request is still being applied."""

    agent = models.ForeignKey(Agent, on_delete=models.CASCADE, related_name="idempotency_records")
    key = models.CharField(max_length=IDEMPOTENCY_KEY_MAX)
    request_hash = models.CharField(max_length=64)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    response_body = models.JSONField(null=True, blank=True)
    response_headers = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["agent", "key"], name="idempotency_unique_key")
        ]

    def __str__(self) -> str:
        return f"{self.agent_id}: {self.key}"


class WebhookDisabled(models.TextChoices):
    """Why a webhook subscription stopped delivering."""

    GONE = "gone", "The receiver answered 410 Gone"
    RETRIES_EXHAUSTED = "retries_exhausted", "Every retry of an event failed"
    STAFF = "staff", "Disabled by staff"


class WebhookSubscription(models.Model):
    """A receiver of arena events: every event of `arenas` (null: every arena
    its owner, `created_by`, can see) of `types` (null: all), POSTed to `url`, signed with
    `secret`. The secret is kept as it is: signing needs it (it is shown once, at
    creation). Delivery progress lives in one `WebhookCursor` per arena."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    url = models.CharField(max_length=WEBHOOK_URL_MAX)
    arenas = models.JSONField(null=True, blank=True)
    types = models.JSONField(null=True, blank=True)
    active = models.BooleanField(default=True)
    secret = models.CharField(max_length=100, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="webhook_subscriptions"
    )
    created_at = models.DateTimeField(default=timezone.now)
    disabled_at = models.DateTimeField(null=True, blank=True)
    disabled_reason = models.CharField(
        max_length=32, choices=WebhookDisabled.choices, blank=True, default=""
    )
    # The latest failed attempt of any of its cursors.
    last_error = models.TextField(blank=True, default="")
    last_error_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(active=True, disabled_reason="")
                | Q(active=False) & Q(disabled_reason__in=WebhookDisabled.values),
                name="webhook_disabled_reason_valid",
            )
        ]
        indexes = [models.Index(fields=["active"])]

    def __str__(self) -> str:
        return self.url


class WebhookCursor(models.Model):
    """How far one subscription has delivered one arena's log: every event up to `seq` was
    acknowledged (or skipped by the subscription's `types`). `attempts` counts the failed
    attempts of event `seq + 1`, the next to send, which waits until `next_attempt_at`.
    While `leased_until` lies ahead, the process holding `lease` delivers this cursor and no
    other does."""

    subscription = models.ForeignKey(
        WebhookSubscription, on_delete=models.CASCADE, related_name="cursors"
    )
    arena = models.ForeignKey(Arena, on_delete=models.CASCADE, related_name="webhook_cursors")
    seq = models.BigIntegerField(default=0)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True, default="")
    last_delivered_at = models.DateTimeField(null=True, blank=True)
    lease = models.CharField(max_length=32, blank=True, default="")
    leased_until = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["subscription_id", "arena_id"]
        constraints = [
            models.UniqueConstraint(
                fields=["subscription", "arena"], name="webhook_cursor_unique_arena"
            ),
            models.CheckConstraint(condition=Q(seq__gte=0), name="webhook_cursor_seq_nonnegative"),
        ]

    def __str__(self) -> str:
        return f"{self.arena_id} up to {self.seq}"
