"""Usage and budgets: a report with its event, the breakdowns, the budget's state."""

from __future__ import annotations

from rest_framework import serializers

from arenas.inputs import (
    U32_MAX,
)

from .base import Wire, money_field, timestamp_field, tokens_field
from .common import BudgetSerializer, UsageTotalsSerializer
from .events import EventSerializer


class UsageReportSerializer(Wire):
    arena_id = serializers.UUIDField()
    seq = serializers.IntegerField(min_value=1, help_text="The seq of its usage_reported event.")
    agent_id = serializers.CharField()
    model = serializers.CharField()
    input_tokens = serializers.IntegerField(min_value=0, max_value=U32_MAX)
    output_tokens = serializers.IntegerField(min_value=0, max_value=U32_MAX)
    cached_input_tokens = serializers.IntegerField(min_value=0, max_value=U32_MAX)
    calls = serializers.IntegerField(min_value=1, max_value=U32_MAX)
    cost_usd = money_field(allow_null=True, help_text="null: the model could not be priced.")
    priced = serializers.BooleanField()
    step = serializers.IntegerField(min_value=1, max_value=U32_MAX, allow_null=True)
    created_at = timestamp_field()


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

    cost_usd = money_field(required=False)
    tokens = tokens_field(required=False)
    per_agent_cost_usd = money_field(required=False)
    per_agent_tokens = tokens_field(required=False)


class BudgetStateSerializer(Wire):
    budget = BudgetSerializer(allow_null=True)
    spent = SpentSerializer()
    remaining = RemainingSerializer()
    exhausted = serializers.ListField(
        child=serializers.CharField(),
        help_text="Used-up scopes: `arena` and/or your agent id. While one is, claiming and "
        "completing without a claim are refused (409 budget_exhausted).",
    )
