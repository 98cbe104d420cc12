"""The base of every view of the agent API (`ApiView`), and the arena's version as an
ETag (`If-Match`)."""

from __future__ import annotations

import re
from typing import Any

from django.utils.http import parse_etags
from rest_framework import permissions, status
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from arenas.api import serializers
from arenas.api.authentication import BearerAuthentication, StaffSessionAuthentication, agent_of
from arenas.api.bodies import JsonOnlyNegotiation, StrictJSONParser, read_body
from arenas.doors.rates import AgentRateThrottle
from arenas.errors import TRANSIENT_DATABASE_ERRORS, NotFound
from arenas.handle import ArenaHandle
from arenas.manager import ArenaManager

manager = ArenaManager()


_SEQ = re.compile(r"[0-9]{1,19}")


class ApiView(APIView):
    """An agent API endpoint: bearer token or staff session, per-agent throttling, JSON in
    and out, a body limit on writes, and `Idempotency-Key` on every POST."""

    authentication_classes = [BearerAuthentication, StaffSessionAuthentication]
    permission_classes = [permissions.IsAuthenticated]
    throttle_classes = [AgentRateThrottle]
    parser_classes = [StrictJSONParser]
    renderer_classes = [JSONRenderer]
    content_negotiation_class = JsonOnlyNegotiation

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        post = cls.__dict__.get("post")
        if post is not None and not getattr(post, "idempotent", False):
            raise TypeError(f"{cls.__name__}.post must be decorated with @idempotent")

    handle: ArenaHandle | None = None

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        """Authenticate and throttle, then build the caller's handle on the arena the path
        names, and only then read the body: whatever goes wrong from here on (a malformed or
        oversized body, a bad query parameter or Idempotency-Key) is reported only once the
        caller is known to see the arena (`handle_exception`)."""
        super().initial(request, *args, **kwargs)
        if "id" in kwargs:
            self.handle = self.handle_of(kwargs["id"])
        if request.method in ("POST", "PUT", "PATCH"):
            read_body(request)

    def body(self, serializer_class: type[serializers.InputSerializer]) -> dict[str, Any]:
        return serializers.validated(serializer_class, self.request.data)

    @property
    def agent_id(self) -> str | None:
        """The calling agent's id; None for staff."""
        agent = agent_of(self.request.user)
        return agent.agent_id if agent else None

    def handle_of(self, arena_id: Any) -> ArenaHandle:
        """The caller's handle on an arena: a participant's, or a staff user's. Visibility
        is checked by the handle's operation itself (under the row lock for writes)."""
        if self.agent_id is not None:
            return manager.handle(arena_id, self.agent_id, check_now=False)
        return manager.staff_handle(arena_id, self.request.user.get_username(), check_now=False)

    def handle_exception(self, exc: Exception) -> Response:
        """A refusal that came before the handle checked visibility becomes 404 for a
        caller who cannot see the arena: visibility comes before everything else."""
        handle = self.handle
        if (
            handle is not None
            and not handle.visibility_known
            and not isinstance(exc, (NotFound, *TRANSIENT_DATABASE_ERRORS))
        ):
            try:
                handle.require_visible()
            except NotFound as not_found:
                exc = not_found
        return super().handle_exception(exc)


def etag(detail: dict[str, Any]) -> str:
    """The arena's version as a strong ETag: its id and the seq of its newest event."""
    return f'"{detail["id"]}-{detail["last_seq"]}"'


def arena_response(handle: ArenaHandle, status_code: int = status.HTTP_200_OK) -> Response:
    detail = handle.detail()
    return Response(detail, status=status_code, headers={"ETag": etag(detail)})


def if_match_seqs(request: Request, arena_id: Any) -> set[int] | None:
    """The `last_seq` values an `If-Match` header accepts; None when any version will do
    (no header, or `*`). Weak tags never match (RFC 9110 strong comparison)."""
    header = request.headers.get("If-Match")
    if header is None:
        return None
    tags = parse_etags(header)
    if tags == ["*"]:
        return None
    seqs = set()
    for tag in tags:
        if tag.startswith("W/"):
            continue
        tag_arena, _, seq = tag.strip('"').rpartition("-")
        if tag_arena == str(arena_id) and _SEQ.fullmatch(seq):
            seqs.add(int(seq))
    return seqs
