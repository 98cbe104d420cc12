"""Every REST operation through the client, against a live server: once with
the blocking client and once with the async one (the same scenario)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from arena_helpers import Blocking

from aleph_client import ArenaClient, AsyncArenaClient, NotFound, etag

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(180)]


@pytest.fixture(params=["blocking", "async"])
def connect(request, live_server) -> Iterator[Callable[[str], Any]]:
    """connect(token) -> a client of the live server, blocking or async (driven blocking)."""
    opened: list[Any] = []
    loop = asyncio.Runner()

    def make(token: str) -> Any:
        if request.param == "blocking":
            client: Any = ArenaClient(live_server.url, token)
        else:
            client = Blocking(AsyncArenaClient(live_server.url, token), loop)
        opened.append(client)
        return client

    yield make
    for client in opened:
        client.close()
    loop.close()


def test_every_rest_operation_answers_its_typed_result(connect, tokens):
    keys = tokens("lead", "ana", "obs")
    lead, ana, obs = connect(keys["lead"]), connect(keys["ana"]), connect(keys["obs"])

    assert lead.health() == {"status": "ok"}
    me = lead.whoami()
    assert me["agent_id"] == "lead" and me["active_arenas"] == []

    arena = lead.create_arena(
        goal="Map the estuary",
        plan=[
            {"title": "Count the birds", "assignee": "ana"},
            {"title": "Write it up", "depends_on": [1]},
        ],
        participants=[{"agent_id": "ana", "role": "worker"}],
    )
    arena_id = arena["id"]
    assert arena["status"] == "created" and arena["total_steps"] == 2
    assert arena["you"]["role"] == "coordinator"
    assert lead.get_arena(arena_id)["goal"] == "Map the estuary"

    updated = lead.update_goal(arena_id, "Map the Tagus estuary", if_match=etag(arena))
    assert updated["goal"] == "Map the Tagus estuary"
    observer = lead.add_participant(arena_id, "obs", "observer", can_read_other_slots=False)
    assert observer["role"] == "observer"
    assert observer["permissions"]["can_read_other_slots"] is False
    people = lead.list_participants(arena_id, limit=2)
    assert [p["agent_id"] for p in people["results"]] == ["ana", "lead"]
    assert [p["agent_id"] for p in lead.all(people)] == ["ana", "lead", "obs"]

    assert lead.transition(arena_id, "activate")["status"] == "active"
    plan = ana.get_plan(arena_id)
    assert [(s["step"], s["title"], s["completed"]) for s in plan["results"]] == [
        (1, "Count the birds", False),
        (2, "Write it up", False),
    ]
    assert ana.report_progress(arena_id, "Counting", "working")["current"] == "Counting"
    artifact = ana.publish_artifact(arena_id, "text", "Counts", "42 flamingos")
    assert artifact["agent_id"] == "ana" and artifact["kind"] == "text"
    listed = lead.list_artifacts(arena_id, agent="ana")["results"]
    assert [a["id"] for a in listed] == [artifact["id"]]
    assert lead.read_artifact(arena_id, artifact["id"])["content"] == "42 flamingos"
    fact = ana.share_fact(arena_id, "Flamingos winter here", 0.9, ["birds"])
    assert fact["source_agent"] == "ana" and fact["tags"] == ["birds"]
    assert [f["id"] for f in lead.search_facts(arena_id, q="flamingo")["results"]] == [fact["id"]]

    done = ana.complete_step(arena_id, 1)
    assert done["event"]["type"] == "step_completed" and done["event"]["step"] == 1
    assert done["aggregate"]["completed_steps"] == 1
    message = ana.post_message(arena_id, "Counts are up", to="lead")
    assert message["type"] == "message_posted" and message["to"] == "lead"
    merged = lead.merge_artifacts(arena_id, ["ana"], "Bundle")
    assert merged["kind"] == "structured_data"
    assert merged["metadata"]["sources"] == [artifact["id"]]
    assert lead.complete_step(arena_id, 2)["aggregate"]["completed_steps"] == 2
    aggregate = obs.get_aggregate(arena_id)
    assert aggregate["progress"] == 1.0 and aggregate["participants"] == ["ana", "lead", "obs"]

    events = obs.list_events(arena_id, after=0, limit=5)
    assert [e["seq"] for e in events["events"]] == [1, 2, 3, 4, 5]
    assert events["next_after"] == 5
    rest = obs.list_events(arena_id, after=events["next_after"])
    assert rest["events"][0]["seq"] == 6 and rest["next_after"] is None
    assert rest["events"][-1]["seq"] == rest["last_seq"] == aggregate["last_seq"]

    assert lead.active_arenas("lead") == {"arena_ids": [arena_id]}
    assert lead.remove_participant(arena_id, "obs") is None
    with pytest.raises(NotFound):
        obs.get_arena(arena_id)
    assert ana.leave(arena_id) is None
    assert [p["agent_id"] for p in lead.all(lead.list_participants(arena_id))] == ["lead"]

    assert lead.transition(arena_id, "settle")["status"] == "settling"
    archived = lead.transition(arena_id, "archive")
    assert archived["settle_report"]["facts_persisted"] == 1
    memory = lead.search_memory(tag="birds")
    assert [f["content"] for f in memory["results"]] == ["Flamingos winter here"]
    assert lead.whoami()["active_arenas"] == []


def test_all_walks_every_page_of_a_list_in_order(connect, tokens):
    lead = connect(tokens("lead")["lead"])
    created = [lead.create_arena(goal=f"Arena {n}", total_steps=1)["id"] for n in range(5)]

    first = lead.list_arenas(limit=2)
    assert len(first["results"]) == 2 and first["next"]
    assert [a["id"] for a in lead.all(first)] == created[::-1]  # newest first
    assert [a["id"] for a in lead.all(lead.list_arenas(status="created", limit=500))] == (
        created[::-1]
    )
