"""Access checks every door makes the same way.

- `bearer_token`: the token of an `Authorization: Bearer <token>` header. One reading for
  the REST API, the websocket handshake and MCP: the header starts with the scheme (any
  case), then one space, then the token, whose surrounding whitespace is dropped. A header
  with leading whitespace or another scheme carries no bearer token; a bearer header with
  nothing after the scheme carries an empty one, which authenticates no one.
- `host_allowed`, `origin_allowed`: `ALLOWED_HOSTS`, as Django applies it to `Host`.
- `AgentUser`, `agent_of`: the caller that is an agent (REST's `request.user`).
- `error_body`: an error in the service's format, `{"error": code, "detail": ...}`.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.http.request import split_domain_port, validate_host

from arenas.errors import printable
from arenas.models import Agent

# The challenge of a request without a valid bearer token (REST and MCP).
CHALLENGE = 'Bearer realm="api"'
NO_TOKEN = "Send an agent's token in the header `Authorization: Bearer <token>`."
BAD_TOKEN = "The bearer token is invalid or revoked."

# Django's own fallback when DEBUG is on and ALLOWED_HOSTS is empty.
DEBUG_HOSTS = [".localhost", "127.0.0.1", "[::1]"]


def bearer_token(authorization: str | None) -> str | None:
    """The token of an `Authorization` header's value: None when there is no header or it
    names another scheme (or starts with whitespace); "" for a bearer header without a
    token."""
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() != "bearer":
        return None
    return token.strip()


def origin_allowed(origin: str | None) -> bool:
    """True when `origin` is an http(s) origin whose host passes ALLOWED_HOSTS."""
    if not origin:
        return False
    try:
        parts = urlsplit(origin)
    except ValueError:
        return False
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return False
    return host_allowed(parts.netloc)


def host_allowed(host: str | None) -> bool:
    """True when `host` (a `Host` header's value, or an origin's host[:port]) passes
    ALLOWED_HOSTS, as Django decides it for requests it serves."""
    domain, _port = split_domain_port(host or "")
    allowed = settings.ALLOWED_HOSTS or (DEBUG_HOSTS if settings.DEBUG else [])
    return bool(domain) and validate_host(domain, allowed)


class AgentUser:
    """`request.user` for a request authenticated by an agent's bearer token."""

    is_authenticated = True
    is_anonymous = False
    is_active = True
    is_staff = False

    def __init__(self, agent: Agent) -> None:
        self.agent = agent

    @property
    def agent_id(self) -> str:
        return self.agent.agent_id

    def __str__(self) -> str:
        return self.agent_id


def agent_of(user: Any) -> Agent | None:
    """The agent behind `request.user`, or None for staff."""
    return user.agent if isinstance(user, AgentUser) else None


def error_body(code: str, detail: str, **extra: Any) -> dict[str, Any]:
    """An error in the service's format: its code and a sentence for a person."""
    return {"error": code, "detail": printable(detail), **extra}
