"""Input serializers: the shape and JSON types of each request body.

They check what a JSON document can get wrong (types, required fields, unknown fields,
ranges, lengths) and describe it in the OpenAPI document. The arena's rules (roles, states,
unknown agents, plan cycles) stay in the domain, which validates again. Fields are strict:
text is kept verbatim (no trimming) and never made from a number, integers are JSON
integers and booleans JSON booleans. Responses are built by `arenas.representations` and
`events.to_wire`; schema.py describes them.
"""

from __future__ import annotations

import re
from functools import cache
from typing import Any

from django.core import validators
from django.core.validators import RegexValidator
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.fields import (
    ProhibitNullCharactersValidator,
    ProhibitSurrogateCharactersValidator,
    empty,
)

from arenas import inputs
from arenas.errors import Invalid
from arenas.inputs import AGENT_ID_RE, U32_MAX
from arenas.models import ArtifactKind, Role, SlotStatus, Strategy


class StrictCharField(serializers.CharField):
    """A JSON string, kept exactly as sent."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("trim_whitespace", False)
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictIntegerField(serializers.IntegerField):
    """A JSON integer (not a string, float or boolean)."""

    def to_internal_value(self, data: Any) -> int:
        if isinstance(data, bool) or not isinstance(data, int):
            self.fail("invalid")
        return data


class StrictFloatField(serializers.FloatField):
    """A JSON number (not a string or boolean)."""

    def to_internal_value(self, data: Any) -> float:
        if isinstance(data, bool) or not isinstance(data, int | float):
            self.fail("invalid")
        return float(data)


class StrictBooleanField(serializers.BooleanField):
    """`true` or `false` only."""

    def to_internal_value(self, data: Any) -> bool:
        if not isinstance(data, bool):
            self.fail("invalid", input=data)
        return data


def agent_id_field(**kwargs: Any) -> StrictCharField:
    kwargs.setdefault(
        "help_text",
        f"An agent id: 1–{inputs.AGENT_ID_MAX} of a-z 0-9 _ . - (starting a-z or 0-9).",
    )
    return StrictCharField(
        min_length=1,
        max_length=inputs.AGENT_ID_MAX,
        validators=[RegexValidator(AGENT_ID_RE.pattern, "Not a valid agent id.")],
        **kwargs,
    )


def text_field(max_length: int, **kwargs: Any) -> StrictCharField:
    """Text of 1..max_length characters that is not only whitespace."""
    kwargs.setdefault("help_text", f"1–{max_length} characters, not only whitespace.")
    return StrictCharField(min_length=1, max_length=max_length, **kwargs)


# A body whose OpenAPI schema admits only the declared fields (`schema.ClosedSchemaExtension`):
# request bodies here, response bodies in schema.py. (A comment: a docstring would become
# the description of every body in the OpenAPI document.)
class Closed(serializers.Serializer):
    pass


class InputSerializer(Closed):
    """A JSON object with only the fields declared here."""

    def to_internal_value(self, data: Any) -> dict[str, Any]:
        values = super().to_internal_value(data)
        unknown = sorted(set(data) - set(self.fields))
        if unknown:
            raise serializers.ValidationError({name: ["Unknown field."] for name in unknown})
        return values


class NoBodySerializer(InputSerializer):
    """No body, or an empty JSON object."""


class PermissionOverrides(InputSerializer):
    can_write_own_slot = StrictBooleanField(required=False)
    can_read_other_slots = StrictBooleanField(required=False)
    can_write_shared_memory = StrictBooleanField(required=False)
    can_merge = StrictBooleanField(required=False)


class NewParticipantSerializer(PermissionOverrides):
    """An agent to add, with its role and any of the four permission flags overridden
    (the role's defaults otherwise)."""

    agent_id = agent_id_field()
    role = serializers.ChoiceField(choices=Role.choices)


class PlanStepSerializer(InputSerializer):
    title = StrictCharField(max_length=inputs.STEP_TITLE_MAX, allow_blank=True, required=False)
    assignee = agent_id_field(allow_null=True, required=False)
    depends_on = serializers.ListField(
        child=StrictIntegerField(min_value=1, max_value=inputs.PLAN_MAX_STEPS),
        max_length=inputs.PLAN_MAX_STEPS,
        required=False,
        help_text="Numbers of the steps (from 1) that must be completed before this one.",
    )
    review = StrictBooleanField(
        required=False,
        help_text="A review step: completing it opens a review for a person, whose approval "
        "completes it.",
    )


@extend_schema_field(
    {
        "oneOf": [
            {"type": "string", "pattern": r"^[0-9]{1,20}(\.[0-9]{1,20})?$"},
            {"type": "number", "minimum": 0},
        ],
        "description": "US dollars, at least 0, at most 6 decimal places.",
    }
)
class MoneyField(serializers.Field):
    """US dollars: a JSON number or a string, at least 0, at most 6 decimal places; kept
    exactly (the domain counts micro-dollars)."""

    def to_internal_value(self, data: Any) -> Any:
        try:
            return inputs.usd(inputs.money(data, self.field_name))
        except Invalid as invalid:
            raise serializers.ValidationError(invalid.fields[self.field_name]) from None

    def to_representation(self, value: Any) -> Any:
        return value


class BudgetInputSerializer(InputSerializer):
    """Spending limits, each optional (a limit not given is not set), each at least 0.
    Tokens count input plus output tokens."""

    cost_usd = MoneyField(required=False, allow_null=True, help_text="The arena's limit.")
    tokens = StrictIntegerField(
        min_value=0, max_value=inputs.U64_MAX, required=False, allow_null=True
    )
    per_agent_cost_usd = MoneyField(
        required=False, allow_null=True, help_text="Each agent's limit."
    )
    per_agent_tokens = StrictIntegerField(
        min_value=0, max_value=inputs.U64_MAX, required=False, allow_null=True
    )


class ArenaConfigSerializer(InputSerializer):
    """A new arena: `total_steps` (untitled steps; 0 = open-ended) or a `plan`."""

    goal = text_field(inputs.GOAL_MAX)
    strategy = serializers.ChoiceField(choices=Strategy.choices, required=False)
    total_steps = StrictIntegerField(min_value=0, max_value=U32_MAX, required=False)
    plan = PlanStepSerializer(many=True, required=False, max_length=inputs.PLAN_MAX_STEPS)
    participants = NewParticipantSerializer(
        many=True, required=False, max_length=inputs.INITIAL_PARTICIPANTS_MAX
    )
    lease_seconds = StrictIntegerField(
        min_value=inputs.LEASE_MIN,
        max_value=inputs.LEASE_MAX,
        required=False,
        help_text=f"A claim's lease when the claim does not say (default "
        f"{inputs.LEASE_DEFAULT} s).",
    )
    budget = BudgetInputSerializer(required=False, allow_null=True)


class ArenaUpdateSerializer(InputSerializer):
    """`goal`, `budget` or both. `budget` replaces the whole budget; null removes it."""

    goal = text_field(inputs.GOAL_MAX, required=False)
    budget = BudgetInputSerializer(required=False, allow_null=True)


class UsageReportInputSerializer(InputSerializer):
    """One or more model calls. Field names follow the OpenTelemetry GenAI conventions
    (`gen_ai.usage.input_tokens` is `input_tokens`)."""

    model = text_field(inputs.MODEL_NAME_MAX, help_text="The model's name, e.g. gpt-4o.")
    input_tokens = StrictIntegerField(
        min_value=0, max_value=U32_MAX, help_text="Input tokens, cached ones included."
    )
    output_tokens = StrictIntegerField(min_value=0, max_value=U32_MAX)
    cached_input_tokens = StrictIntegerField(
        min_value=0,
        max_value=U32_MAX,
        required=False,
        help_text="Of the input tokens, those read from the provider's cache (default 0).",
    )
    calls = StrictIntegerField(
        min_value=1, max_value=U32_MAX, required=False, help_text="Model calls (default 1)."
    )
    cost_usd = MoneyField(
        required=False,
        allow_null=True,
        help_text="What the calls cost, if you know it: a number or a string, at most 6 "
        "decimal places. Without it the server prices the report from the model's name.",
    )
    step = StrictIntegerField(
        min_value=1,
        max_value=U32_MAX,
        required=False,
        allow_null=True,
        help_text="The step the calls were for, if any.",
    )


class ForkRequestSerializer(InputSerializer):
    at = StrictIntegerField(
        min_value=1,
        max_value=inputs.SEQ_MAX,
        help_text="The seq to fork at: the fork starts from the arena's state right after it.",
    )
    goal = text_field(
        inputs.GOAL_MAX, required=False, help_text="The fork's goal (default: the goal then)."
    )


class CompleteStepSerializer(InputSerializer):
    step = StrictIntegerField(min_value=1, max_value=U32_MAX)
    claim_id = StrictIntegerField(
        min_value=1,
        max_value=inputs.SEQ_MAX,
        required=False,
        help_text="Your live claim on the step (the fencing token): the completion counts "
        "only while that claim is live (else 409 claim_lost).",
    )


class LeaseSerializer(InputSerializer):
    """An optional lease; the arena's `lease_seconds` when not given."""

    lease_seconds = StrictIntegerField(
        min_value=inputs.LEASE_MIN, max_value=inputs.LEASE_MAX, required=False
    )


class ProgressSerializer(InputSerializer):
    """At least one of the two; the other stays as it is."""

    current = StrictCharField(max_length=inputs.CURRENT_MAX, allow_blank=True, required=False)
    slot_status = serializers.ChoiceField(choices=SlotStatus.choices, required=False)


class NewArtifactSerializer(InputSerializer):
    kind = serializers.ChoiceField(choices=ArtifactKind.choices)
    title = text_field(inputs.TITLE_MAX)
    content = serializers.JSONField(
        help_text="A string (at most 1 MiB); any JSON value for kind structured_data."
    )
    metadata = serializers.DictField(required=False, help_text="A JSON object (at most 64 KiB).")


class MergeSerializer(InputSerializer):
    sources = serializers.ListField(
        child=agent_id_field(),
        min_length=1,
        max_length=inputs.MERGE_SOURCES_MAX,
        help_text="The agent ids whose slots' artifacts are merged.",
    )
    title = text_field(inputs.TITLE_MAX)


class NewFactSerializer(InputSerializer):
    content = text_field(inputs.FACT_MAX)
    confidence = StrictFloatField(
        min_value=inputs.CONFIDENCE_MIN, max_value=inputs.CONFIDENCE_MAX, required=False
    )
    tags = serializers.ListField(
        child=StrictCharField(min_length=1, max_length=inputs.TAG_MAX),
        max_length=inputs.TAGS_MAX,
        required=False,
    )


class NewRequestSerializer(InputSerializer):
    text = text_field(inputs.REQUEST_MAX)
    choices = serializers.ListField(
        child=StrictCharField(min_length=1, max_length=inputs.CHOICE_MAX),
        min_length=1,
        max_length=inputs.CHOICES_MAX,
        allow_null=True,
        required=False,
        help_text="The answers to choose from (distinct); null or absent for a free answer.",
    )
    step = StrictIntegerField(
        min_value=1,
        max_value=U32_MAX,
        allow_null=True,
        required=False,
        help_text="The step the question is about, if any.",
    )


class NewAnswerSerializer(InputSerializer):
    choice = StrictCharField(
        max_length=inputs.CHOICE_MAX,
        allow_null=True,
        required=False,
        help_text="One of the request's choices (required when it has choices).",
    )
    text = StrictCharField(
        max_length=inputs.REQUEST_MAX,
        allow_blank=True,
        allow_null=True,
        required=False,
        help_text="The answer's text (required for a free answer).",
    )


class NewMessageSerializer(InputSerializer):
    text = text_field(inputs.MESSAGE_MAX)
    to = agent_id_field(
        allow_null=True,
        required=False,
        help_text="A current participant's agent id, or null (the default) for everyone.",
    )


def validated(serializer_class: type[InputSerializer], data: Any) -> dict[str, Any]:
    """The validated body, or DRF's ValidationError (400 `invalid` with `fields`).

    A valid body of a serializer whose fields are all plain (`_plain_fields`: bounded
    integers, text with only its lengths to check, money) is taken without building the
    serializer, which costs more than the rest of the request's handling around the domain
    (a step completion's, a usage report's); anything else, and every body the shortcut
    does not take whole, goes through DRF for the same result and the same errors."""
    plain = _plain_fields(serializer_class)
    if plain is not None and type(data) is dict and data.keys() <= plain.keys():
        values = _plainly_valid(plain, data)
        if values is not None:
            return values
    serializer = serializer_class(data=data)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


_INTEGER, _TEXT, _MONEY = "integer", "text", "money"
_TEXT_VALIDATORS = (
    validators.MinLengthValidator,
    validators.MaxLengthValidator,
    ProhibitNullCharactersValidator,
    ProhibitSurrogateCharactersValidator,
)
_SURROGATE = re.compile("[\ud800-\udfff]")


def _plainly_valid(plain: dict[str, tuple], data: dict[str, Any]) -> dict[str, Any] | None:
    """The values DRF would validate `data` to, or None when that takes DRF to decide
    (an invalid body among them)."""
    values: dict[str, Any] = {}
    for name, (kind, low, high, required, nullable) in plain.items():
        value = data.get(name, empty)
        if value is empty:
            if required:
                return None
            continue
        if value is None:
            if not nullable:
                return None
        elif kind == _INTEGER:
            if type(value) is not int or not low <= value <= high:
                return None
        elif kind == _TEXT:
            if (
                type(value) is not str
                or not low <= len(value) <= high
                or "\x00" in value
                or _SURROGATE.search(value)
            ):
                return None
        else:
            try:
                value = inputs.usd(inputs.money(value, name))
            except Invalid:
                return None
        values[name] = value
    return values


@cache
def _plain_fields(serializer_class: type[InputSerializer]) -> dict[str, tuple] | None:
    """(kind, min, max, required, nullable) of each field, in order, when the serializer
    has only bounded StrictIntegerFields, StrictCharFields with their lengths as their only
    validators, and MoneyFields, and nothing else that validates (validators of their own,
    defaults, `validate` methods); otherwise None."""
    if serializer_class.validate is not serializers.Serializer.validate:
        return None
    fields = {}
    for name, field in serializer_class._declared_fields.items():
        if (
            field.default is not empty
            or field.read_only
            or field.source not in (None, name)
            or hasattr(serializer_class, f"validate_{name}")
        ):
            return None
        if type(field) is StrictIntegerField:
            if field.min_value is None or field.max_value is None or len(field.validators) != 2:
                return None  # the min and max validators alone
            kind, low, high = _INTEGER, field.min_value, field.max_value
        elif type(field) is StrictCharField:
            if (
                field.min_length is None
                or field.max_length is None
                or field.allow_blank
                or field.trim_whitespace
                or len(field.validators) != len(_TEXT_VALIDATORS)
                or not all(type(v) in _TEXT_VALIDATORS for v in field.validators)
            ):
                return None
            kind, low, high = _TEXT, max(field.min_length, 1), field.max_length
        elif type(field) is MoneyField:
            if field.validators:
                return None
            kind, low, high = _MONEY, None, None
        else:
            return None
        fields[name] = (kind, low, high, field.required, field.allow_null)
    return fields
