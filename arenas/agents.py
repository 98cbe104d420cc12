"""Agents and their bearer tokens.

A token is 32 random bytes (URL-safe base64 behind the `aa_` prefix), shown once; only its
SHA-256 digest is stored. Plain SHA-256 is enough: the token carries 256 bits of entropy, so
there is nothing to brute-force, and a lookup by digest is one indexed query.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable
from datetime import datetime, timedelta

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from . import inputs, sql
from .errors import Invalid, NotFound
from .models import Agent, AgentToken

PRESENCES = ("online", "away", "offline")
# An agent is online when seen within the first, away within the second.
ONLINE = timedelta(seconds=60)
AWAY = timedelta(minutes=10)
# last_seen_at is written at most this often per agent, so presence costs one write per
# agent per interval, not one per request.
PRESENCE_RESOLUTION = timedelta(seconds=10)

TOKEN_PREFIX = "aa_"
# Longer than any token this service issues; a longer one is not looked up.
TOKEN_MAX = 512
# last_used_at is refreshed at most this often, so authenticating stays a read.
LAST_USED_RESOLUTION = timedelta(seconds=60)


def digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def create_agent(agent_id: str, display_name: str = "", owner_username: str | None = None) -> Agent:
    """Register a new agent; raises Invalid if the id is malformed or taken."""
    agent_id = inputs.agent_id(agent_id)
    display_name = inputs.display_name(display_name)
    owner = _owner(owner_username)
    with transaction.atomic():
        if Agent.objects.filter(agent_id=agent_id).exists():
            raise Invalid.field("agent_id", f"An agent {agent_id!r} already exists.")
        return Agent.objects.create(agent_id=agent_id, display_name=display_name, owner=owner)


def update_agent(
    agent_id: str, *, display_name: str, is_active: bool, owner_username: str | None
) -> Agent:
    """Change an agent's display name, active flag and owner (the id never changes).
    An inactive agent's tokens stop authenticating; its history stays."""
    agent = Agent.objects.filter(agent_id=agent_id).first()
    if agent is None:
        raise NotFound(f"No agent {agent_id!r}.")
    agent.display_name = inputs.display_name(display_name)
    agent.is_active = bool(is_active)
    agent.owner = _owner(owner_username)
    agent.save(update_fields=["display_name", "is_active", "owner"])
    return agent


def _owner(username: str | None):
    if not username:
        return None
    owner = get_user_model().objects.filter(username=username).first()
    if owner is None:
        raise Invalid.field("owner", f"No user named {username!r}.")
    return owner


def issue_token(agent: Agent) -> tuple[str, AgentToken]:
    """Create a new token for `agent`; the plain token is returned here and nowhere else."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    record = AgentToken.objects.create(agent=agent, digest=digest(token), prefix=token[:10])
    return token, record


def revoke_token(record: AgentToken) -> None:
    if record.revoked_at is None:
        AgentToken.objects.filter(pk=record.pk, revoked_at__isnull=True).update(
            revoked_at=timezone.now()
        )


def authenticate(token: str) -> Agent | None:
    """The active agent holding this unrevoked token, or None. One statement
    (`sql.token_holder`); `last_used_at` is refreshed at most once a minute."""
    if not token or len(token) > TOKEN_MAX:
        return None
    record = sql.token_holder(digest(token))
    if record is None:
        return None
    now = timezone.now()
    if record.last_used_at is None or now - record.last_used_at > LAST_USED_RESOLUTION:
        AgentToken.objects.filter(pk=record.pk).update(last_used_at=now)
    seen(record.agent, now)
    return record.agent


def seen(agent: Agent, now: datetime) -> None:
    """The agent made a request at `now`: record it unless it was recorded less than
    PRESENCE_RESOLUTION ago."""
    if agent.last_seen_at is None or now - agent.last_seen_at >= PRESENCE_RESOLUTION:
        Agent.objects.filter(pk=agent.pk).update(last_seen_at=now)
        agent.last_seen_at = now


def seen_by_feeds(agent_ids: Iterable[str], now: datetime) -> int:
    """Agents with a live feed open are seen: one statement for all of them, skipping those
    seen within PRESENCE_RESOLUTION; how many were written."""
    return (
        Agent.objects.filter(agent_id__in=list(agent_ids))
        .exclude(last_seen_at__gt=now - PRESENCE_RESOLUTION)
        .update(last_seen_at=now)
    )


def presence(last_seen_at: datetime | None, now: datetime) -> str:
    """`online` (seen within a minute), `away` (within 10 minutes) or `offline`."""
    if last_seen_at is not None and now - last_seen_at <= ONLINE:
        return "online"
    if last_seen_at is not None and now - last_seen_at <= AWAY:
        return "away"
    return "offline"


def active_agents(agent_ids: Iterable[str], field: str) -> dict[str, Agent]:
    """The active agents of these (valid) ids by id; Invalid naming `field` and the ids
    that name no active agent."""
    wanted = set(agent_ids)
    found = {a.agent_id: a for a in Agent.objects.filter(agent_id__in=wanted, is_active=True)}
    unknown = sorted(wanted - set(found))
    if unknown:
        raise Invalid.field(field, f"No active agent: {', '.join(unknown)}.")
    return found
