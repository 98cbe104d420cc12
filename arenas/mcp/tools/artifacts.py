"""Tools of artifacts: publishing, listing, reading, merging."""

from __future__ import annotations

from typing import Any

from arenas.doors.pages import OLDEST_FIRST, keyset_page
from arenas.mcp import schemas as s
from arenas.representations import (
    artifact_dict,
)

from ..registry import Caller, Reply, page, tool


@tool(
    "publish_artifact",
    "Publish an artifact",
    "Publish a result (text, code, file or structured data) to your slot.",
    properties={
        "arena_id": s.ARENA_ID,
        "kind": s.KIND,
        "title": s.TITLE,
        "content": s.CONTENT,
        "metadata": s.METADATA,
    },
    required=("arena_id", "kind", "title", "content"),
)
def publish_artifact(
    caller: Caller, arena_id: Any, kind: Any, title: Any, content: Any, metadata: Any = None
) -> Reply:
    artifact = caller.arena(arena_id).publish_artifact(kind, title, content, metadata)
    return Reply(f"Published {artifact.kind} artifact {artifact.id}.", artifact_dict(artifact))


@tool(
    "list_artifacts",
    "List artifacts",
    "The arena's artifacts without content, oldest first.",
    properties={"arena_id": s.ARENA_ID, "agent": s.AGENT_ID, "cursor": s.CURSOR},
    required=("arena_id",),
    read_only=True,
)
def list_artifacts(caller: Caller, arena_id: Any, agent: Any = None, cursor: Any = None) -> Reply:
    artifacts = caller.arena(arena_id).artifacts(agent)
    return page(
        "artifact(s)",
        *keyset_page(
            artifacts, OLDEST_FIRST, lambda a: artifact_dict(a, with_content=False), cursor=cursor
        ),
    )


@tool(
    "read_artifact",
    "Read an artifact",
    "One artifact with its content.",
    properties={"arena_id": s.ARENA_ID, "artifact_id": s.ARTIFACT_ID},
    required=("arena_id", "artifact_id"),
    read_only=True,
)
def read_artifact(caller: Caller, arena_id: Any, artifact_id: Any) -> Reply:
    artifact = artifact_dict(caller.arena(arena_id).artifact(artifact_id))
    return Reply(
        f"{artifact['kind']} artifact by {artifact['agent_id']}: {artifact['title']}", artifact
    )


@tool(
    "merge_artifacts",
    "Merge artifacts",
    "Coordinators: merge the named slots' artifacts into one structured_data artifact.",
    properties={"arena_id": s.ARENA_ID, "sources": s.SOURCES, "title": s.TITLE},
    required=("arena_id", "sources", "title"),
)
def merge_artifacts(caller: Caller, arena_id: Any, sources: Any, title: Any) -> Reply:
    merged = artifact_dict(caller.arena(arena_id).merge(sources, title))
    count = len(merged["metadata"]["sources"])
    return Reply(f"Merged {count} artifact(s) into {merged['id']}.", merged)
