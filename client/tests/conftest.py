"""Fixtures of the client's tests: live Daphne servers of this checkout (through the
server suite's `live_db` and `live_server` fixtures) and agents with their bearer tokens.

These tests need the server's checkout (they run from its root, as `make test` does); the
client itself needs only httpx and websockets."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest

from tests.conftest import (  # noqa: F401 (fixtures)
    _live_server_helper,
    live_db,
    live_server,
    live_server_env,
)

MAKE_AGENTS = """
import json, sys
from arenas.agents import create_agent, issue_token
from arenas.models import Agent
tokens = {}
for agent_id in sys.argv[1:]:
    agent = Agent.objects.filter(agent_id=agent_id).first() or create_agent(agent_id)
    tokens[agent_id] = issue_token(agent)[0]
print(json.dumps(tokens))
"""


@pytest.fixture
def tokens(live_db) -> Callable[..., dict[str, str]]:  # noqa: F811
    """tokens("lead", "ana") -> {agent_id: a new bearer token}, creating the agents in one
    `manage.py shell` run."""

    def make(*agent_ids: str) -> dict[str, str]:
        script = MAKE_AGENTS.replace("sys.argv[1:]", repr(list(agent_ids)))
        output = live_db.manage("shell", "-c", script)
        return json.loads(output.strip().splitlines()[-1])

    return make
