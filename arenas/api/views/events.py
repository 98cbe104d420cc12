"""The log: reading events, posting messages."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response

from arenas.api import schema, serializers
from arenas.api.idempotency import idempotent
from arenas.api.pagination import (
    query_int,
    query_limit,
)
from arenas.events import to_wire
from arenas.inputs import SEQ_MAX

from .base import ApiView


class EventsView(ApiView):
    @extend_schema(
        summary="The arena's events",
        operation_id="arenas_events_list",
        description="Events with `seq > after`, in seq order, at most `limit`. Continue "
        "with `after=next_after` until `next_after` is null.",
        parameters=[schema.ARENA_ID, schema.after(SEQ_MAX), schema.LIMIT],
        responses={200: schema.EventsPageSerializer, **schema.read_errors(400, 404)},
        tags=["events"],
    )
    def get(self, request: Request, id: str) -> Response:
        handle = self.handle
        after = query_int(request, "after", 0, 0, SEQ_MAX)
        page = handle.events(after, query_limit(request))
        last_seq = handle.arena().last_seq
        more = bool(page) and page[-1].seq < last_seq
        return Response(
            {
                "events": [to_wire(event) for event in page],
                "last_seq": last_seq,
                "next_after": page[-1].seq if more else None,
            }
        )


class MessagesView(ApiView):
    @schema.arena_write(
        "Post a message",
        "Participants other than observers, until the arena is archived. Every "
        "participant sees it on the feed; `to` addresses one of them. 201 with the "
        "`message_posted` event.",
        request=serializers.NewMessageSerializer,
        responds=schema.EventSerializer,
        tags=["events"],
        operation="post_message",
    )
    @idempotent
    def post(self, request: Request, id: str) -> Response:
        handle = self.handle
        message = self.body(serializers.NewMessageSerializer)
        event = handle.post_message(message["text"], message.get("to"))
        return Response(to_wire(event), status=status.HTTP_201_CREATED)
