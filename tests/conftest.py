"""Fixtures shared by the whole suite.

PostgreSQL and Redis tests use the `postgres` and `redis_url` fixtures: without the service
they skip with the reason, and with ALEPH_REQUIRE_SERVICES=1 (CI) they fail instead.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection

from arenas.agents import create_agent, issue_token
from arenas.manager import ArenaManager
from arenas.models import Agent

REQUIRE_SERVICES = os.environ.get("ALEPH_REQUIRE_SERVICES") == "1"


def skip_or_fail(reason: str) -> None:
    if REQUIRE_SERVICES:
        pytest.fail(f"{reason} (ALEPH_REQUIRE_SERVICES=1: this test must run here)")
    pytest.skip(reason)


@pytest.fixture
def postgres() -> None:
    """Require that the test database is PostgreSQL."""
    if connection.vendor != "postgresql":
        skip_or_fail("needs PostgreSQL: set DATABASE_URL=postgres://...")


@pytest.fixture
def redis_url() -> str:
    """The Redis URL of the channel layer, or skip."""
    url = os.environ.get("REDIS_URL", "")
    if not url:
        skip_or_fail("needs Redis: set REDIS_URL=redis://...")
    return url


@pytest.fixture
def manager() -> ArenaManager:
    return ArenaManager()


@pytest.fixture
def make_agent(db) -> Callable[..., tuple[Agent, str]]:
    """make_agent("alice") -> (agent, bearer token)."""

    def make(agent_id: str, display_name: str = "", owner: Any = None) -> tuple[Agent, str]:
        agent = Agent.objects.filter(agent_id=agent_id).first() or create_agent(
            agent_id, display_name
        )
        if owner is not None:
            agent.owner = owner
            agent.save(update_fields=["owner"])
        token, _ = issue_token(agent)
        return agent, token

    return make


@pytest.fixture
def make_arena(manager, make_agent) -> Callable[..., Any]:
    """make_arena(creator="alice", status="active", participants=[...], **config) -> arena id.

    Creates the creator and every named participant as agents, and walks the arena
    forward to `status` through the lifecycle."""

    def make(creator: str = "alice", status: str = "created", **config: Any):
        make_agent(creator)
        for member in config.get("participants", []):
            make_agent(member["agent_id"])
        config.setdefault("goal", "Find the answer")
        if "plan" not in config:
            config.setdefault("total_steps", 10)
        arena_id = manager.create(config, created_by=creator)
        handle = manager.handle(arena_id, creator)
        for action, target in (
            ("activate", "active"),
            ("settle", "settling"),
            ("archive", "archived"),
        ):
            if status == "created":
                break
            handle.act(action)
            if status == target:
                break
        return arena_id

    return make


@pytest.fixture
def live_db(tmp_path):
    """A fresh, migrated database for live servers (PostgreSQL when DATABASE_URL says so)."""
    from tests.support.liveserver import Database

    database = Database.fresh(directory=tmp_path)
    yield database
    database.drop()


@pytest.fixture(autouse=True)
def _live_server_helper() -> None:
    """Replaces pytest-django's autouse helper of the same name, which expects its own
    `live_server` (ours is a Daphne subprocess over a database of its own)."""


@pytest.fixture
def live_server_env() -> dict[str, str]:
    """Settings for `live_server`'s process; a test overrides it with
    `@pytest.mark.parametrize("live_server_env", [{...}])`."""
    return {}


@pytest.fixture
def live_server(live_db, tmp_path, live_server_env):
    """One Daphne process serving the app on a free port (Redis layer when REDIS_URL is set)."""
    from tests.support.liveserver import LiveServer

    server = LiveServer(
        live_db,
        redis_url=os.environ.get("REDIS_URL") or None,
        log_path=tmp_path / "daphne.log",
        extra_env=live_server_env,
    ).start()
    yield server
    server.stop()
