"""The dashboard feed: a summary of each changed arena to every person who may see it, and to
nobody else."""

from __future__ import annotations

import pytest
from channels.db import database_sync_to_async

from arenas.manager import ArenaManager

from .helpers import aprogress, browser, connect, frame

pytestmark = pytest.mark.django_db(transaction=True)


async def dashboard(scene, user: str):
    """A dashboard of `user` that follows the changes: the server accepts the handshake
    before it identifies the user and starts watching (`open()`), and answers a ping only
    after that. (A change committed in between reaches the dashboards already watching; the
    poll then finds the process has shown that change, and this one never hears of it.)"""
    client = await connect("/ws/dashboard/", browser(scene.cookies[user]))
    await client.send_json_to({"type": "ping"})
    assert await frame(client) == {"type": "pong"}
    return client


async def summary_at(client, arena_id, seq: int) -> dict:
    """The first summary of `arena_id` that is at `seq` or later (older ones may come first
    when several events commit close together; never one older than an earlier one)."""
    newest = 0
    while True:
        message = await frame(client)
        assert message["type"] == "arena"
        summary = message["arena"]
        if summary["id"] != str(arena_id):
            continue
        assert summary["last_seq"] > newest
        newest = summary["last_seq"]
        if newest >= seq:
            return summary


async def test_change_reaches_staff_and_the_owner_of_a_participant_only(scene):
    root, carol, dave = [await dashboard(scene, user) for user in ("root", "carol", "dave")]
    last = await aprogress(scene.arena, "alice", 1)
    expected, _ = await database_sync_to_async(ArenaManager().summary_and_viewers)(scene.arena)
    for client in (root, carol):
        assert await summary_at(client, scene.arena, last) == expected
    assert expected["participant_count"] == 2
    assert expected["last_seq"] == last
    assert await dave.receive_nothing(timeout=0.5)
    for client in (root, carol, dave):
        await client.disconnect()


async def test_new_arena_of_an_owned_agent_appears_on_the_owners_dashboard(scene):
    carol, dave = await dashboard(scene, "carol"), await dashboard(scene, "dave")
    arena_id = await database_sync_to_async(ArenaManager().create)(
        {"goal": "A second arena", "total_steps": 3}, created_by="bob"
    )
    summary = await summary_at(carol, arena_id, 2)
    assert summary["goal"] == "A second arena"
    assert summary["status"] == "created"
    assert summary["participant_count"] == 1
    assert await dave.receive_nothing(timeout=0.5)
    await carol.disconnect()
    await dave.disconnect()


async def test_owner_stops_hearing_of_an_arena_their_agent_left(scene):
    carol = await dashboard(scene, "carol")
    await database_sync_to_async(lambda: ArenaManager().handle(scene.arena, "bob").leave())()
    await database_sync_to_async(
        lambda: ArenaManager().handle(scene.arena, "alice").act("settle")
    )()
    assert await carol.receive_nothing(timeout=1.0)
    await carol.disconnect()


async def test_dashboard_answers_ping(scene):
    client = await dashboard(scene, "root")
    await client.send_json_to({"type": "ping"})
    assert await frame(client) == {"type": "pong"}
    await client.disconnect()
