"""The conditions the check constraints of the tables are built from."""

from __future__ import annotations

from django.db import models
from django.db.models import Q

from ..inputs import U32_MAX


def one_of(field: str, choices: type[models.TextChoices]) -> Q:
    """`field` holds one of the `choices`."""
    return Q(**{f"{field}__in": choices.values})


def u32(field: str) -> Q:
    """`field` lies in the u32 range 0..4294967295."""
    return Q(**{f"{field}__gte": 0, f"{field}__lte": U32_MAX})


def step_number(field: str) -> Q:
    """`field` is a step number: 1..4294967295."""
    return Q(**{f"{field}__gte": 1, f"{field}__lte": U32_MAX})
