"""Usage and budgets: the arena's usage, reporting it, the budget and what is left."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response

from arenas.api import schema, serializers
from arenas.api.bodies import ExactJSONParser
from arenas.api.idempotency import idempotent
from arenas.events import to_wire
from arenas.usage import report_dict

from .base import ApiView


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
        operation="report_usage",
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
