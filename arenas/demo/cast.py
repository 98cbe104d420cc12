"""Who plays the demo: a staff login `demo` and demo agents owned by it, each with a fresh
token on every run (the previous run's are revoked), and the demo's pace constants."""

from __future__ import annotations

import secrets

from django.contrib.auth import get_user_model
from django.core.management.base import CommandError
from django.db import transaction

from aleph_client import Retry
from arenas.agents import create_agent, issue_token, revoke_token
from arenas.models import Agent

DEMO_USERNAME = "demo"
LEAD = "demo-lead"
RESEARCHER = "demo-researcher"
WRITER = "demo-writer"
REVIEWER = "demo-reviewer"
ENGINEER = "demo-engineer"
ANALYST = "demo-analyst"
DEMO_AGENTS = {
    LEAD: "Lead (coordinates the demo arenas)",
    RESEARCHER: "Researcher",
    WRITER: "Writer",
    REVIEWER: "Reviewer",
    ENGINEER: "Engineer",
    ANALYST: "Analyst",
}
# The demo arenas' lease: long enough to watch it count down on the arena's page.
LEASE_SECONDS = 30
# The shortest lease the server grants: the stalled agent's.
SHORTEST_LEASE = 5
# While every arena waits (for a person, an expiry), the play looks again this often.
IDLE_SECONDS = 0.2
# A throttled request waits its Retry-After (up to 30 s) and is tried again, up to 8 times.
RETRY = Retry(attempts=8, max_retry_after=30.0)


@transaction.atomic
def prepare() -> tuple[str, list[tuple[str, str]]]:
    """The staff user `demo` with a new password; every demo agent with one fresh token.

    `demo` is a superuser: the dashboard shows staff the admin's link, and the login the
    demo prints must open every page it offers."""
    password = secrets.token_urlsafe(12)
    users = get_user_model()
    user = users.objects.filter(username=DEMO_USERNAME).first()
    if user is None:
        user = users.objects.create_user(DEMO_USERNAME)
    user.is_staff = True
    user.is_superuser = True
    user.is_active = True
    user.set_password(password)
    user.save()
    tokens = []
    for agent_id, name in DEMO_AGENTS.items():
        agent = Agent.objects.filter(agent_id=agent_id).first()
        if agent is None:
            agent = create_agent(agent_id, name, owner_username=DEMO_USERNAME)
        elif not agent.is_active:
            raise CommandError(f"The demo agent {agent_id!r} is deactivated (see the admin).")
        for record in agent.tokens.filter(revoked_at__isnull=True):
            revoke_token(record)
        token, _record = issue_token(agent)
        tokens.append((agent_id, token))
    return password, tokens
