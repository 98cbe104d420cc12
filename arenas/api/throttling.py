"""Per-agent rate limits: `settings.ALEPH_AGENT_THROTTLE_RATE` (a DRF rate such as
`1200/minute`, or `off`), read on every request. A caller over its rate gets 429 `throttled`
with `Retry-After`.

Counts live in Django's default cache, so they are per process unless CACHES points at a
shared cache (Redis) in production.
"""

from __future__ import annotations

from django.conf import settings
from rest_framework.request import Request
from rest_framework.throttling import SimpleRateThrottle
from rest_framework.views import APIView

from .authentication import agent_of

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
