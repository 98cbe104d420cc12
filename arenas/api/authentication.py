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
from arenas.models import Agent

CHALLENGE = 'Bearer realm="api"'
NO_TOKEN = "Send an agent's token in the header `Authorization: Bearer <token>`."
BAD_TOKEN = "The bearer token is invalid or revoked."


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


class BearerAuthentication(authentication.BaseAuthentication):
    """`Authorization: Bearer <token>`: a missing header passes on to the next
    authenticator; a bearer header with a token that does not authenticate is a 401."""

    def authenticate(self, request: Request) -> tuple[AgentUser, None] | None:
        header = request.META.get("HTTP_AUTHORIZATION", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer":
            return None
        agent = agents.authenticate(token.strip())
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
