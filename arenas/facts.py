"""Searching shared facts: an arena's own, and long-term memory (the facts of archived
arenas). Both lists filter the same way: `tag` matches one tag exactly, `q` is a substring of
the content with case folded for every letter (`str.casefold`, compared with the folded copy
stored beside the content), oldest first."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from . import inputs
from .models import Fact


def search(facts: QuerySet[Fact], tag: Any = None, q: Any = None) -> QuerySet[Fact]:
    if tag is not None:
        facts = facts.filter(tag_rows__tag=inputs.tag(tag))
    if q is not None:
        facts = facts.filter(content_folded__contains=inputs.search(q).casefold())
    return facts.order_by("created_at", "id")
