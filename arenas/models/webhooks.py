"""Webhook subscriptions and how far each has delivered each arena's log."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from ..inputs import WEBHOOK_URL_MAX
from .arena import Arena
from .choices import WebhookDisabled


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
