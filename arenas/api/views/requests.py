"""Requests for people: an arena's (ask, answer, cancel) and those of all your arenas."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response

from arenas.api import schema, serializers
from arenas.api.idempotency import idempotent
from arenas.api.pagination import (
    NEWEST_FIRST,
    paginate_queryset,
)
from arenas.models import RequestStatus
from arenas.representations import (
    request_dict,
)

from .base import ApiView, manager


class RequestsView(ApiView):
    @extend_schema(
        summary="The arena's requests for people",
        operation_id="arenas_requests_list",
        description="Every question and review of the arena, newest first; `status` "
        "narrows to open, answered or cancelled ones.",
        parameters=[
            schema.ARENA_ID,
            OpenApiParameter("status", str, OpenApiParameter.QUERY, enum=RequestStatus.values),
            *schema.PAGED,
        ],
        responses={200: schema.RequestPage, **schema.read_errors(400, 404)},
        tags=["requests"],
    )
    def get(self, request: Request, id: str) -> Response:
        listed = self.handle.requests(request.query_params.get("status"))
        return Response(paginate_queryset(request, listed, NEWEST_FIRST, request_dict))

    @schema.arena_write(
        "Ask people",
        "A participant other than an observer, until the arena is archived: a question for "
        "a person (staff, or a coordinator other than you), with `choices` to pick from or "
        "a free answer, about a `step` or not. 201 with the request; the answer reaches your "
        "feed as `input_provided`.",
        request=serializers.NewRequestSerializer,
        responds=schema.RequestSerializer,
        tags=["requests"],
        operation="ask",
    )
    @idempotent
    def post(self, request: Request, id: str) -> Response:
        body = self.body(serializers.NewRequestSerializer)
        asked = self.handle.ask(body["text"], body.get("choices"), body.get("step"))
        return Response(request_dict(asked), status=status.HTTP_201_CREATED)


class RequestAnswerView(ApiView):
    @schema.arena_write(
        "Answer a request",
        "Staff, or a coordinator other than the asker: `choice` (one of the request's "
        "choices, required when it has some) and `text` (required for a free answer). 200 "
        "with the request; appends `input_provided`. Approving a review then completes its "
        "step (`step_completed`, needs an active arena); rejecting leaves it open. 409 "
        "`request_closed` when it is already answered or cancelled.",
        request=serializers.NewAnswerSerializer,
        responds=schema.RequestSerializer,
        status=200,
        parameters=(schema.REQUEST_ID,),
        tags=["requests"],
        operation="answer_request",
    )
    @idempotent
    def post(self, request: Request, id: str, request_id: str) -> Response:
        body = self.body(serializers.NewAnswerSerializer)
        answered = self.handle.answer_request(request_id, body.get("choice"), body.get("text"))
        return Response(request_dict(answered))


class RequestView(ApiView):
    @schema.arena_delete(
        "Cancel a request",
        "The agent that asked: 204; appends `input_cancelled`. A cancelled review leaves its "
        "step open. 409 `request_closed` when it is already closed.",
        parameter=schema.REQUEST_ID,
        tags=["requests"],
        operation="cancel_request",
    )
    def delete(self, request: Request, id: str, request_id: str) -> Response:
        self.handle.cancel_request(request_id)
        return Response(status=status.HTTP_204_NO_CONTENT)


class AllRequestsView(ApiView):
    @extend_schema(
        summary="Requests of your arenas",
        operation_id="requests_list",
        description="The requests of every arena you take part in (staff: all), newest "
        "first; `status=open` for what waits for a person.",
        parameters=[
            OpenApiParameter("status", str, OpenApiParameter.QUERY, enum=RequestStatus.values),
            *schema.PAGED,
        ],
        responses={200: schema.RequestPage, **schema.read_errors(400)},
        tags=["requests"],
    )
    def get(self, request: Request) -> Response:
        listed = manager.requests_for(self.agent_id, request.query_params.get("status"))
        return Response(paginate_queryset(request, listed, NEWEST_FIRST, request_dict))
