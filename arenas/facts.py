"""Shared facts: sharing one (inside a write of `ArenaHandle`), and searching them: an
arena's own, and long-term memory (the facts of archived arenas). Both lists filter the same
way: `tag` matches one tag exactly, `q` is a substring of the content with case folded for
every letter (`str.casefold`, compared with the folded copy stored beside the content),
oldest first."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from . import events, inputs
from .models import Arena, EventType, Fact, FactTag, Participant


def share(
    arena: Arena, me: Participant, actor: str, content: Any, confidence: Any, tags: Any
) -> Fact:
    """A fact shared by the caller, with its tag rows and `fact_shared`."""
    content = inputs.fact(content)
    tags = inputs.tags(tags)
    fact = Fact.objects.create(
        arena=arena,
        source_agent_id=me.agent_id,
        content=content,
        content_folded=content.casefold(),
        confidence=inputs.confidence(confidence),
        tags=tags,
    )
    FactTag.objects.bulk_create([FactTag(fact=fact, tag=tag) for tag in set(tags)])
    events.append(arena, EventType.FACT_SHARED, actor, agent_id=me.agent_id, fact_id=str(fact.id))
    return fact


def search(facts: QuerySet[Fact], tag: Any = None, q: Any = None) -> QuerySet[Fact]:
    if tag is not None:
        facts = facts.filter(tag_rows__tag=inputs.tag(tag))
    if q is not None:
        facts = facts.filter(content_folded__contains=inputs.search(q).casefold())
    return facts.order_by("created_at", "id")
