"""The OpenAPI description of the API: response shapes, errors, headers and security.

The serializers here are never used to build a response: responses come from
`arenas.representations` and `events.to_wire`. They describe those dicts for
drf-spectacular, field for field; the API tests and the schemathesis run check every
response against this description.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

from django.conf import settings
from drf_spectacular.extensions import OpenApiAuthenticationExtension, OpenApiSerializerExtension
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    PolymorphicProxySerializer,
    extend_schema,
)
from rest_framework import serializers

from arenas import lifecycle
from arenas.agents import PRESENCES
from arenas.events import FIELDS as EVENT_FIELDS
from arenas.inputs import (
    LEASE_MAX,
    LEASE_MIN,
    MODEL_NAME_MAX,
    PAGE_DEFAULT,
    PAGE_MAX,
    U32_MAX,
    U64_MAX,
)
from arenas.models import (
    ArtifactKind,
    EventType,
    RequestKind,
    RequestStatus,
    Role,
    SlotStatus,
    Status,
    Strategy,
)
from arenas.permissions import PERMISSIONS

from . import idempotency
from .authentication import CHALLENGE
from .serializers import Closed

# --- security ----------------------------------------------------------------------------


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


# --- errors ------------------------------------------------------------------------------


class ErrorSerializer(Wire):
    """Every error: a code, a sentence for a person and, for `invalid`, the fields."""

    error = serializers.CharField(help_text="The error code, e.g. `invalid`, `not_found`.")
    detail = serializers.CharField()
    fields = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()),
        required=False,
        help_text="`invalid` only: each field (e.g. `plan[1].title`) with its messages.",
    )
    current = serializers.ChoiceField(Status.choices, required=False)
    requested = serializers.CharField(required=False)
    allowed = serializers.ListField(child=serializers.ChoiceField(Status.choices), required=False)
    waiting_for = serializers.ListField(
        child=serializers.IntegerField(),
        required=False,
        help_text="`step_blocked` only: the steps still to complete first.",
    )
    holder = serializers.CharField(
        required=False, help_text="`step_claimed` only: the agent holding the step."
    )
    claim_id = serializers.IntegerField(
        required=False,
        help_text="`step_claimed`: the holder's claim; `claim_lost`: the claim named.",
    )
    expires_at = serializers.DateTimeField(
        required=False, help_text="`step_claimed` only: when the holder's lease ends."
    )
    scope = serializers.CharField(
        required=False, help_text="`budget_exhausted` only: `arena`, or the agent id."
    )
    limit = serializers.JSONField(
        required=False,
        help_text="`budget_exhausted` only: the limit reached (dollars as a string, or tokens).",
    )
    spent = serializers.JSONField(
        required=False, help_text="`budget_exhausted` only: what the scope spent against it."
    )


ERROR_TEXT = {
    400: "`invalid`: malformed JSON, a wrong type or value (see `fields`), a bad query "
    "parameter or Idempotency-Key.",
    401: "`not_authenticated`: no valid bearer token (header `WWW-Authenticate`).",
    403: "`permission_denied`: your role or permissions do not allow this.",
    404: "`not_found`: no such arena (or you are not a participant), or no such object.",
    412: "`precondition_failed`: `If-Match` names an older version of the arena.",
    413: "`payload_too_large`: the body is larger than the server's limit.",
    415: "`unsupported_media_type`: send `Content-Type: application/json`.",
    422: "`idempotency_key_reused`: this Idempotency-Key was used with another request.",
    429: "`throttled`: over the rate limit; retry after `Retry-After` seconds.",
}
IN_PROGRESS = "idempotency_in_progress"


def errors(*statuses: int, conflicts: tuple[str, ...] = ()) -> dict[int, OpenApiResponse]:
    """Documented error responses; `conflicts` are the operation's 409 codes."""
    texts = {**ERROR_TEXT, 409: "; ".join(f"`{code}`" for code in conflicts)}
    return {s: OpenApiResponse(ErrorSerializer, description=texts[s]) for s in statuses}


ERROR_HEADERS = {
    "401": {
        "WWW-Authenticate": {
            "schema": {"type": "string", "enum": [CHALLENGE]},
            "required": True,
            "description": "The challenge: send an agent's bearer token.",
        }
    },
    "429": {
        "Retry-After": {
            "schema": {"type": "integer", "minimum": 1},
            "required": True,
            "description": "Seconds to wait before the next request.",
        }
    },
}


UNAVAILABLE = (
    "`unavailable`: the database failed for a moment (nothing was applied); send the same "
    "request again after `Retry-After` seconds, with the same Idempotency-Key."
)


def add_error_headers(result: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    """drf-spectacular postprocessing hook: every 401 names its challenge and every 429
    its Retry-After; every operation that answers errors may answer 503 `unavailable`
    (arenas/errors.py), with its Retry-After."""
    for item in result.get("paths", {}).values():
        for operation in item.values():
            responses = operation.get("responses", {})
            error = responses.get("429") or responses.get("401")
            if error is not None and "content" in error:
                responses["503"] = {"description": UNAVAILABLE, "content": error["content"]}
                responses["503"]["headers"] = dict(ERROR_HEADERS["429"])
            for status, headers in ERROR_HEADERS.items():
                response = operation.get("responses", {}).get(status)
                if response is not None:
                    response.setdefault("headers", {}).update(headers)
    return result


def read_errors(*extra: int) -> dict[int, OpenApiResponse]:
    """A GET's errors: 401, 429 and `extra`."""
    return errors(*sorted({401, 429, *extra}))


def write_errors(*conflicts: str, extra: tuple[int, ...] = ()) -> dict[int, OpenApiResponse]:
    """A POST's errors: body, auth, permission, arena, idempotency and rate errors."""
    statuses = sorted({400, 401, 403, 404, 409, 413, 415, 422, 429, *extra})
    return errors(*statuses, conflicts=(*conflicts, IN_PROGRESS))


SLOT_CONFLICTS = ("arena_not_active", "arena_archived")


def arena_write(
    summary: str,
    description: str,
    *,
    request: Any,
    responds: Any,
    tags: list[str],
    status: int = 201,
    conflicts: tuple[str, ...] = SLOT_CONFLICTS,
    parameters: tuple[Any, ...] = (),
    also: dict[int, Any] | None = None,
) -> Any:
    """The OpenAPI description of a POST on one arena: the arena's id, Idempotency-Key,
    the answer `responds` with `status` (and the other answers `also`), and every write
    error with the 409 `conflicts`."""
    return extend_schema(
        summary=summary,
        description=description,
        request=request,
        parameters=[ARENA_ID, IDEMPOTENCY_KEY, REPLAYED, *parameters],
        responses={status: responds, **(also or {}), **write_errors(*conflicts)},
        tags=tags,
    )


def arena_delete(
    summary: str,
    description: str,
    *,
    parameter: OpenApiParameter,
    conflicts: tuple[str, ...],
    tags: list[str],
    invalid: bool = False,
) -> Any:
    """The OpenAPI description of a DELETE of something of one arena (named by the path
    `parameter`): 204, or the errors with the 409 `conflicts` (and 400 when `invalid`)."""
    statuses = (400,) if invalid else ()
    return extend_schema(
        summary=summary,
        description=description,
        parameters=[ARENA_ID, parameter],
        responses={
            204: None,
            **errors(*statuses, 401, 403, 404, 409, 429, conflicts=(*conflicts, "arena_archived")),
        },
        tags=tags,
    )


STEP_NUMBER = OpenApiParameter(
    "step",
    type={"type": "integer", "minimum": 1, "maximum": U32_MAX},
    location=OpenApiParameter.PATH,
)
CLAIM_ID = OpenApiParameter(
    "claim_id",
    type={"type": "integer", "minimum": 1},
    location=OpenApiParameter.PATH,
    description="The claim's id: the seq of its step_claimed event.",
)
REQUEST_ID = OpenApiParameter(
    "request_id", type={"type": "string", "format": "uuid"}, location=OpenApiParameter.PATH
)
CLAIM_CONFLICTS = (
    "step_claimed",
    "step_already_completed",
    "step_blocked",
    "budget_exhausted",
    *SLOT_CONFLICTS,
)


# --- headers and parameters ----------------------------------------------------------------


def header(name: str, schema: Any, description: str, **options: Any) -> OpenApiParameter:
    """A request header (or with `response=...` a response header) of the API."""
    options.setdefault("required", False)
    return OpenApiParameter(
        name, type=schema, location=OpenApiParameter.HEADER, description=description, **options
    )


def query(name: str, schema: Any, description: str = "") -> OpenApiParameter:
    return OpenApiParameter(
        name, type=schema, location=OpenApiParameter.QUERY, description=description
    )


def after(maximum: int) -> OpenApiParameter:
    """`after`: the list starts after this number."""
    return query("after", {"type": "integer", "minimum": 0, "maximum": maximum, "default": 0})


ARENA_ID = OpenApiParameter(
    "id", type={"type": "string", "format": "uuid"}, location=OpenApiParameter.PATH
)
IDEMPOTENCY_KEY = header(
    idempotency.HEADER,
    {"type": "string", "minLength": 1, "maxLength": idempotency.KEY_MAX},
    "Repeating a POST with the same key and body within 24 hours returns the first response "
    "again (header `Idempotent-Replayed: true`) without applying it twice.",
)
REPLAYED = header(
    idempotency.REPLAYED_HEADER,
    {"type": "string", "enum": ["true"]},
    "Present on a response replayed for a repeated Idempotency-Key.",
    response=True,
)
ETAG = header(
    "ETag",
    str,
    "The arena's version; it changes with every event. Send it as `If-Match`.",
    response=[200, 201],
    required=True,
)
IF_MATCH = header(
    "If-Match", str, "Apply only if the arena's ETag is one of these (`*` for any): else 412."
)
LIMIT = query(
    "limit", {"type": "integer", "minimum": 1, "maximum": PAGE_MAX, "default": PAGE_DEFAULT}
)
CURSOR = query("cursor", str, "Opaque: copy it from a page's `next` link.")
PAGED = [LIMIT, CURSOR]
WWW_AUTHENTICATE = f"Unauthenticated requests get `WWW-Authenticate: {CHALLENGE}`."

# --- response bodies -----------------------------------------------------------------------


def _timestamp(**kwargs: Any) -> serializers.DateTimeField:
    return serializers.DateTimeField(**kwargs)


HEALTH_STATUSES = ["ok"]


class HealthSerializer(Wire):
    status = serializers.ChoiceField(HEALTH_STATUSES)


class PermissionsSerializer(Wire):
    can_write_own_slot = serializers.BooleanField()
    can_read_other_slots = serializers.BooleanField()
    can_write_shared_memory = serializers.BooleanField()
    can_merge = serializers.BooleanField()


assert tuple(PermissionsSerializer().fields) == PERMISSIONS


class MeSerializer(Wire):
    agent_id = serializers.CharField()
    display_name = serializers.CharField(allow_blank=True)
    active_arenas = serializers.ListField(child=serializers.UUIDField())


class ActiveArenasSerializer(Wire):
    arena_ids = serializers.ListField(child=serializers.UUIDField(), help_text="Ascending.")


MONEY_PATTERN = r"^[0-9]+\.[0-9]{6}$"


def _money(**kwargs: Any) -> serializers.RegexField:
    kwargs.setdefault("help_text", "US dollars as a decimal string with 6 places.")
    return serializers.RegexField(MONEY_PATTERN, **kwargs)


def _tokens(**kwargs: Any) -> serializers.IntegerField:
    return serializers.IntegerField(min_value=0, max_value=U64_MAX, **kwargs)


class UsageTotalsSerializer(Wire):
    """Usage added up (OpenTelemetry GenAI: `gen_ai.usage.input_tokens`, …)."""

    input_tokens = _tokens(help_text="gen_ai.usage.input_tokens, cached ones included.")
    output_tokens = _tokens(help_text="gen_ai.usage.output_tokens.")
    cached_input_tokens = _tokens(help_text="gen_ai.usage.cache_read.input_tokens.")
    calls = _tokens()
    cost_usd = _money(help_text="The priced calls' cost, in US dollars (6 places).")
    unpriced_calls = _tokens(help_text="Calls of models no price was known for.")


class BudgetSerializer(Wire):
    """Spending limits; a limit not given is not set. Tokens count input plus output."""

    cost_usd = _money(required=False, help_text="The whole arena's limit, in dollars.")
    tokens = _tokens(required=False, help_text="The whole arena's token limit.")
    per_agent_cost_usd = _money(required=False, help_text="Each agent's limit, in dollars.")
    per_agent_tokens = _tokens(required=False, help_text="Each agent's token limit.")


class ParticipantSerializer(Wire):
    agent_id = serializers.CharField()
    role = serializers.ChoiceField(Role.choices)
    permissions = PermissionsSerializer()
    slot_status = serializers.ChoiceField(SlotStatus.choices)
    current = serializers.CharField(allow_blank=True)
    joined_at = _timestamp()
    left_at = _timestamp(allow_null=True)
    last_seen_at = _timestamp(
        allow_null=True, help_text="The agent's last request or open feed (null: never)."
    )
    presence = serializers.ChoiceField(
        list(PRESENCES), help_text="online: seen within 60 s; away: within 10 minutes."
    )
    usage = UsageTotalsSerializer(help_text="What this agent reported spending here.")


class AggregateSerializer(Wire):
    completed_steps = serializers.IntegerField(min_value=0, max_value=U32_MAX)
    total_steps = serializers.IntegerField(min_value=0, max_value=U32_MAX)
    participants = serializers.ListField(child=serializers.CharField())
    progress = serializers.FloatField(min_value=0.0, max_value=1.0)
    status = serializers.ChoiceField(Status.choices)
    last_seq = serializers.IntegerField(min_value=0)
    usage = UsageTotalsSerializer(help_text="What the arena's agents reported spending.")


class SettleReportSerializer(Wire):
    facts_persisted = serializers.IntegerField(min_value=0)
    artifacts_archived = serializers.IntegerField(min_value=0)
    events_cleared = serializers.IntegerField(min_value=0)


CALLER_ROLES = [*Role.values, "staff"]
REVIEW_STATES = ["required", "pending", "approved"]


class YouSerializer(Wire):
    """The caller: an agent's role and permissions, or a staff user (role `staff`)."""

    agent_id = serializers.CharField(allow_null=True)
    staff = serializers.CharField(allow_null=True, help_text="The staff user's name.")
    role = serializers.ChoiceField(CALLER_ROLES)
    permissions = PermissionsSerializer()


class ForkedFromSerializer(Wire):
    arena_id = serializers.UUIDField()
    seq = serializers.IntegerField(min_value=1)


class ForkSerializer(Wire):
    arena_id = serializers.UUIDField()
    at = serializers.IntegerField(min_value=1, help_text="The seq it was forked at.")


class ArenaSerializer(Wire):
    id = serializers.UUIDField()
    goal = serializers.CharField()
    status = serializers.ChoiceField(Status.choices)
    strategy = serializers.ChoiceField(Strategy.choices)
    total_steps = serializers.IntegerField(min_value=0, max_value=U32_MAX)
    completed_steps = serializers.IntegerField(min_value=0, max_value=U32_MAX)
    created_by = serializers.CharField(allow_null=True)
    created_at = _timestamp()
    activated_at = _timestamp(allow_null=True)
    settling_at = _timestamp(allow_null=True)
    archived_at = _timestamp(allow_null=True)
    last_seq = serializers.IntegerField(min_value=0)
    settle_report = SettleReportSerializer(allow_null=True)
    lease_seconds = serializers.IntegerField(
        min_value=LEASE_MIN, max_value=LEASE_MAX, help_text="A claim's lease when not given."
    )
    budget = BudgetSerializer(allow_null=True, help_text="Spending limits; null: none.")
    usage = UsageTotalsSerializer()
    forked_from = ForkedFromSerializer(
        allow_null=True, help_text="The arena and seq this arena was forked from, if a fork."
    )


class ArenaDetailSerializer(ArenaSerializer):
    participants = ParticipantSerializer(many=True, help_text="Current ones, by agent id.")
    forks = ForkSerializer(many=True, help_text="The arenas forked from this one, oldest first.")
    aggregate = AggregateSerializer()
    allowed_transitions = serializers.ListField(
        child=serializers.ChoiceField(sorted(set(lifecycle.TRANSITIONS.values())))
    )
    you = YouSerializer()


class StepClaimSerializer(Wire):
    claim_id = serializers.IntegerField(min_value=1)
    agent_id = serializers.CharField()
    expires_at = _timestamp()


class ClaimSerializer(Wire):
    claim_id = serializers.IntegerField(
        min_value=1, help_text="The seq of its step_claimed event: the fencing token."
    )
    arena_id = serializers.UUIDField()
    step = serializers.IntegerField(min_value=1, max_value=U32_MAX)
    agent_id = serializers.CharField()
    claimed_at = _timestamp()
    expires_at = _timestamp()
    renewed_at = _timestamp(allow_null=True)


class StepSerializer(Wire):
    step = serializers.IntegerField(min_value=1, max_value=U32_MAX)
    title = serializers.CharField(allow_blank=True)
    assignee = serializers.CharField(allow_null=True)
    depends_on = serializers.ListField(child=serializers.IntegerField(min_value=1))
    completed = serializers.BooleanField()
    completed_by = serializers.CharField(allow_null=True)
    completed_at = _timestamp(allow_null=True)
    claim = StepClaimSerializer(allow_null=True, help_text="The step's live claim, if any.")
    review = serializers.ChoiceField(
        REVIEW_STATES,
        allow_null=True,
        help_text="A review step's review: required, pending (waiting for a person) or "
        "approved; null for other steps.",
    )


class ArtifactSummarySerializer(Wire):
    id = serializers.UUIDField()
    arena_id = serializers.UUIDField()
    agent_id = serializers.CharField()
    kind = serializers.ChoiceField(ArtifactKind.choices)
    title = serializers.CharField()
    metadata = serializers.DictField()
    created_at = _timestamp()


class ArtifactSerializer(ArtifactSummarySerializer):
    content = serializers.JSONField(help_text="A string, or any JSON for structured_data.")


class FactSerializer(Wire):
    id = serializers.UUIDField()
    arena_id = serializers.UUIDField()
    content = serializers.CharField()
    source_agent = serializers.CharField()
    confidence = serializers.FloatField(min_value=0.0, max_value=1.0)
    tags = serializers.ListField(child=serializers.CharField())
    created_at = _timestamp()
    settled_at = _timestamp(allow_null=True, help_text="Set when its arena was archived.")


# --- events: one component per type, beside the common envelope -----------------------------


_NULL_AGENT = (
    EventType.MESSAGE_POSTED,
    EventType.INPUT_REQUESTED,
    EventType.INPUT_PROVIDED,
    EventType.INPUT_CANCELLED,
)


def _event_field(name: str, event_type: str) -> serializers.Field:
    if name in ("agent_id",):
        return serializers.CharField(allow_null=event_type in _NULL_AGENT)
    if name == "model":
        return serializers.CharField(max_length=MODEL_NAME_MAX)
    if name in ("input_tokens", "output_tokens", "cached_input_tokens"):
        return serializers.IntegerField(min_value=0, max_value=U32_MAX)
    if name == "calls":
        return serializers.IntegerField(min_value=1, max_value=U32_MAX)
    if name == "cost_usd":
        return _money(allow_null=True, help_text="null: the model could not be priced.")
    if name == "priced":
        return serializers.BooleanField()
    if name == "totals":
        return UsageTotalsSerializer(help_text="The arena's totals after this report.")
    if name in ("budget", "previous"):
        return BudgetSerializer(allow_null=True)
    if name == "scope":
        return serializers.CharField(help_text="`arena`, or the agent id.")
    if name in ("limit", "spent"):
        return serializers.JSONField(help_text="Dollars as a 6-decimal string, or tokens.")
    if name in ("created_by", "to"):
        return serializers.CharField(allow_null=True)
    if name == "text" and event_type == EventType.INPUT_PROVIDED:
        return serializers.CharField(allow_blank=True)
    if name in ("goal", "new_goal", "title", "text", "by"):
        return serializers.CharField()
    if name == "current":
        return serializers.CharField(allow_blank=True)
    if name == "choice":
        return serializers.CharField(allow_null=True)
    if name == "choices":
        return serializers.ListField(child=serializers.CharField(), allow_null=True)
    if name in ("step",):
        return serializers.IntegerField(
            min_value=1,
            max_value=U32_MAX,
            allow_null=event_type in (EventType.INPUT_REQUESTED, EventType.USAGE_REPORTED),
        )
    if name in ("total_steps", "completed_steps"):
        return serializers.IntegerField(min_value=0, max_value=U32_MAX)
    if name in ("facts_persisted", "artifacts_archived", "events_cleared"):
        return serializers.IntegerField(min_value=0)
    if name in ("artifact_id", "fact_id", "request_id"):
        return serializers.UUIDField()
    if name == "claim_id":
        return serializers.IntegerField(min_value=1)
    if name == "expires_at":
        return _timestamp()
    if name == "sources":
        return serializers.ListField(child=serializers.UUIDField())
    if name == "forked_from":
        return ForkedFromSerializer(
            allow_null=True, help_text="The arena and seq this arena was forked from."
        )
    if name == "permissions":
        return PermissionsSerializer()
    if name == "fork_id":
        return serializers.UUIDField()
    if name == "at":
        return serializers.IntegerField(min_value=1, help_text="The seq it was forked at.")
    choices = {
        "strategy": Strategy,
        "role": Role,
        "from_status": Status,
        "to_status": Status,
        "slot_status": SlotStatus,
        "kind": RequestKind if event_type == EventType.INPUT_REQUESTED else ArtifactKind,
    }
    return serializers.ChoiceField(choices[name].choices)


class EventEnvelopeSerializer(Wire):
    arena_id = serializers.UUIDField()
    seq = serializers.IntegerField(min_value=1)
    timestamp = _timestamp()
    actor = serializers.CharField(
        allow_null=True, help_text="The agent id, `staff:<username>`, or null for the system."
    )


def _event_serializer(event_type: str) -> type[serializers.Serializer]:
    fields = {
        "type": serializers.ChoiceField([event_type]),
        **{name: _event_field(name, event_type) for name in EVENT_FIELDS[event_type]},
    }
    name = "".join(part.title() for part in str(event_type).split("_")) + "Event"
    return type(name, (EventEnvelopeSerializer,), fields)


EVENT_SERIALIZERS = {str(t): _event_serializer(t) for t in EventType.values}

EventSerializer = PolymorphicProxySerializer(
    component_name="Event",
    serializers=EVENT_SERIALIZERS,
    resource_type_field_name="type",
)


class EventsPageSerializer(Wire):
    events = serializers.ListField(child=EventSerializer, help_text="In seq order.")
    last_seq = serializers.IntegerField(min_value=0, help_text="The arena's newest seq.")
    next_after = serializers.IntegerField(
        allow_null=True,
        min_value=0,
        help_text="The `after` of the next page; null when this page reaches `last_seq`.",
    )


class StepResultSerializer(Wire):
    event = EventSerializer
    aggregate = AggregateSerializer()


class AnswerSerializer(Wire):
    choice = serializers.CharField(allow_null=True)
    text = serializers.CharField(allow_blank=True)
    by = serializers.CharField(help_text="`staff:<username>` or a coordinator's agent id.")
    at = _timestamp()


class RequestSerializer(Wire):
    id = serializers.UUIDField()
    arena_id = serializers.UUIDField()
    kind = serializers.ChoiceField(RequestKind.choices)
    agent_id = serializers.CharField(
        allow_null=True, help_text="The agent that asks; null for a budget request."
    )
    text = serializers.CharField()
    choices = serializers.ListField(
        child=serializers.CharField(), allow_null=True, help_text="null: a free answer."
    )
    step = serializers.IntegerField(min_value=1, max_value=U32_MAX, allow_null=True)
    status = serializers.ChoiceField(RequestStatus.choices)
    answer = AnswerSerializer(allow_null=True)
    created_at = _timestamp()


class ReviewOpenedSerializer(Wire):
    request = RequestSerializer()
    event = EventSerializer


class ClaimTakenSerializer(Wire):
    claim = ClaimSerializer()
    event = EventSerializer


class ClaimHeldSerializer(Wire):
    claim = ClaimSerializer()


class NoClaimSerializer(Wire):
    claim = ClaimSerializer(allow_null=True, help_text="null: no step can be claimed now.")
    remaining = serializers.IntegerField(min_value=0, help_text="Steps not completed.")
    claimed = serializers.IntegerField(min_value=0, help_text="Of them, held by a live claim.")
    blocked = serializers.IntegerField(
        min_value=0, help_text="Of them, waiting for a step they depend on."
    )


def paginated(item: type[serializers.Serializer], name: str) -> type[serializers.Serializer]:
    """`{"results": [item], "next": url | null}` as a component called `name`."""
    fields = {
        "results": item(many=True),
        "next": serializers.URLField(allow_null=True, help_text="The next page, or null."),
    }
    return type(f"{name}Serializer", (Wire,), fields)


ArenaPage = paginated(ArenaSerializer, "ArenaPage")
ParticipantPage = paginated(ParticipantSerializer, "ParticipantPage")
StepPage = paginated(StepSerializer, "StepPage")
ArtifactPage = paginated(ArtifactSummarySerializer, "ArtifactPage")
FactPage = paginated(FactSerializer, "FactPage")
ClaimPage = paginated(ClaimSerializer, "ClaimPage")
RequestPage = paginated(RequestSerializer, "RequestPage")


class UsageReportSerializer(Wire):
    arena_id = serializers.UUIDField()
    seq = serializers.IntegerField(min_value=1, help_text="The seq of its usage_reported event.")
    agent_id = serializers.CharField()
    model = serializers.CharField()
    input_tokens = serializers.IntegerField(min_value=0, max_value=U32_MAX)
    output_tokens = serializers.IntegerField(min_value=0, max_value=U32_MAX)
    cached_input_tokens = serializers.IntegerField(min_value=0, max_value=U32_MAX)
    calls = serializers.IntegerField(min_value=1, max_value=U32_MAX)
    cost_usd = _money(allow_null=True, help_text="null: the model could not be priced.")
    priced = serializers.BooleanField()
    step = serializers.IntegerField(min_value=1, max_value=U32_MAX, allow_null=True)
    created_at = _timestamp()


class UsageRecordedSerializer(Wire):
    usage = UsageReportSerializer()
    event = EventSerializer


class UsageGroupSerializer(UsageTotalsSerializer):
    agent_id = serializers.CharField(required=False, help_text="group=agent.")
    step = serializers.IntegerField(
        min_value=1, max_value=U32_MAX, required=False, help_text="group=step."
    )
    model = serializers.CharField(required=False, help_text="group=model.")


class UsageBreakdownSerializer(Wire):
    totals = UsageTotalsSerializer(help_text="The arena's totals.")
    group = serializers.ChoiceField(["agent", "step", "model"])
    results = UsageGroupSerializer(
        many=True,
        help_text="One entry per agent that reported (by agent id), per step named by a report "
        "(by step) or per model (by name).",
    )


class SpentSerializer(Wire):
    arena = UsageTotalsSerializer()
    you = UsageTotalsSerializer(allow_null=True, help_text="The caller's; null for staff.")


class RemainingSerializer(Wire):
    """What is left of each limit set: the arena's, and the caller's per-agent ones."""

    cost_usd = _money(required=False)
    tokens = _tokens(required=False)
    per_agent_cost_usd = _money(required=False)
    per_agent_tokens = _tokens(required=False)


class BudgetStateSerializer(Wire):
    budget = BudgetSerializer(allow_null=True)
    spent = SpentSerializer()
    remaining = RemainingSerializer()
    exhausted = serializers.ListField(
        child=serializers.CharField(),
        help_text="Used-up scopes: `arena` and/or your agent id. While one is, claiming and "
        "completing without a claim are refused (409 budget_exhausted).",
    )


# --- history: the state at a seq -------------------------------------------------------------


class StateArenaSerializer(ArenaSerializer):
    forks = ForkSerializer(many=True, help_text="Forks made up to then, oldest first.")
    aggregate = AggregateSerializer()
    allowed_transitions = serializers.ListField(
        child=serializers.ChoiceField(sorted(set(lifecycle.TRANSITIONS.values())))
    )


class StateParticipantSerializer(Wire):
    agent_id = serializers.CharField()
    role = serializers.ChoiceField(Role.choices)
    permissions = PermissionsSerializer()
    slot_status = serializers.ChoiceField(SlotStatus.choices)
    current = serializers.CharField(allow_blank=True)
    joined_at = _timestamp()
    left_at = _timestamp(allow_null=True, help_text="Set if it had left by then.")
    usage = UsageTotalsSerializer(help_text="What this agent had reported spending then.")


class StateClaimSerializer(Wire):
    claim_id = serializers.IntegerField(min_value=1)
    arena_id = serializers.UUIDField()
    step = serializers.IntegerField(min_value=1, max_value=U32_MAX)
    agent_id = serializers.CharField()
    claimed_at = _timestamp()
    expires_at = _timestamp(help_text="As claimed (a renewal is not an event).")


class StateSerializer(Wire):
    at = serializers.IntegerField(min_value=1, help_text="The seq of the event shown.")
    timestamp = _timestamp(help_text="The time of that event.")
    arena = StateArenaSerializer()
    participants = StateParticipantSerializer(
        many=True, help_text="Everyone who had joined by then (left_at set if gone), by agent id."
    )
    plan = StepSerializer(
        many=True,
        help_text="A titled plan's every step; an untitled or open-ended plan's completed or "
        "claimed steps.",
    )
    claims = StateClaimSerializer(many=True, help_text="Live then, by step.")
    requests = RequestSerializer(many=True, help_text="Open then, newest first.")
    artifacts = ArtifactSummarySerializer(
        many=True, help_text="Published by then, oldest first; only slots you may read."
    )
    facts = FactSerializer(many=True, help_text="Shared by then, oldest first.")
