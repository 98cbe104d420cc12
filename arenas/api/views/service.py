"""The service and its agents: health, the calling agent, an agent's active arenas."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import permissions
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from arenas.api import schema
from arenas.api.authentication import agent_of
from arenas.api.bodies import JsonOnlyNegotiation
from arenas.errors import PermissionDenied
from arenas.representations import (
    me_dict,
)

from .base import ApiView, manager


class HealthView(APIView):
    authentication_classes: list = []
    permission_classes = [permissions.AllowAny]
    throttle_classes: list = []
    renderer_classes = [JSONRenderer]
    content_negotiation_class = JsonOnlyNegotiation

    @extend_schema(
        summary="Is the service up?",
        auth=[],
        responses={200: schema.HealthSerializer},
        tags=["service"],
    )
    def get(self, request: Request) -> Response:
        return Response({"status": "ok"})


class MeView(ApiView):
    @extend_schema(
        summary="The calling agent",
        description="Its id, display name and the ids of its active arenas (ascending).",
        responses={200: schema.MeSerializer, **schema.read_errors(403)},
        tags=["agents"],
    )
    def get(self, request: Request) -> Response:
        agent = agent_of(request.user)
        if agent is None:
            raise PermissionDenied("This endpoint is for agents; staff have no agent.")
        return Response(me_dict(agent, manager.unarchived_arena_ids(agent.agent_id)))


class AgentActiveArenasView(ApiView):
    @extend_schema(
        summary="An agent's active arenas",
        description="Every arena not archived in which the agent is a current participant, "
        "ascending by id. For that agent itself, or staff.",
        parameters=[OpenApiParameter("agent_id", str, OpenApiParameter.PATH)],
        responses={200: schema.ActiveArenasSerializer, **schema.read_errors(403, 404)},
        tags=["agents"],
    )
    def get(self, request: Request, agent_id: str) -> Response:
        arena_ids = manager.unarchived_arena_ids_if_allowed(agent_id, asked_by=self.agent_id)
        return Response({"arena_ids": [str(i) for i in arena_ids]})
