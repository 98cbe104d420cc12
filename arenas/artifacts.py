"""Artifacts: what participants publish to their own slot, and merging slots into one.

A participant reads its own slot always and other slots with `can_read_other_slots`
(`require_may_read`; staff read every slot). Publishing or merging makes the caller's slot
`working`. Publishing and merging run inside a write of `ArenaHandle` (the arena's row
locked, the caller checked); the events they append are the write's own.
"""

from __future__ import annotations

from typing import Any

from . import events, inputs, validation
from .errors import Invalid, PermissionDenied
from .models import Arena, Artifact, ArtifactKind, EventType, Participant, SlotStatus


def require_may_read(me: Participant | None, slot: str) -> None:
    """A participant reads its own slot always and other slots with can_read_other_slots
    (staff, `me` None, read every slot): listing, reading and merging alike."""
    if me is not None and slot != me.agent_id and not me.can_read_other_slots:
        raise PermissionDenied("Your participation lacks the permission can_read_other_slots.")


def publish(
    arena: Arena, me: Participant, actor: str, kind: Any, title: Any, content: Any, metadata: Any
) -> Artifact:
    """Publish to the caller's own slot (`artifact_published`)."""
    kind = validation.choice(kind, "kind", ArtifactKind.values)
    title = inputs.title(title)
    text_only = kind != ArtifactKind.STRUCTURED_DATA
    content = inputs.content(content, kind, text_only=text_only)
    artifact = _store(
        arena,
        me,
        kind=kind,
        title=title,
        content=content,
        metadata=inputs.metadata(metadata),
    )
    events.append(
        arena,
        EventType.ARTIFACT_PUBLISHED,
        actor,
        agent_id=me.agent_id,
        artifact_id=str(artifact.id),
        kind=kind,
        title=title,
    )
    return artifact


def merge(arena: Arena, me: Participant, actor: str, sources: Any, title: Any) -> Artifact:
    """Merge the artifacts of the named slots into one `structured_data` artifact in the
    caller's slot (`artifacts_merged`): `{"artifacts": [...]}` ordered by slot, then age.
    Each slot must be one the caller may read; the result is held to the content limit."""
    title = inputs.title(title)
    slots = inputs.merge_sources(sources)
    for slot in slots:
        require_may_read(me, slot)
    _require_slots(arena, slots)
    merged = sorted(
        Artifact.objects.filter(arena=arena, agent_id__in=slots),
        key=lambda a: (a.agent_id, a.created_at, a.id),
    )
    if not merged:
        raise Invalid.field("sources", "The named slots hold no artifacts.")
    content = {"artifacts": [_merged(a) for a in merged]}
    size = validation.size_in_bytes(content)
    if size > inputs.CONTENT_MAX_BYTES:
        raise Invalid.field(
            "sources",
            f"The merged artifact would hold {size} bytes; an artifact holds at most "
            f"{inputs.CONTENT_MAX_BYTES}. Merge fewer slots.",
        )
    source_ids = [str(a.id) for a in merged]
    artifact = _store(
        arena,
        me,
        kind=ArtifactKind.STRUCTURED_DATA,
        title=title,
        content=content,
        metadata={"sources": source_ids, "slots": slots},
    )
    events.append(
        arena,
        EventType.ARTIFACTS_MERGED,
        actor,
        agent_id=me.agent_id,
        artifact_id=str(artifact.id),
        sources=source_ids,
    )
    return artifact


def _require_slots(arena: Arena, slots: list[str]) -> None:
    """Every named slot belongs to an agent that takes or took part in the arena."""
    known = set(
        Participant.objects.filter(arena=arena, agent_id__in=slots).values_list(
            "agent_id", flat=True
        )
    )
    unknown = [s for s in slots if s not in known]
    if unknown:
        raise Invalid.field("sources", f"No slot in this arena for: {', '.join(unknown)}.")


def _merged(artifact: Artifact) -> dict[str, Any]:
    """A merged artifact's entry: the id, agent_id, kind, title and content of its wire
    form (`representations.artifact_dict`)."""
    return {
        "id": str(artifact.id),
        "agent_id": artifact.agent_id,
        "kind": artifact.kind,
        "title": artifact.title,
        "content": artifact.content,
    }


def _store(arena: Arena, me: Participant, **fields: Any) -> Artifact:
    """A new artifact in the caller's slot, which becomes `working`."""
    artifact = Artifact.objects.create(arena=arena, agent_id=me.agent_id, **fields)
    if me.slot_status != SlotStatus.WORKING:
        me.slot_status = SlotStatus.WORKING
        me.save(update_fields=["slot_status"])
    return artifact
