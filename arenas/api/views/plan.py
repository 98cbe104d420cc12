"""The plan: its steps, completing one, reporting progress."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response

from arenas.api import schema, serializers
from arenas.api.idempotency import idempotent
from arenas.api.pagination import (
    next_url,
    query_int,
    query_limit,
)
from arenas.inputs import U32_MAX
from arenas.representations import (
    participant_dict,
    review_opened,
    step_result,
)

from .base import ApiView


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
        operation="complete_step",
    )
    @idempotent
    def post(self, request: Request, id: str) -> Response:
        body = self.body(serializers.CompleteStepSerializer)
        done = self.handle.complete_step(body["step"], body.get("claim_id"))
        if done.request is not None:
            return Response(review_opened(done.request, done.event), status.HTTP_202_ACCEPTED)
        return Response(step_result(done.event, done.aggregate), status=status.HTTP_201_CREATED)


class ProgressView(ApiView):
    @schema.arena_write(
        "Report progress",
        "`can_write_own_slot`, arena active: what your slot is doing now.",
        request=serializers.ProgressSerializer,
        responds=schema.ParticipantSerializer,
        tags=["steps"],
        status=200,
        operation="report_progress",
    )
    @idempotent
    def post(self, request: Request, id: str) -> Response:
        participant = self.handle.report_progress(**self.body(serializers.ProgressSerializer))
        return Response(participant_dict(participant))
