"""Claims (leases on steps): claim a step or the next one, renew, release, list."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response

from arenas.api import schema, serializers
from arenas.api.idempotency import idempotent
from arenas.api.pagination import (
    paginate_queryset,
)
from arenas.claims import Vacancy
from arenas.models import Claim, Event
from arenas.representations import (
    claim_dict,
    claim_result,
    no_claim,
)

from .base import ApiView


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
        operation="claim_step",
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
        operation="claim_next",
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
        operation="renew_claim",
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
        tags=["claims"],
        operation="release_claim",
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
