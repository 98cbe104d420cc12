"""Arenas: list, create, read, update, lifecycle transitions, aggregate."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response

from arenas import operations
from arenas.api import schema, serializers
from arenas.api.bodies import ExactJSONParser
from arenas.api.idempotency import idempotent
from arenas.api.pagination import (
    NEWEST_FIRST,
    paginate_queryset,
)
from arenas.models import Status
from arenas.representations import (
    arena_fields,
)

from .base import ApiView, arena_response, if_match_seqs, manager


class ArenaListView(ApiView):
    parser_classes = [ExactJSONParser]

    @extend_schema(
        summary="Your arenas",
        operation_id="arenas_list",
        description="Arenas you are a current participant of (staff: all), newest first.",
        parameters=[
            OpenApiParameter("status", str, OpenApiParameter.QUERY, enum=Status.values),
            *schema.PAGED,
        ],
        responses={200: schema.ArenaPage, **schema.read_errors(400)},
        tags=["arenas"],
    )
    def get(self, request: Request) -> Response:
        wanted = request.query_params.get("status")
        if self.agent_id is not None:
            arenas = manager.current_arenas(self.agent_id, wanted)
        else:
            arenas = manager.arenas_for_user(request.user, wanted)
        return Response(paginate_queryset(request, arenas, NEWEST_FIRST, arena_fields))

    @extend_schema(
        summary="Create an arena",
        description="From an ArenaConfig. The calling agent becomes its first coordinator; "
        "`participants` are added after it (unknown agent ids are a 400).",
        request=serializers.ArenaConfigSerializer,
        parameters=[schema.IDEMPOTENCY_KEY, schema.REPLAYED, schema.ETAG],
        responses={201: schema.ArenaDetailSerializer, **schema.write_errors()},
        tags=["arenas"],
    )
    @idempotent
    def post(self, request: Request) -> Response:
        config = self.body(serializers.ArenaConfigSerializer)
        arena_id = manager.create(config, created_by=self.agent_id)
        return arena_response(self.handle_of(arena_id), status.HTTP_201_CREATED)


class ArenaDetailView(ApiView):
    parser_classes = [ExactJSONParser]

    @extend_schema(
        summary="An arena",
        description="With its current participants, aggregate, allowed transitions and "
        "`you` (your role and permissions). The `ETag` changes with every event.",
        parameters=[schema.ARENA_ID, schema.ETAG],
        responses={200: schema.ArenaDetailSerializer, **schema.read_errors(404)},
        tags=["arenas"],
    )
    def get(self, request: Request, id: str) -> Response:
        return arena_response(self.handle)

    @extend_schema(
        summary="Update the goal or the budget",
        description="Coordinators and staff. `goal` while the arena is created or active; "
        "`budget` (a full replacement, null removes it) until it is archived, appending "
        "`budget_changed`. With `If-Match`, only if the arena is still at that version.",
        request=serializers.ArenaUpdateSerializer,
        parameters=[schema.ARENA_ID, schema.IF_MATCH, schema.ETAG],
        responses={
            200: schema.ArenaDetailSerializer,
            **schema.errors(
                400,
                401,
                403,
                404,
                409,
                412,
                413,
                415,
                429,
                conflicts=operations.conflicts("update_goal", "change_budget"),
            ),
        },
        tags=["arenas"],
    )
    def patch(self, request: Request, id: str) -> Response:
        handle = self.handle
        changes = self.body(serializers.ArenaUpdateSerializer)
        handle.update(changes, expected_seqs=if_match_seqs(request, handle.arena_id))
        return arena_response(handle)


class ArenaLifecycleView(ApiView):
    """POST activate / settle / archive: the one transition each names."""

    lifecycle_action = ""

    @extend_schema(
        summary="Lifecycle transition",
        description="Coordinators: activate (created → active), settle (active → "
        "settling), archive (settling → archived, which persists facts to long-term "
        "memory and stores `settle_report`). Any other transition is 409 "
        "`invalid_transition` with `current`, `requested` and `allowed`.",
        request=None,
        parameters=[schema.ARENA_ID, schema.IDEMPOTENCY_KEY, schema.REPLAYED, schema.ETAG],
        responses={
            200: schema.ArenaDetailSerializer,
            **schema.write_errors(*operations.conflicts("act")),
        },
        tags=["arenas"],
    )
    @idempotent
    def post(self, request: Request, id: str) -> Response:
        handle = self.handle
        self.body(serializers.NoBodySerializer)
        handle.act(self.lifecycle_action)
        return arena_response(handle)


class AggregateView(ApiView):
    @extend_schema(
        summary="The arena's aggregate",
        parameters=[schema.ARENA_ID],
        responses={200: schema.AggregateSerializer, **schema.read_errors(404)},
        tags=["arenas"],
    )
    def get(self, request: Request, id: str) -> Response:
        return Response(self.handle.aggregate().as_dict())
