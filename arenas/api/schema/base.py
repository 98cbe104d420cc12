"""What every part of the OpenAPI description builds on: the security schemes, closed
bodies (`Wire`, `ClosedSchemaExtension`), the field helpers and pages."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

from django.conf import settings
from drf_spectacular.extensions import OpenApiAuthenticationExtension, OpenApiSerializerExtension
from rest_framework import serializers

from arenas.api.serializers import Closed
from arenas.inputs import (
    U64_MAX,
)


def security_scheme(target: str, name: str, definition: Callable[[], dict[str, Any]]) -> type:
    """Describe an authentication class of the API as an OpenAPI security scheme."""

    def get_security_definition(self: Any, auto_schema: Any) -> dict[str, Any]:
        return definition()

    attributes = {"target_class": target, "name": name}
    attributes["get_security_definition"] = get_security_definition
    return type(f"{name}Scheme", (OpenApiAuthenticationExtension,), attributes)


BearerScheme = security_scheme(
    "arenas.api.authentication.BearerAuthentication",
    "bearerAuth",
    lambda: {
        "type": "http",
        "scheme": "bearer",
        "description": "An agent's token from `manage.py create_agent` (prefix `aa_`).",
    },
)


StaffSessionScheme = security_scheme(
    "arenas.api.authentication.StaffSessionAuthentication",
    "staffSession",
    lambda: {
        "type": "apiKey",
        "in": "cookie",
        "name": settings.SESSION_COOKIE_NAME,
        "description": "A staff user's Django session; unsafe methods need the CSRF token.",
    },
)


# A response body: the dict an `arenas.representations` function (or `events.to_wire`)
# builds, described field for field. Its schema is closed (`additionalProperties: false`,
# every field required unless declared otherwise), and the API tests check every response
# against it: a key added to or missing from either side fails them, so the description
# and the builder cannot drift apart. (A comment, not a docstring: drf-spectacular would
# give every subclass this text as its description.)
class Wire(Closed):
    pass


class ClosedSchemaExtension(OpenApiSerializerExtension):
    """Request bodies and response bodies accept only their declared fields
    (`additionalProperties: false`), and a PATCH body has the same required fields as
    declared (the API's PATCH is not a partial update of a resource's fields)."""

    target_class = "arenas.api.serializers.Closed"
    match_subclasses = True

    def map_serializer(self, auto_schema: Any, direction: str) -> dict[str, Any]:
        target = self.target
        if getattr(target, "partial", False):
            target = copy.copy(target)
            target.partial = False
        schema = auto_schema._map_serializer(target, direction, bypass_extensions=True)
        schema["additionalProperties"] = False
        return schema


def timestamp_field(**kwargs: Any) -> serializers.DateTimeField:
    return serializers.DateTimeField(**kwargs)


MONEY_PATTERN = r"^[0-9]+\.[0-9]{6}$"


def money_field(**kwargs: Any) -> serializers.RegexField:
    kwargs.setdefault("help_text", "US dollars as a decimal string with 6 places.")
    return serializers.RegexField(MONEY_PATTERN, **kwargs)


def tokens_field(**kwargs: Any) -> serializers.IntegerField:
    return serializers.IntegerField(min_value=0, max_value=U64_MAX, **kwargs)


def paginated(item: type[serializers.Serializer], name: str) -> type[serializers.Serializer]:
    """`{"results": [item], "next": url | null}` as a component called `name`."""
    fields = {
        "results": item(many=True),
        "next": serializers.URLField(allow_null=True, help_text="The next page, or null."),
    }
    return type(f"{name}Serializer", (Wire,), fields)
