"""Components that many bodies hold: permissions, usage totals, a budget, a fork's origin."""

from __future__ import annotations

from rest_framework import serializers

from arenas.permissions import PERMISSIONS

from .base import Wire, money_field, tokens_field


class PermissionsSerializer(Wire):
    can_write_own_slot = serializers.BooleanField()
    can_read_other_slots = serializers.BooleanField()
    can_write_shared_memory = serializers.BooleanField()
    can_merge = serializers.BooleanField()


assert tuple(PermissionsSerializer().fields) == PERMISSIONS


class UsageTotalsSerializer(Wire):
    """Usage added up (OpenTelemetry GenAI: `gen_ai.usage.input_tokens`, …)."""

    input_tokens = tokens_field(help_text="gen_ai.usage.input_tokens, cached ones included.")
    output_tokens = tokens_field(help_text="gen_ai.usage.output_tokens.")
    cached_input_tokens = tokens_field(help_text="gen_ai.usage.cache_read.input_tokens.")
    calls = tokens_field()
    cost_usd = money_field(help_text="The priced calls' cost, in US dollars (6 places).")
    unpriced_calls = tokens_field(help_text="Calls of models no price was known for.")


class BudgetSerializer(Wire):
    """Spending limits; a limit not given is not set. Tokens count input plus output."""

    cost_usd = money_field(required=False, help_text="The whole arena's limit, in dollars.")
    tokens = tokens_field(required=False, help_text="The whole arena's token limit.")
    per_agent_cost_usd = money_field(required=False, help_text="Each agent's limit, in dollars.")
    per_agent_tokens = tokens_field(required=False, help_text="Each agent's token limit.")


class ForkedFromSerializer(Wire):
    arena_id = serializers.UUIDField()
    seq = serializers.IntegerField(min_value=1)
