"""History: the arena at a seq, and forks from it."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response

from arenas.api import schema, serializers
from arenas.api.idempotency import idempotent
from arenas.api.pagination import (
    query_int,
)
from arenas.inputs import SEQ_MAX

from .base import ApiView, arena_response


class StateView(ApiView):
    @extend_schema(
        summary="The arena at a seq",
        description="The arena as it was right after event `at` (default: its newest): "
        "its fields and aggregate, participants, plan, live claims, open requests, "
        "artifacts (without content) and facts, all folded from the log. A renewed "
        "claim shows the `expires_at` it was claimed with; presence is not shown.",
        parameters=[
            schema.ARENA_ID,
            OpenApiParameter(
                "at",
                {"type": "integer", "minimum": 1},
                OpenApiParameter.QUERY,
                description="1 to the arena's last_seq.",
            ),
        ],
        responses={200: schema.StateSerializer, **schema.read_errors(400, 404)},
        tags=["history"],
    )
    def get(self, request: Request, id: str) -> Response:
        at = query_int(request, "at", 0, 1, SEQ_MAX)
        return Response(self.handle.state(at or None))


class ForkView(ApiView):
    @schema.arena_write(
        "Fork the arena",
        "Coordinators and staff, in any status: a new arena in `created` from this "
        "arena's state at seq `at` (its plan, lease, participants then, completed steps, "
        "copies of its artifacts and facts; no claims, no open requests), optionally with "
        "another `goal`. The fork's own log establishes that state after `arena_created` "
        "(which carries `forked_from`); this arena gets `arena_forked`. A forking agent "
        "that was not a participant then joins the fork as a coordinator. 201 with the "
        "fork.",
        request=serializers.ForkRequestSerializer,
        responds=schema.ArenaDetailSerializer,
        tags=["history"],
        operation="fork",
    )
    @idempotent
    def post(self, request: Request, id: str) -> Response:
        body = self.body(serializers.ForkRequestSerializer)
        fork = self.handle.fork(body["at"], body.get("goal"))
        return arena_response(self.handle_of(fork.pk), status.HTTP_201_CREATED)
