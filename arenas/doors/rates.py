"""Per-agent rate limits: `settings.ALEPH_AGENT_THROTTLE_RATE` (a DRF rate such as
`1200/minute`, or `off`), read on every request. A caller over its rate gets 429 `throttled`
with `Retry-After`.

Counts live in Django's default cache, so they are per process unless CACHES points at a
shared cache (Redis) in production.

`agent_retry_after` counts a request of a door that is not a DRF view (the MCP server)
against the same rate, under the same key: an agent's REST and MCP requests share one
budget.
"""

from __future__ import annotations

import math
from types import SimpleNamespace

from django.conf import settings
from rest_framework.request import Request
from rest_framework.throttling import SimpleRateThrottle
from rest_framework.views import APIView

from arenas.models import Agent

from .access import AgentUser, agent_of

OFF = "off"


class AgentRateThrottle(SimpleRateThrottle):
    scope = "agent"

    def get_rate(self) -> str | None:
        rate = str(getattr(settings, "ALEPH_AGENT_THROTTLE_RATE", "") or "").strip()
        return None if rate.lower() in ("", OFF) else rate

    def get_cache_key(self, request: Request, view: APIView) -> str | None:
        user = request.user
        if user is None or not user.is_authenticated:
            return None
        agent = agent_of(user)
        ident = f"agent:{agent.agent_id}" if agent else f"staff:{user.pk}"
        return self.cache_format % {"scope": self.scope, "ident": ident}


def retry_after(wait: float | None) -> int:
    """The `Retry-After` header's seconds for a throttle's `wait()`: a whole number, at least 1."""
    return max(1, math.ceil(wait or 0))


def agent_retry_after(agent: Agent) -> int | None:
    """Count one request of `agent`: None when it is within its rate, else the seconds it
    should wait before retrying. DRF's throttle reads only `request.user` from the request."""
    throttle = AgentRateThrottle()
    if throttle.allow_request(SimpleNamespace(user=AgentUser(agent)), None):
        return None
    return retry_after(throttle.wait())
