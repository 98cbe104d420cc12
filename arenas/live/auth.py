"""Who is on the other end of a websocket, and whether the handshake may go on.

Two ways in:
- Agents send `Authorization: Bearer <token>` in the handshake. They need no `Origin`: a
  bearer token cannot be sent by a foreign web page, so there is nothing to forge.
- Browsers send their session cookie, whose user is found as Django's own
  `AuthenticationMiddleware` finds it. A cookie is sent by the browser whatever page opened
  the socket, so a cookie handshake is accepted only when its `Origin` names an allowed
  host (`ALLOWED_HOSTS` semantics, as Django applies them to `Host`). A cookie handshake
  without `Origin` is refused too: every browser sends one, so its absence means a
  non-browser client, which should use a bearer token.

An `Authorization` header decides alone: a bad token is a 4401 even when a valid session
cookie comes with it (and the session is not read). Credentials are checked once, at the
handshake; a token revoked later takes effect when the socket reconnects. The lookups run on
the live side's database threads (`db.in_thread`). The bearer header is read, and
`Origin` checked, as every door does (`arenas/doors/access.py`).
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import import_module
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user
from django.http import HttpRequest
from django.http.cookie import parse_cookie

from arenas import agents
from arenas.doors.access import bearer_token, origin_allowed
from arenas.stream.db import in_thread

UNAUTHENTICATED = 4401
FORBIDDEN = 4403
NOT_FOUND = 4404
INVALID = 4400


class Refusal(Exception):
    """The handshake is refused: the consumer accepts, then closes with `code`.
    `reason` (an error code) travels as the close frame's reason."""

    def __init__(self, code: int, reason: str) -> None:
        super().__init__(f"{code} {reason}")
        self.code = code
        self.reason = reason


@dataclass(frozen=True)
class Viewer:
    """An authenticated client: exactly one of an agent id or a Django user."""

    agent_id: str | None = None
    user: Any = None

    @property
    def is_agent(self) -> bool:
        return self.agent_id is not None

    @property
    def is_staff(self) -> bool:
        return self.user is not None and self.user.is_staff


def header(scope: dict[str, Any], name: bytes) -> str | None:
    """The first value of a handshake header (ASGI names are lower-case bytes)."""
    for key, value in scope.get("headers", ()):
        if key == name:
            return value.decode("latin-1")
    return None


async def identify(scope: dict[str, Any]) -> Viewer:
    """The viewer of this handshake, or Refusal(4401) / Refusal(4403)."""
    authorization = header(scope, b"authorization")
    if authorization is not None:
        token = bearer_token(authorization)
        if not token:
            raise Refusal(UNAUTHENTICATED, "not_authenticated")
        agent = await in_thread(agents.authenticate, token)
        if agent is None:
            raise Refusal(UNAUTHENTICATED, "not_authenticated")
        return Viewer(agent_id=agent.agent_id)
    session_key = parse_cookie(header(scope, b"cookie") or "").get(settings.SESSION_COOKIE_NAME)
    user = await in_thread(session_user, session_key) if session_key else None
    if user is None or not user.is_authenticated:
        raise Refusal(UNAUTHENTICATED, "not_authenticated")
    if not origin_allowed(header(scope, b"origin")):
        raise Refusal(FORBIDDEN, "permission_denied")
    return Viewer(user=user)


def session_user(session_key: str) -> Any:
    """The user signed in to the session `session_key` (AnonymousUser for none, an expired
    one, or one whose password has changed since), as Django's `AuthenticationMiddleware`
    finds it."""
    request = HttpRequest()
    request.session = import_module(settings.SESSION_ENGINE).SessionStore(session_key)
    return get_user(request)
