"""Agents, their tokens, and the responses kept for idempotent replay."""

from __future__ import annotations

from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models

from ..inputs import AGENT_ID_MAX, AGENT_ID_RE, DISPLAY_NAME_MAX, IDEMPOTENCY_KEY_MAX


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
