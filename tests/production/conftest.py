"""Servers and agents for the production tests.

`start_server` starts server processes (Daphne unless told otherwise) over the test's fresh
database (`live_db`) and stops them at the end; the processes of one test share its
database's channel-layer prefix (tests/support/liveserver.py), so parallel runs on one Redis
never hear each other. Agent throttling is off: these tests send thousands of requests on
purpose.

`http_kind` runs a test once per server that takes REST writes in a documented layout:
granian over WSGI (docs/deploy.md's production layout: `location /` in deploy/nginx.conf)
and Daphne (`make run`, the Procfile, and the websockets and MCP side of production).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator

import pytest

from tests.support.liveserver import Database, LiveServer

from .client import ApiAgent

WORKERS = ["worker-a", "worker-b", "worker-c", "worker-d"]
# The servers of deploy/: HTTP (the REST API) under WSGI, websockets and MCP under ASGI.
HTTP_KIND = "granian-wsgi"
LIVE_KIND = "daphne"


@pytest.fixture(params=[HTTP_KIND, LIVE_KIND])
def http_kind(request) -> str:
    """The server that takes the test's REST requests: each documented one in turn."""
    return request.param


@pytest.fixture
def start_server(live_db: Database, tmp_path) -> Iterator[Callable[..., LiveServer]]:
    """start_server(redis_url=<REDIS_URL or None>, kind="daphne", **env) -> a started
    LiveServer."""
    servers: list[LiveServer] = []

    def start(
        redis_url: str | None = os.environ.get("REDIS_URL") or None,
        kind: str = LIVE_KIND,
        **env: str,
    ):
        server = LiveServer(
            live_db,
            redis_url=redis_url,
            kind=kind,
            extra_env={"ALEPH_AGENT_THROTTLE_RATE": "off", **env},
            log_path=tmp_path / f"{kind}-{len(servers)}.log",
        )
        servers.append(server)
        return server.start()

    yield start
    for server in servers:
        server.stop()


class Tokens(dict[str, str]):
    """Bearer tokens by agent id; `create_agent` makes each agent the first time it is asked
    for (an arena's participants must exist before the arena is created)."""

    def __init__(self, database: Database) -> None:
        super().__init__()
        self.database = database

    def __missing__(self, agent_id: str) -> str:
        token = self[agent_id] = self.database.create_agent(agent_id)
        return token


@pytest.fixture
def tokens(live_db: Database) -> Tokens:
    return Tokens(live_db)


@pytest.fixture
def connect_agent() -> Iterator[Callable[[LiveServer, str], ApiAgent]]:
    """connect_agent(server, token) -> an ApiAgent, closed at the end of the test."""
    agents: list[ApiAgent] = []

    def make(server: LiveServer, token: str) -> ApiAgent:
        agent = ApiAgent(server, token)
        agents.append(agent)
        return agent

    yield make
    for agent in agents:
        agent.close()
