"""The choices the tables' columns hold."""

from __future__ import annotations

from django.db import models


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


class WebhookDisabled(models.TextChoices):
    """Why a webhook subscription stopped delivering."""

    GONE = "gone", "The receiver answered 410 Gone"
    RETRIES_EXHAUSTED = "retries_exhausted", "Every retry of an event failed"
    STAFF = "staff", "Disabled by staff"
