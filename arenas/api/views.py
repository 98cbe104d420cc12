"""The agent REST API: thin views over ArenaManager and ArenaHandle.

Each view reads its input (serializers.py, query parameters), makes one call to the domain,
and returns the domain's wire dicts. The caller's ArenaHandle checks visibility (404),
permission (403), the arena's state (409) and values (400) in that order; errors become the
error JSON in errors.py.
"""

from __future__ import annotations

import re
from typing import Any

from django.utils.http import parse_etags
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import permissions, status
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from arenas.claims import Vacancy
from arenas.errors import TRANSIENT_DATABASE_ERRORS, NotFound, PermissionDenied
from arenas.events import to_wire
from arenas.handle import ArenaHandle
from arenas.inputs import SEQ_MAX, U32_MAX
from arenas.manager import ArenaManager
from arenas.models import Claim, Event, RequestStatus, Status
from arenas.representations import (
    arena_fields,
    artifact_dict,
    claim_dict,
    claim_result,
    fact_dict,
    me_dict,
    no_claim,
    participant_dict,
    request_dict,
    review_opened,
    step_result,
)
from arenas.usage import report_dict

from . import schema, serializers
from .authentication import BearerAuthentication, StaffSessionAuthentication, agent_of
from .bodies import ExactJSONParser, JsonOnlyNegotiation, StrictJSONParser, read_body
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

    handle: ArenaHandle | None = None

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        """Authenticate and throttle, then build the caller's handle on the arena the path
        names, and only then read the body: whatever goes wrong from here on (a malformed or
        oversized body, a bad query parameter or Idempotency-Key) is reported only once the
        caller is known to see the arena (`handle_exception`)."""
        super().initial(request, *args, **kwargs)
        if "id" in kwargs:
            self.handle = self.handle_of(kwargs["id"])
        if request.method in ("POST", "PUT", "PATCH"):
            read_body(request)

    def body(self, serializer_class: type[serializers.InputSerializer]) -> dict[str, Any]:
        return serializers.validated(serializer_class, self.request.data)

    @property
    def agent_id(self) -> str | None:
        """The calling agent's id; None for staff."""
        agent = agent_of(self.request.user)
        return agent.agent_id if agent else None

    def handle_of(self, arena_id: Any) -> ArenaHandle:
        """The caller's handle on an arena: a participant's, or a staff user's. Visibility
        is checked by the handle's operation itself (under the row lock for writes)."""
        if self.agent_id is not None:
            return manager.handle(arena_id, self.agent_id, check_now=False)
        return manager.staff_handle(arena_id, self.request.user.get_username(), check_now=False)

    def handle_exception(self, exc: Exception) -> Response:
        """A refusal that came before the handle checked visibility becomes 404 for a
        caller who cannot see the arena: visibility comes before everything else."""
        handle = self.handle
        if (
            handle is not None
            and not handle.visibility_known
            and not isinstance(exc, (NotFound, *TRANSIENT_DATABASE_ERRORS))
        ):
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
        arena_ids = manager.active_arenas_of(agent_id, asked_by=self.agent_id)
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
            arenas = manager.arenas_for_agent(self.agent_id, wanted)
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
                conflicts=("arena_not_active", "arena_archived"),
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
            **schema.write_errors("invalid_transition"),
        },
        tags=["arenas"],
    )
    @idempotent
    def post(self, request: Request, id: str) -> Response:
        handle = self.handle
        self.body(serializers.NoBodySerializer)
        handle.act(self.lifecycle_action)
        return arena_response(handle)


class StateView(ApiView):
    @extend_schema(
        summary="The arena at a seq",
        description="The arena as it was right after event `at` (default: its newest): "
        "its fields and aggregate, participants, plan, live claims, open requests, "
        "artifacts (without content) and facts, all folded from the log. A renewed "
        "claim shows the `expires_at` it was claimed with; presence is not shown.",
        parameters=[
            schema.ARENA_ID,
            OpenApiParameter(
                "at",
                {"type": "integer", "minimum": 1},
                OpenApiParameter.QUERY,
                description="1 to the arena's last_seq.",
            ),
        ],
        responses={200: schema.StateSerializer, **schema.read_errors(400, 404)},
        tags=["history"],
    )
    def get(self, request: Request, id: str) -> Response:
        at = query_int(request, "at", 0, 1, SEQ_MAX)
        return Response(self.handle.state(at or None))


class ForkView(ApiView):
    @schema.arena_write(
        "Fork the arena",
        "Coordinators and staff, in any status: a new arena in `created` from this "
        "arena's state at seq `at` (its plan, lease, participants then, completed steps, "
        "copies of its artifacts and facts; no claims, no open requests), optionally with "
        "another `goal`. The fork's own log establishes that state after `arena_created` "
        "(which carries `forked_from`); this arena gets `arena_forked`. A forking agent "
        "that was not a participant then joins the fork as a coordinator. 201 with the "
        "fork.",
        request=serializers.ForkRequestSerializer,
        responds=schema.ArenaDetailSerializer,
        tags=["history"],
        conflicts=(),
    )
    @idempotent
    def post(self, request: Request, id: str) -> Response:
        body = self.body(serializers.ForkRequestSerializer)
        fork = self.handle.fork(body["at"], body.get("goal"))
        return arena_response(self.handle_of(fork.pk), status.HTTP_201_CREATED)


class AggregateView(ApiView):
    @extend_schema(
        summary="The arena's aggregate",
        parameters=[schema.ARENA_ID],
        responses={200: schema.AggregateSerializer, **schema.read_errors(404)},
        tags=["arenas"],
    )
    def get(self, request: Request, id: str) -> Response:
        return Response(self.handle.aggregate().as_dict())


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
        current = self.handle.participants()
        return Response(paginate_sorted(request, current, lambda p: p.agent_id, participant_dict))

    @schema.arena_write(
        "Add a participant",
        "Coordinators, while the arena is created or active. The role's "
        "default permissions apply unless overridden. An agent that left joins again.",
        request=serializers.NewParticipantSerializer,
        responds=schema.ParticipantSerializer,
        tags=["participants"],
        conflicts=("already_participant", "arena_not_active", "arena_archived"),
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
        conflicts=("last_coordinator",),
        tags=["participants"],
        invalid=True,
    )
    def delete(self, request: Request, id: str, agent_id: str) -> Response:
        self.handle.remove_participant(agent_id)
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- the caller's slot ---------------------------------------------------------------------


class StepsView(ApiView):
    @extend_schema(
        summary="The plan",
        operation_id="arenas_steps_list",
        description="Steps from `after + 1` with their completion. With an open-ended plan "
        "(total_steps 0), the completed steps.",
        parameters=[schema.ARENA_ID, schema.after(U32_MAX), schema.LIMIT],
        responses={200: schema.StepPage, **schema.read_errors(400, 404)},
        tags=["steps"],
    )
    def get(self, request: Request, id: str) -> Response:
        handle = self.handle
        after = query_int(request, "after", 0, 0, U32_MAX)
        page, following = handle.steps(after, query_limit(request))
        return Response(
            {
                "results": page,
                "next": None if following is None else next_url(request, after=following),
            }
        )

    @schema.arena_write(
        "Complete a step",
        "`can_write_own_slot`, arena active. A step assigned to another agent is 403 "
        "(coordinators may complete any); a step outside 1..total_steps is 400. A live claim "
        "of another agent on the step is 409 `step_claimed`; with `claim_id`, the completion "
        "counts only while that is your live claim on the step (else 409 `claim_lost`), and "
        "ends it. A review step is not completed: 202 with the review request it opens and "
        "its `input_requested` event; a person's approval completes it. While the arena's "
        "or your budget is used up, completing a step you hold no live claim on is 409 "
        "`budget_exhausted` (with `scope`, `limit`, `spent`).",
        request=serializers.CompleteStepSerializer,
        responds=schema.StepResultSerializer,
        also={202: schema.ReviewOpenedSerializer},
        tags=["steps"],
        conflicts=("claim_lost", "review_pending", *schema.CLAIM_CONFLICTS),
    )
    @idempotent
    def post(self, request: Request, id: str) -> Response:
        body = self.body(serializers.CompleteStepSerializer)
        done = self.handle.complete_step(body["step"], body.get("claim_id"))
        if done.request is not None:
            return Response(review_opened(done.request, done.event), status.HTTP_202_ACCEPTED)
        return Response(step_result(done.event, done.aggregate), status=status.HTTP_201_CREATED)


# --- claims ----------------------------------------------------------------------


def claim_response(claim: Claim, event: Event | None) -> Response:
    """201 with the new claim and its event, or 200 with a renewed claim."""
    created = status.HTTP_200_OK if event is None else status.HTTP_201_CREATED
    return Response(claim_result(claim, event), status=created)


class StepClaimView(ApiView):
    @schema.arena_write(
        "Claim a step",
        "`can_write_own_slot`, arena active: hold the step for `lease_seconds` (the arena's "
        "`lease_seconds` by default) so no other agent works on it. The step must be one you "
        "could complete now. 201 with the claim and its `step_claimed` event; claiming a "
        "step you hold renews it (200, no event). A live claim of another agent is 409 "
        "`step_claimed` with `holder`, `claim_id` and `expires_at`. While the arena's or your "
        "budget is used up, 409 `budget_exhausted` (with `scope`, `limit`, `spent`).",
        request=serializers.LeaseSerializer,
        responds=schema.ClaimTakenSerializer,
        also={200: schema.ClaimHeldSerializer},
        parameters=(schema.STEP_NUMBER,),
        tags=["claims"],
        conflicts=schema.CLAIM_CONFLICTS,
    )
    @idempotent
    def post(self, request: Request, id: str, step: str) -> Response:
        lease = self.body(serializers.LeaseSerializer).get("lease_seconds")
        return claim_response(*self.handle.claim_step(int(step), lease))


class NextClaimView(ApiView):
    @schema.arena_write(
        "Claim the next step",
        "`can_write_own_slot`, arena active: claim the lowest-numbered step you could claim "
        "now (dependencies done, not completed, unassigned or yours, held by nobody): 201 "
        "with the claim and its event. When none can be claimed now, 200 with `claim` null "
        "and the steps `remaining` (not completed), `claimed` and `blocked` of them: wait "
        "for a `step_completed`, `claim_released` or `claim_expired` event and ask again. "
        "While the arena's or your budget is used up, 409 `budget_exhausted`.",
        request=serializers.LeaseSerializer,
        responds=schema.ClaimTakenSerializer,
        also={200: schema.NoClaimSerializer},
        tags=["claims"],
        conflicts=("budget_exhausted", *schema.SLOT_CONFLICTS),
    )
    @idempotent
    def post(self, request: Request, id: str) -> Response:
        lease = self.body(serializers.LeaseSerializer).get("lease_seconds")
        outcome = self.handle.claim_next(lease)
        if isinstance(outcome, Vacancy):
            return Response(no_claim(outcome))
        return claim_response(*outcome)


class ClaimRenewView(ApiView):
    @schema.arena_write(
        "Renew a claim",
        "The holder: the claim now expires `lease_seconds` (the arena's by default) from now. "
        "200 with the claim; no event. 409 `claim_lost` when it is no longer live.",
        request=serializers.LeaseSerializer,
        responds=schema.ClaimHeldSerializer,
        status=200,
        parameters=(schema.CLAIM_ID,),
        tags=["claims"],
        conflicts=("claim_lost", *schema.SLOT_CONFLICTS),
    )
    @idempotent
    def post(self, request: Request, id: str, claim_id: str) -> Response:
        lease = self.body(serializers.LeaseSerializer).get("lease_seconds")
        return claim_response(self.handle.renew_claim(claim_id, lease), None)


class ClaimView(ApiView):
    @schema.arena_delete(
        "Release a claim",
        "The holder or a coordinator (or staff): the step is free again. 204; appends "
        "`claim_released`. 409 `claim_lost` when the claim is no longer live.",
        parameter=schema.CLAIM_ID,
        conflicts=("claim_lost",),
        tags=["claims"],
    )
    def delete(self, request: Request, id: str, claim_id: str) -> Response:
        self.handle.release_claim(claim_id)
        return Response(status=status.HTTP_204_NO_CONTENT)


class ClaimsView(ApiView):
    @extend_schema(
        summary="The live claims",
        operation_id="arenas_claims_list",
        description="Every live claim of the arena, by step.",
        parameters=[schema.ARENA_ID, *schema.PAGED],
        responses={200: schema.ClaimPage, **schema.read_errors(400, 404)},
        tags=["claims"],
    )
    def get(self, request: Request, id: str) -> Response:
        return Response(
            paginate_queryset(request, self.handle.live_claims(), ("step",), claim_dict)
        )


class ProgressView(ApiView):
    @schema.arena_write(
        "Report progress",
        "`can_write_own_slot`, arena active: what your slot is doing now.",
        request=serializers.ProgressSerializer,
        responds=schema.ParticipantSerializer,
        tags=["steps"],
        status=200,
    )
    @idempotent
    def post(self, request: Request, id: str) -> Response:
        participant = self.handle.report_progress(**self.body(serializers.ProgressSerializer))
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
        artifacts = self.handle.artifacts(request.query_params.get("agent"))
        return Response(
            paginate_queryset(
                request, artifacts, OLDEST_FIRST, lambda a: artifact_dict(a, with_content=False)
            )
        )

    @schema.arena_write(
        "Publish an artifact",
        "To your own slot (`can_write_own_slot`, arena active); the slot becomes `working`.",
        request=serializers.NewArtifactSerializer,
        responds=schema.ArtifactSerializer,
        tags=["artifacts"],
    )
    @idempotent
    def post(self, request: Request, id: str) -> Response:
        artifact = self.handle.publish_artifact(**self.body(serializers.NewArtifactSerializer))
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
        return Response(artifact_dict(self.handle.artifact(artifact_id)))


class MergeView(ApiView):
    @schema.arena_write(
        "Merge artifacts",
        "`can_merge`, arena active or settling: the artifacts of the named "
        "slots become one `structured_data` artifact in your slot; `metadata.sources` lists "
        "the merged artifact ids.",
        request=serializers.MergeSerializer,
        responds=schema.ArtifactSerializer,
        tags=["artifacts"],
    )
    @idempotent
    def post(self, request: Request, id: str) -> Response:
        artifact = self.handle.merge(**self.body(serializers.MergeSerializer))
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
        facts = self.handle.facts(request.query_params.get("tag"), request.query_params.get("q"))
        return Response(paginate_queryset(request, facts, OLDEST_FIRST, fact_dict))

    @schema.arena_write(
        "Share a fact",
        "`can_write_shared_memory`, arena active. `confidence` defaults to 1.0.",
        request=serializers.NewFactSerializer,
        responds=schema.FactSerializer,
        tags=["facts"],
    )
    @idempotent
    def post(self, request: Request, id: str) -> Response:
        fact = self.handle.share_fact(**self.body(serializers.NewFactSerializer))
        return Response(fact_dict(fact), status=status.HTTP_201_CREATED)


class MessagesView(ApiView):
    @schema.arena_write(
        "Post a message",
        "Participants other than observers, until the arena is archived. Every "
        "participant sees it on the feed; `to` addresses one of them. 201 with the "
        "`message_posted` event.",
        request=serializers.NewMessageSerializer,
        responds=schema.EventSerializer,
        tags=["events"],
        conflicts=("arena_archived",),
    )
    @idempotent
    def post(self, request: Request, id: str) -> Response:
        handle = self.handle
        message = self.body(serializers.NewMessageSerializer)
        event = handle.post_message(message["text"], message.get("to"))
        return Response(to_wire(event), status=status.HTTP_201_CREATED)


# --- usage and budgets -------------------------------------------------------------------


class UsageView(ApiView):
    parser_classes = [ExactJSONParser]

    @extend_schema(
        summary="The arena's usage",
        operation_id="arenas_usage_retrieve",
        description="The arena's usage totals, and their breakdown by `group`: `agent` (the "
        "default), `step` (reports that named one) or `model`.",
        parameters=[
            schema.ARENA_ID,
            OpenApiParameter("group", str, OpenApiParameter.QUERY, enum=["agent", "step", "model"]),
        ],
        responses={200: schema.UsageBreakdownSerializer, **schema.read_errors(400, 404)},
        tags=["usage"],
    )
    def get(self, request: Request, id: str) -> Response:
        return Response(self.handle.usage(request.query_params.get("group", "agent")))

    @schema.arena_write(
        "Report usage",
        "A participant other than an observer, while the arena is active or settling: what "
        "your model calls used. Without `cost_usd` the server prices the report from the "
        "model's name; a model it cannot price is recorded with `cost_usd: null, priced: "
        "false`. Never refused for being over budget. 201 with the report and its "
        "`usage_reported` event, which carries the arena's totals after it.",
        request=serializers.UsageReportInputSerializer,
        responds=schema.UsageRecordedSerializer,
        tags=["usage"],
    )
    @idempotent
    def post(self, request: Request, id: str) -> Response:
        handle = self.handle
        values = self.body(serializers.UsageReportInputSerializer)
        row, event = handle.report_usage(values)
        return Response(
            {"usage": report_dict(row), "event": to_wire(event)}, status=status.HTTP_201_CREATED
        )


class BudgetView(ApiView):
    @extend_schema(
        summary="The budget and what is left of it",
        operation_id="arenas_budget_retrieve",
        description="The arena's budget, what the arena and you spent, what remains of each "
        "limit set (the per-agent ones for you), and the scopes used up (`arena`, your "
        "agent id). Check it before an expensive call.",
        parameters=[schema.ARENA_ID],
        responses={200: schema.BudgetStateSerializer, **schema.read_errors(404)},
        tags=["usage"],
    )
    def get(self, request: Request, id: str) -> Response:
        return Response(self.handle.budget())


# --- requests for people -----------------------------------------------------------


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
        conflicts=("arena_archived",),
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
        conflicts=("request_closed", "arena_not_active", "arena_archived"),
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
        conflicts=("request_closed",),
        tags=["requests"],
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
