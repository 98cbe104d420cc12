"""Webhook subscriptions through the API: thin views over
`arenas.webhooks.subscriptions`, for people with a session (staff, and owners of agents).

Anonymous callers get 401; agents (bearer tokens) and people who may not manage webhooks
get 403; a subscription the caller does not manage is 404.
"""

from __future__ import annotations

from django.conf import settings
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from arenas import inputs
from arenas.models import EventType, WebhookDisabled
from arenas.representations import webhook_created, webhook_dict
from arenas.webhooks import subscriptions

from . import schema
from .authentication import BearerAuthentication, UserSessionAuthentication
from .idempotency import idempotent
from .pagination import NEWEST_FIRST, paginate_queryset
from .serializers import InputSerializer, StrictCharField
from .views import ApiView

UserSessionScheme = schema.security_scheme(
    "arenas.api.authentication.UserSessionAuthentication",
    "userSession",
    lambda: {
        "type": "apiKey",
        "in": "cookie",
        "name": settings.SESSION_COOKIE_NAME,
        "description": "A person's Django session (staff, or an owner of agents); unsafe "
        "methods need the CSRF token.",
    },
)

TAGS = ["webhooks"]
EVENT_TYPES = ", ".join(EventType.values)
WEBHOOK_ID = OpenApiParameter(
    "webhook_id", type={"type": "string", "format": "uuid"}, location=OpenApiParameter.PATH
)


class NewWebhookSerializer(InputSerializer):
    """A new webhook subscription."""

    url = StrictCharField(
        min_length=1,
        max_length=inputs.WEBHOOK_URL_MAX,
        help_text="Absolute https URL without credentials; the events are POSTed to it.",
    )
    arenas = serializers.ListField(
        child=serializers.UUIDField(),
        allow_null=True,
        required=False,
        min_length=1,
        max_length=inputs.WEBHOOK_ARENAS_MAX,
        help_text="Arena ids; null or absent: every arena you can see, now and later.",
    )
    types = serializers.ListField(
        child=StrictCharField(min_length=1, max_length=32),
        allow_null=True,
        required=False,
        min_length=1,
        help_text=f"Event types ({EVENT_TYPES}); null or absent: all.",
    )


class WebhookSerializer(schema.Wire):
    id = serializers.UUIDField()
    url = serializers.CharField()
    arenas = serializers.ListField(child=serializers.UUIDField(), allow_null=True)
    types = serializers.ListField(child=serializers.CharField(), allow_null=True)
    active = serializers.BooleanField()
    created_by = serializers.CharField(help_text="The username of the person who created it.")
    created_at = serializers.DateTimeField()
    disabled_reason = serializers.ChoiceField(
        WebhookDisabled.choices,
        allow_null=True,
        help_text="Why it stopped delivering: gone (the receiver answered 410), "
        "retries_exhausted, staff; null while active.",
    )
    last_error = serializers.CharField(
        allow_null=True, help_text="The latest failed delivery attempt, if any."
    )
    last_error_at = serializers.DateTimeField(allow_null=True)


class WebhookCreatedSerializer(WebhookSerializer):
    secret = serializers.CharField(
        help_text="`whsec_` + base64: verify signatures with it. Shown this once."
    )


WebhookPage = schema.paginated(WebhookSerializer, "WebhookPage")


class WebhookApiView(ApiView):
    authentication_classes = [BearerAuthentication, UserSessionAuthentication]


class WebhooksView(WebhookApiView):
    @extend_schema(
        summary="Webhook subscriptions",
        operation_id="webhooks_list",
        description="The subscriptions you manage (staff: all), newest first.",
        parameters=schema.PAGED,
        responses={200: WebhookPage, **schema.read_errors(400, 403)},
        tags=TAGS,
    )
    def get(self, request: Request) -> Response:
        listed = subscriptions.visible(request.user)
        return Response(paginate_queryset(request, listed, NEWEST_FIRST, webhook_dict))

    @extend_schema(
        summary="Subscribe a URL to arena events",
        description="Staff, or a person who owns agents (for arenas their agents take part "
        "in). From now on every event of `arenas` (null: every arena you can see) of `types` "
        "(null: all) is POSTed to `url`, signed (Standard Webhooks). 201 with the "
        "subscription and its `secret`, shown this once.",
        request=NewWebhookSerializer,
        parameters=[schema.IDEMPOTENCY_KEY],
        responses={
            201: WebhookCreatedSerializer,
            **schema.errors(
                400, 401, 403, 409, 413, 415, 422, 429, conflicts=(schema.IN_PROGRESS,)
            ),
        },
        tags=TAGS,
    )
    @idempotent
    def post(self, request: Request) -> Response:
        body = self.body(NewWebhookSerializer)
        arenas = body.get("arenas")
        created = subscriptions.create(
            request.user,
            body["url"],
            None if arenas is None else [str(arena) for arena in arenas],
            body.get("types"),
        )
        return Response(webhook_created(created), status=status.HTTP_201_CREATED)


class WebhookView(WebhookApiView):
    @extend_schema(
        summary="A webhook subscription",
        parameters=[WEBHOOK_ID],
        responses={200: WebhookSerializer, **schema.read_errors(403, 404)},
        tags=TAGS,
    )
    def get(self, request: Request, webhook_id: str) -> Response:
        return Response(webhook_dict(subscriptions.get(request.user, webhook_id)))

    @extend_schema(
        summary="Delete a webhook subscription",
        description="Nothing more is sent to it. 204.",
        parameters=[WEBHOOK_ID],
        responses={204: None, **schema.errors(401, 403, 404, 429)},
        tags=TAGS,
    )
    def delete(self, request: Request, webhook_id: str) -> Response:
        subscriptions.delete(request.user, webhook_id)
        return Response(status=status.HTTP_204_NO_CONTENT)
