"""The arena feed's protocol: snapshot first, replay from `after`, live events, ping/pong,
and the end of a feed when its viewer leaves the arena."""

from __future__ import annotations

import pytest
from channels.db import database_sync_to_async

from arenas.events import to_wire
from arenas.manager import ArenaManager
from arenas.models import Event

from .helpers import aprogress, bearer, browser, close_code, connect, events_until, frame

pytestmark = pytest.mark.django_db(transaction=True)


def logged(arena_id, after: int = 0) -> list[dict]:
    return [to_wire(e) for e in Event.objects.filter(arena_id=arena_id, seq__gt=after)]


async def open_feed(scene, agent: str = "bob", query: str = ""):
    client = await connect(f"/ws/arenas/{scene.arena}/{query}", bearer(scene.tokens[agent]))
    snapshot = await frame(client)
    assert snapshot["type"] == "snapshot"
    return client, snapshot["arena"]


async def test_snapshot_is_the_arena_as_the_rest_api_shows_it(scene):
    client, arena = await open_feed(scene)
    expected = await database_sync_to_async(
        lambda: ArenaManager().handle(scene.arena, "bob").detail()
    )()
    assert arena == expected
    await client.disconnect()


async def test_after_replays_every_stored_event_with_a_larger_seq_in_order(scene):
    last = await aprogress(scene.arena, "bob", 5)
    client, arena = await open_feed(scene, query="?after=2")
    assert arena["last_seq"] == last
    replayed = await events_until(client, last)
    assert replayed == await database_sync_to_async(logged)(scene.arena, 2)
    assert await client.receive_nothing(timeout=0.5)
    await client.disconnect()


async def test_after_zero_replays_the_whole_log(scene):
    client, arena = await open_feed(scene, query="?after=0")
    replayed = await events_until(client, arena["last_seq"])
    assert [e["seq"] for e in replayed] == list(range(1, arena["last_seq"] + 1))
    assert replayed[0]["type"] == "arena_created"
    await client.disconnect()


async def test_after_past_the_head_waits_for_later_events(scene):
    client, arena = await open_feed(scene, query="?after=1000")
    assert await client.receive_nothing(timeout=0.5)
    await client.disconnect()


async def test_without_after_only_events_newer_than_the_snapshot_arrive(scene):
    await aprogress(scene.arena, "bob", 3)
    client, arena = await open_feed(scene)
    last = await aprogress(scene.arena, "alice", 2)
    received = await events_until(client, last)
    assert [e["seq"] for e in received] == [arena["last_seq"] + 1, arena["last_seq"] + 2]
    assert received == await database_sync_to_async(logged)(scene.arena, arena["last_seq"])
    await client.disconnect()


async def test_live_events_reach_every_subscriber_in_order(scene):
    bob, snapshot = await open_feed(scene, "bob")
    alice, _ = await open_feed(scene, "alice")
    carol = await connect(f"/ws/arenas/{scene.arena}/", browser(scene.cookies["carol"]))
    assert (await frame(carol))["type"] == "snapshot"
    last = await aprogress(scene.arena, "bob", 4)
    expected = await database_sync_to_async(logged)(scene.arena, snapshot["last_seq"])
    for client in (bob, alice, carol):
        assert await events_until(client, last) == expected
        await client.disconnect()


async def test_ping_gets_pong_and_anything_else_an_error_frame(scene):
    client, _ = await open_feed(scene)
    await client.send_json_to({"type": "ping"})
    assert await frame(client) == {"type": "pong"}
    for text in ('{"type": "subscribe"}', "not json", "[1, 2]", '"ping"'):
        await client.send_to(text_data=text)
        error = await frame(client)
        assert error["type"] == "error" and error["error"] == "invalid"
    await client.send_to(bytes_data=b"\x00\x01")
    assert (await frame(client))["type"] == "error"
    await client.send_json_to({"type": "ping"})
    assert await frame(client) == {"type": "pong"}
    await client.disconnect()


async def test_agent_feed_closes_4404_right_after_the_agent_leaves(scene):
    client, arena = await open_feed(scene, "bob")
    await database_sync_to_async(lambda: ArenaManager().handle(scene.arena, "bob").leave())()
    (left,) = await events_until(client, arena["last_seq"] + 1)
    assert left["type"] == "agent_left" and left["agent_id"] == "bob"
    assert await close_code(client) == 4404


async def test_owner_feed_closes_4404_when_their_last_agent_leaves(scene):
    client = await connect(f"/ws/arenas/{scene.arena}/", browser(scene.cookies["carol"]))
    arena = (await frame(client))["arena"]
    await database_sync_to_async(lambda: ArenaManager().handle(scene.arena, "bob").leave())()
    (left,) = await events_until(client, arena["last_seq"] + 1)
    assert left["type"] == "agent_left"
    assert await close_code(client) == 4404


async def test_other_agents_leaving_does_not_end_a_feed(scene):
    def add_and_remove_mallory() -> int:
        handle = ArenaManager().handle(scene.arena, "alice")
        handle.add_participant("mallory", "observer")
        handle.remove_participant("mallory")
        return handle.arena().last_seq

    client, _ = await open_feed(scene, "bob")
    staff = await connect(f"/ws/arenas/{scene.arena}/", browser(scene.cookies["root"]))
    assert (await frame(staff))["type"] == "snapshot"
    last = await database_sync_to_async(add_and_remove_mallory)()
    last = await aprogress(scene.arena, "bob", 1)
    for feed in (client, staff):
        received = await events_until(feed, last)
        assert [e["type"] for e in received] == ["agent_joined", "agent_left", "progress_updated"]
        await feed.disconnect()


async def test_replaying_an_old_departure_of_an_agent_that_rejoined_keeps_the_feed(scene):
    def leave_and_rejoin() -> int:
        ArenaManager().handle(scene.arena, "bob").leave()
        handle = ArenaManager().handle(scene.arena, "alice")
        handle.add_participant("bob", "worker")
        return handle.arena().last_seq

    last = await database_sync_to_async(leave_and_rejoin)()
    client, _ = await open_feed(scene, "bob", query="?after=0")
    replayed = await events_until(client, last)
    assert [e["type"] for e in replayed][-2:] == ["agent_left", "agent_joined"]
    await client.send_json_to({"type": "ping"})
    assert await frame(client) == {"type": "pong"}
    await client.disconnect()


async def test_the_asker_receives_the_answer_to_its_request_on_its_feed(scene):
    """The answer reaches the agent on its feed, as `input_provided`."""
    asked = await database_sync_to_async(
        lambda: ArenaManager().handle(scene.arena, "bob").ask("Which title?", ["A", "B"])
    )()
    client, snapshot = await open_feed(scene, "bob")
    await database_sync_to_async(
        lambda: (
            ArenaManager().staff_handle(scene.arena, "root").answer_request(asked.id, "B", "Go.")
        )
    )()
    [provided] = await events_until(client, snapshot["last_seq"] + 1, snapshot["last_seq"])
    assert {k: provided[k] for k in ("type", "request_id", "agent_id", "by", "choice", "text")} == {
        "type": "input_provided",
        "request_id": str(asked.id),
        "agent_id": "bob",
        "by": "staff:root",
        "choice": "B",
        "text": "Go.",
    }
    await client.disconnect()
