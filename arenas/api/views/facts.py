"""Facts: an arena's shared facts, and long-term memory."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response

from arenas.api import schema, serializers
from arenas.api.idempotency import idempotent
from arenas.api.pagination import (
    OLDEST_FIRST,
    paginate_queryset,
)
from arenas.representations import (
    fact_dict,
)

from .base import ApiView, manager


class FactsView(ApiView):
    @extend_schema(
        summary="The arena's shared facts",
        operation_id="arenas_facts_list",
        description="Oldest first; `tag` matches one tag exactly, `q` is a case-insensitive "
        "substring of the content.",
        parameters=[
            schema.ARENA_ID,
            OpenApiParameter("tag", str, OpenApiParameter.QUERY),
            OpenApiParameter("q", str, OpenApiParameter.QUERY),
            *schema.PAGED,
        ],
        responses={200: schema.FactPage, **schema.read_errors(400, 404)},
        tags=["facts"],
    )
    def get(self, request: Request, id: str) -> Response:
        facts = self.handle.facts(request.query_params.get("tag"), request.query_params.get("q"))
        return Response(paginate_queryset(request, facts, OLDEST_FIRST, fact_dict))

    @schema.arena_write(
        "Share a fact",
        "`can_write_shared_memory`, arena active. `confidence` defaults to 1.0.",
        request=serializers.NewFactSerializer,
        responds=schema.FactSerializer,
        tags=["facts"],
        operation="share_fact",
    )
    @idempotent
    def post(self, request: Request, id: str) -> Response:
        fact = self.handle.share_fact(**self.body(serializers.NewFactSerializer))
        return Response(fact_dict(fact), status=status.HTTP_201_CREATED)


class MemoryFactsView(ApiView):
    @extend_schema(
        summary="Long-term memory",
        operation_id="facts_list",
        description="Facts of archived arenas the agent took part in (staff: all), oldest "
        "first; `tag` matches one tag exactly, `q` is a case-insensitive substring.",
        parameters=[
            OpenApiParameter("tag", str, OpenApiParameter.QUERY),
            OpenApiParameter("q", str, OpenApiParameter.QUERY),
            *schema.PAGED,
        ],
        responses={200: schema.FactPage, **schema.read_errors(400)},
        tags=["facts"],
    )
    def get(self, request: Request) -> Response:
        facts = manager.memory_facts(
            self.agent_id, request.query_params.get("tag"), request.query_params.get("q")
        )
        return Response(paginate_queryset(request, facts, OLDEST_FIRST, fact_dict))
