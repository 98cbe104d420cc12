"""The agent REST API (SPEC §2): thin views over ArenaManager and ArenaHandle.

Each view reads its input (serializers.py, query parameters), makes one call to the domain,
and returns the domain's wire dicts. The caller's ArenaHandle checks visibility (404),
permission (403), the arena's state (409) and values (400) in that order; errors become the
SPEC's JSON in errors.py.
"""

from __future__ import annotations

import re
from typing import Any

from django.utils.http import parse_etags
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import exceptions, permissions, status
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from arenas.errors import Invalid, NotFound, PermissionDenied
from arenas.events import to_wire
from arenas.handle import ArenaHandle
from arenas.manager import ArenaManager
from arenas.models import Agent, Status
from arenas.representations import (
    arena_fields,
    artifact_dict,
    fact_dict,
    me_dict,
    participant_dict,
    step_result,
)
from arenas.text import U32_MAX

from . import schema
from . import serializers as inputs
from .authentication import BearerAuthentication, StaffSessionAuthentication, agent_of
from .bodies import JsonOnlyNegotiation, StrictJSONParser, read_body
from .idempotency import idempotent
from .pagination import (
    NEWEST_FIRST,
    OLDEST_FIRST,
    next_url,
    paginate_queryset,
    paginate_sorted,
    query_int,
    query_limit,
)
from .throttling import AgentRateThrottle

manager = ArenaManager()

SEQ_MAX = 2**63 - 1
_SEQ = re.compile(r"[0-9]{1,19}")


class ApiView(APIView):
    """An agent API endpoint: bearer token or staff session, per-agent throttling, JSON in
    and out, a body limit on writes, and `Idempotency-Key` on every POST."""

    authentication_classes = [BearerAuthentication, StaffSessionAuthentication]
    permission_classes = [permissions.IsAuthenticated]
    throttle_classes = [AgentRateThrottle]
    parser_classes = [StrictJSONParser]
    renderer_classes = [JSONRenderer]
    content_negotiation_class = JsonOnlyNegotiation

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        post = cls.__dict__.get("post")
        if post is not None and not getattr(post, "idempotent", False):
            raise TypeError(f"{cls.__name__}.post must be decorated with @idempotent")

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)
        if request.method in ("POST", "PUT", "PATCH"):
            read_body(request)

    def body(self, serializer_class: type[inputs.InputSerializer]) -> dict[str, Any]:
        return inputs.validated(serializer_class, self.request.data)

    @property
    def agent_id(self) -> str | None:
        """The calling agent's id; None for staff."""
        agent = agent_of(self.request.user)
        return agent.agent_id if agent else None

    def arena(self, arena_id: str) -> ArenaHandle:
        """The caller's handle on the arena: a participant's, or a staff user's.

        Visibility is not checked here: the handle's operation checks it first (under the
        row lock for writes), which saves a statement per request. Input refused before that
        operation ran (body, query parameters) is reported only once visibility is known,
        in `handle_exception`: a caller who cannot see the arena gets 404, never 400."""
        if self.agent_id is not None:
            handle = manager.handle(arena_id, self.agent_id, check_now=False)
        else:
            handle = manager.staff_handle(
                arena_id, self.request.user.get_username(), check_now=False
            )
        self._handle = handle
        return handle

    def handle_exception(self, exc: Exception) -> Response:
        handle = getattr(self, "_handle", None)
        if handle is not None and isinstance(exc, exceptions.ValidationError | Invalid):
            try:
                handle.require_visible()
            except NotFound as not_found:
                exc = not_found
        return super().handle_exception(exc)


def etag(detail: dict[str, Any]) -> str:
    """The arena's version as a strong ETag: its id and the seq of its newest event."""
    return f'"{detail["id"]}-{detail["last_seq"]}"'


def arena_response(handle: ArenaHandle, status_code: int = status.HTTP_200_OK) -> Response:
    detail = handle.detail()
    return Response(detail, status=status_code, headers={"ETag": etag(detail)})


def if_match_seqs(request: Request, arena_id: Any) -> set[int] | None:
    """The `last_seq` values an `If-Match` header accepts; None when any version will do
    (no header, or `*`). Weak tags never match (RFC 9110 strong comparison)."""
    header = request.headers.get("If-Match")
    if header is None:
        return None
    tags = parse_etags(header)
    if tags == ["*"]:
        return None
    seqs = set()
    for tag in tags:
        if tag.startswith("W/"):
            continue
        tag_arena, _, seq = tag.strip('"').rpartition("-")
        if tag_arena == str(arena_id) and _SEQ.fullmatch(seq):
            seqs.add(int(seq))
    return seqs


# --- the service ------------------------------------------------------------------------


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
        return Response(me_dict(agent, manager.active_arenas_for(agent.agent_id)))


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
        if self.agent_id is not None and self.agent_id != agent_id:
            raise PermissionDenied("Agents may only list their own active arenas.")
        if self.agent_id is None and not Agent.objects.filter(agent_id=agent_id).exists():
            raise NotFound(f"No agent {agent_id!r}.")
        arena_ids = manager.active_arenas_for(agent_id)
        return Response({"arena_ids": [str(i) for i in arena_ids]})


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


# --- arenas -----------------------------------------------------------------------------


class ArenaListView(ApiView):
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
            arenas = manager.arenas_for_agent(self.agent_id, wanted)
        else:
            arenas = manager.arenas_for_user(request.user, wanted)
        return Response(paginate_queryset(request, arenas, NEWEST_FIRST, arena_fields))

    @extend_schema(
        summary="Create an arena",
        description="From an ArenaConfig. The calling agent becomes its first coordinator; "
        "`participants` are added after it (unknown agent ids are a 400).",
        request=inputs.ArenaConfigSerializer,
        parameters=[schema.IDEMPOTENCY_KEY, schema.REPLAYED, schema.ETAG],
        responses={201: schema.ArenaDetailSerializer, **schema.write_errors()},
        tags=["arenas"],
    )
    @idempotent
    def post(self, request: Request) -> Response:
        config = self.body(inputs.ArenaConfigSerializer)
        arena_id = manager.create(config, created_by=self.agent_id)
        return arena_response(self.arena(arena_id), status.HTTP_201_CREATED)


class ArenaDetailView(ApiView):
    @extend_schema(
        summary="An arena",
        description="With its current participants, aggregate, allowed transitions and "
        "`you` (your role and permissions). The `ETag` changes with every event.",
        parameters=[schema.ARENA_ID, schema.ETAG],
        responses={200: schema.ArenaDetailSerializer, **schema.read_errors(404)},
        tags=["arenas"],
    )
    def get(self, request: Request, id: str) -> Response:
        return arena_response(self.arena(id))

    @extend_schema(
        summary="Update the goal",
        description="Coordinators, while the arena is created or active. With `If-Match`, "
        "only if the arena is still at that version.",
        request=inputs.GoalUpdateSerializer,
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
                conflicts=("arena_not_active", "arena_archived"),
            ),
        },
        tags=["arenas"],
    )
    def patch(self, request: Request, id: str) -> Response:
        handle = self.arena(id)
        goal = self.body(inputs.GoalUpdateSerializer)["goal"]
        handle.update_goal(goal, expected_seqs=if_match_seqs(request, handle.arena_id))
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
            **schema.write_errors("invalid_transition"),
        },
        tags=["arenas"],
    )
    @idempotent
    def post(self, request: Request, id: str) -> Response:
        handle = self.arena(id)
        self.body(inputs.NoBodySerializer)
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
        return Response(self.arena(id).aggregate().as_dict())


class EventsView(ApiView):
    @extend_schema(
        summary="The arena's events",
        operation_id="arenas_events_list",
        description="Events with `seq > after`, in seq order, at most `limit`. Continue "
        "with `after=next_after` until `next_after` is null.",
        parameters=[
            schema.ARENA_ID,
            OpenApiParameter(
                "after",
                {"type": "integer", "minimum": 0, "maximum": SEQ_MAX, "default": 0},
                OpenApiParameter.QUERY,
            ),
            schema.LIMIT,
        ],
        responses={200: schema.EventsPageSerializer, **schema.read_errors(400, 404)},
        tags=["events"],
    )
    def get(self, request: Request, id: str) -> Response:
        handle = self.arena(id)
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


# --- participants ------------------------------------------------------------------------


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
        current = self.arena(id).participants()
        return Response(paginate_sorted(request, current, lambda p: p.agent_id, participant_dict))

    @extend_schema(
        summary="Add a participant",
        description="Coordinators, while the arena is created or active. The role's "
        "default permissions apply unless overridden. An agent that left joins again.",
        request=inputs.NewParticipantSerializer,
        parameters=[schema.ARENA_ID, schema.IDEMPOTENCY_KEY, schema.REPLAYED],
        responses={
            201: schema.ParticipantSerializer,
            **schema.write_errors("already_participant", "arena_not_active", "arena_archived"),
        },
        tags=["participants"],
    )
    @idempotent
    def post(self, request: Request, id: str) -> Response:
        handle = self.arena(id)
        new = self.body(inputs.NewParticipantSerializer)
        participant = handle.add_participant(new.pop("agent_id"), new.pop("role"), **new)
        return Response(participant_dict(participant), status=status.HTTP_201_CREATED)


class ParticipantView(ApiView):
    @extend_schema(
        summary="Leave, or remove a participant",
        description="Your own agent id leaves; a coordinator may remove anyone. The last "
        "coordinator cannot leave an arena that is not archived.",
        parameters=[schema.ARENA_ID, OpenApiParameter("agent_id", str, OpenApiParameter.PATH)],
        responses={
            204: None,
            **schema.errors(
                400, 401, 403, 404, 409, 429, conflicts=("last_coordinator", "arena_archived")
            ),
        },
        tags=["participants"],
    )
    def delete(self, request: Request, id: str, agent_id: str) -> Response:
        self.arena(id).remove_participant(agent_id)
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- the caller's slot ---------------------------------------------------------------------


class StepsView(ApiView):
    @extend_schema(
        summary="The plan",
        operation_id="arenas_steps_list",
        description="Steps from `after + 1` with their completion. With an open-ended plan "
        "(total_steps 0), the completed steps.",
        parameters=[
            schema.ARENA_ID,
            OpenApiParameter(
                "after",
                {"type": "integer", "minimum": 0, "maximum": U32_MAX, "default": 0},
                OpenApiParameter.QUERY,
            ),
            schema.LIMIT,
        ],
        responses={200: schema.StepPage, **schema.read_errors(400, 404)},
        tags=["steps"],
    )
    def get(self, request: Request, id: str) -> Response:
        handle = self.arena(id)
        after = query_int(request, "after", 0, 0, U32_MAX)
        page, following = handle.steps(after, query_limit(request))
        return Response(
            {
                "results": page,
                "next": None if following is None else next_url(request, after=following),
            }
        )

    @extend_schema(
        summary="Complete a step",
        description="`can_write_own_slot`, arena active. A step assigned to another agent "
        "is 403 (coordinators may complete any); a step outside 1..total_steps is 400.",
        request=inputs.CompleteStepSerializer,
        parameters=[schema.ARENA_ID, schema.IDEMPOTENCY_KEY, schema.REPLAYED],
        responses={
            201: schema.StepResultSerializer,
            **schema.write_errors(
                "step_already_completed", "step_blocked", "arena_not_active", "arena_archived"
            ),
        },
        tags=["steps"],
    )
    @idempotent
    def post(self, request: Request, id: str) -> Response:
        handle = self.arena(id)
        step = self.body(inputs.CompleteStepSerializer)["step"]
        return Response(step_result(*handle.complete_step(step)), status=status.HTTP_201_CREATED)


class ProgressView(ApiView):
    @extend_schema(
        summary="Report progress",
        description="`can_write_own_slot`, arena active: what your slot is doing now.",
        request=inputs.ProgressSerializer,
        parameters=[schema.ARENA_ID, schema.IDEMPOTENCY_KEY, schema.REPLAYED],
        responses={
            200: schema.ParticipantSerializer,
            **schema.write_errors("arena_not_active", "arena_archived"),
        },
        tags=["steps"],
    )
    @idempotent
    def post(self, request: Request, id: str) -> Response:
        handle = self.arena(id)
        participant = handle.report_progress(**self.body(inputs.ProgressSerializer))
        return Response(participant_dict(participant))


class ArtifactsView(ApiView):
    @extend_schema(
        summary="Artifacts",
        operation_id="arenas_artifacts_list",
        description="Without their content, oldest first: your own slot always, other "
        "slots with `can_read_other_slots`. `agent` narrows to one slot.",
        parameters=[
            schema.ARENA_ID,
            OpenApiParameter("agent", str, OpenApiParameter.QUERY),
            *schema.PAGED,
        ],
        responses={200: schema.ArtifactPage, **schema.read_errors(400, 403, 404)},
        tags=["artifacts"],
    )
    def get(self, request: Request, id: str) -> Response:
        artifacts = self.arena(id).artifacts(request.query_params.get("agent"))
        return Response(
            paginate_queryset(
                request, artifacts, OLDEST_FIRST, lambda a: artifact_dict(a, with_content=False)
            )
        )

    @extend_schema(
        summary="Publish an artifact",
        description="To your own slot (`can_write_own_slot`, arena active); the slot "
        "becomes `working`.",
        request=inputs.NewArtifactSerializer,
        parameters=[schema.ARENA_ID, schema.IDEMPOTENCY_KEY, schema.REPLAYED],
        responses={
            201: schema.ArtifactSerializer,
            **schema.write_errors("arena_not_active", "arena_archived"),
        },
        tags=["artifacts"],
    )
    @idempotent
    def post(self, request: Request, id: str) -> Response:
        handle = self.arena(id)
        artifact = handle.publish_artifact(**self.body(inputs.NewArtifactSerializer))
        return Response(artifact_dict(artifact), status=status.HTTP_201_CREATED)


class ArtifactView(ApiView):
    @extend_schema(
        summary="One artifact, with its content",
        parameters=[
            schema.ARENA_ID,
            OpenApiParameter(
                "artifact_id", {"type": "string", "format": "uuid"}, OpenApiParameter.PATH
            ),
        ],
        responses={200: schema.ArtifactSerializer, **schema.read_errors(403, 404)},
        tags=["artifacts"],
    )
    def get(self, request: Request, id: str, artifact_id: str) -> Response:
        return Response(artifact_dict(self.arena(id).artifact(artifact_id)))


class MergeView(ApiView):
    @extend_schema(
        summary="Merge artifacts",
        description="`can_merge`, arena active or settling: the artifacts of the named "
        "slots become one `structured_data` artifact in your slot; `metadata.sources` lists "
        "the merged artifact ids.",
        request=inputs.MergeSerializer,
        parameters=[schema.ARENA_ID, schema.IDEMPOTENCY_KEY, schema.REPLAYED],
        responses={
            201: schema.ArtifactSerializer,
            **schema.write_errors("arena_not_active", "arena_archived"),
        },
        tags=["artifacts"],
    )
    @idempotent
    def post(self, request: Request, id: str) -> Response:
        handle = self.arena(id)
        artifact = handle.merge(**self.body(inputs.MergeSerializer))
        return Response(artifact_dict(artifact), status=status.HTTP_201_CREATED)


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
        facts = self.arena(id).facts(request.query_params.get("tag"), request.query_params.get("q"))
        return Response(paginate_queryset(request, facts, OLDEST_FIRST, fact_dict))

    @extend_schema(
        summary="Share a fact",
        description="`can_write_shared_memory`, arena active. `confidence` defaults to 1.0.",
        request=inputs.NewFactSerializer,
        parameters=[schema.ARENA_ID, schema.IDEMPOTENCY_KEY, schema.REPLAYED],
        responses={
            201: schema.FactSerializer,
            **schema.write_errors("arena_not_active", "arena_archived"),
        },
        tags=["facts"],
    )
    @idempotent
    def post(self, request: Request, id: str) -> Response:
        handle = self.arena(id)
        fact = handle.share_fact(**self.body(inputs.NewFactSerializer))
        return Response(fact_dict(fact), status=status.HTTP_201_CREATED)


class MessagesView(ApiView):
    @extend_schema(
        summary="Post a message",
        description="Participants other than observers, until the arena is archived. Every "
        "participant sees it on the feed; `to` addresses one of them. 201 with the "
        "`message_posted` event.",
        request=inputs.NewMessageSerializer,
        parameters=[schema.ARENA_ID, schema.IDEMPOTENCY_KEY, schema.REPLAYED],
        responses={201: schema.EventSerializer, **schema.write_errors("arena_archived")},
        tags=["events"],
    )
    @idempotent
    def post(self, request: Request, id: str) -> Response:
        handle = self.arena(id)
        message = self.body(inputs.NewMessageSerializer)
        event = handle.post_message(message["text"], message.get("to"))
        return Response(to_wire(event), status=status.HTTP_201_CREATED)
