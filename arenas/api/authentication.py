"""Who is calling the API: an agent with a bearer token, or a staff user with a session.

`request.user` is an `AgentUser` for an agent and the Django user for staff. Anything else
(no credentials, a revoked token, a non-staff session) is unauthenticated, which the views
answer with 401 and `WWW-Authenticate: Bearer realm="api"`: DRF only answers 401 when the
first authenticator names a challenge, so `BearerAuthentication` comes first.
"""

from __future__ import annotations

from typing import Any

from rest_framework import authentication, exceptions
from rest_framework.request import Request

from arenas import agents
from arenas.doors.access import BAD_TOKEN, CHALLENGE, NO_TOKEN, AgentUser, agent_of, bearer_token

__all__ = ["BAD_TOKEN", "CHALLENGE", "NO_TOKEN", "AgentUser", "agent_of"]


class BearerAuthentication(authentication.BaseAuthentication):
    """`Authorization: Bearer <token>`: a missing header passes on to the next
    authenticator; a bearer header with a token that does not authenticate is a 401."""

    def authenticate(self, request: Request) -> tuple[AgentUser, None] | None:
        token = bearer_token(request.META.get("HTTP_AUTHORIZATION"))
        if token is None:
            return None
        agent = agents.authenticate(token)
        if agent is None:
            raise exceptions.AuthenticationFailed(BAD_TOKEN)
        return AgentUser(agent), None

    def authenticate_header(self, request: Request) -> str:
        return CHALLENGE


class StaffSessionAuthentication(authentication.SessionAuthentication):
    """Django's session, for staff only, with CSRF enforced on unsafe methods."""

    def authenticate(self, request: Request) -> tuple[Any, None] | None:
        user = getattr(request._request, "user", None)
        if user is None or not user.is_active or not user.is_staff:
            return None
        return super().authenticate(request)


class UserSessionAuthentication(authentication.SessionAuthentication):
    """Django's session, for any active person (staff or not), with CSRF enforced on unsafe
    methods: the webhook endpoints, which an agent's owner may use too."""
