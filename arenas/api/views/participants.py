"""Participants: list, add, leave or remove."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response

from arenas.api import schema, serializers
from arenas.api.idempotency import idempotent
from arenas.api.pagination import (
    paginate_sorted,
)
from arenas.representations import (
    participant_dict,
)

from .base import ApiView


class ParticipantsView(ApiView):
    @extend_schema(
        summary="Current participants",
        operation_id="arenas_participants_list",
        description="Sorted by agent id.",
        parameters=[schema.ARENA_ID, *schema.PAGED],
        responses={200: schema.ParticipantPage, **schema.read_errors(400, 404)},
        tags=["participants"],
    )
    def get(self, request: Request, id: str) -> Response:
        current = self.handle.participants()
        return Response(paginate_sorted(request, current, lambda p: p.agent_id, participant_dict))

    @schema.arena_write(
        "Add a participant",
        "Coordinators, while the arena is created or active. The role's "
        "default permissions apply unless overridden. An agent that left joins again.",
        request=serializers.NewParticipantSerializer,
        responds=schema.ParticipantSerializer,
        tags=["participants"],
        operation="add_participant",
    )
    @idempotent
    def post(self, request: Request, id: str) -> Response:
        handle = self.handle
        new = self.body(serializers.NewParticipantSerializer)
        participant = handle.add_participant(new.pop("agent_id"), new.pop("role"), **new)
        return Response(participant_dict(participant), status=status.HTTP_201_CREATED)


class ParticipantView(ApiView):
    @schema.arena_delete(
        "Leave, or remove a participant",
        "Your own agent id leaves; a coordinator may remove anyone. The last coordinator "
        "cannot leave an arena that is not archived.",
        parameter=OpenApiParameter("agent_id", str, OpenApiParameter.PATH),
        tags=["participants"],
        invalid=True,
        operation="remove_participant",
    )
    def delete(self, request: Request, id: str, agent_id: str) -> Response:
        self.handle.remove_participant(agent_id)
        return Response(status=status.HTTP_204_NO_CONTENT)
