"""The feed's guarantee: every event after a client's starting point exactly once, in
order, with no gap, while events commit during the replay and when the channel layer loses
doorbells or group memberships."""

from __future__ import annotations

import asyncio

import pytest
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer

from arenas.events import to_wire
from arenas.manager import ArenaManager
from arenas.models import Event

from .helpers import aprogress, bearer, browser, connect, events_until, frame, progress

pytestmark = pytest.mark.django_db(transaction=True)

WRITES = 120
CLIENTS_MAX = 40


def logged(arena_id, after: int = 0) -> list[dict]:
    return [to_wire(e) for e in Event.objects.filter(arena_id=arena_id, seq__gt=after)]


@pytest.fixture
def dropping_layer(settings):
    settings.CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "tests.live.layers.DroppingLayer",
            "CONFIG": {"capacity": 1000, "expiry": 60, "group_expiry": 86400},
        }
    }


@pytest.fixture
def memory_layer(settings):
    settings.CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels.layers.InMemoryChannelLayer",
            "CONFIG": {"capacity": 1000, "expiry": 60, "group_expiry": 86400},
        }
    }


async def subscribe(scene, agent: str, query: str = ""):
    client = await connect(f"/ws/arenas/{scene.arena}/{query}", bearer(scene.tokens[agent]))
    message = await frame(client)
    assert message["type"] == "snapshot"
    return client, message["arena"]["last_seq"]


async def test_events_committed_during_connect_and_replay_arrive_once_in_order(scene):
    await aprogress(scene.arena, "alice", 200)
    writer = asyncio.ensure_future(
        database_sync_to_async(progress, thread_sensitive=False)(scene.arena, "bob", WRITES)
    )
    clients = []
    while len(clients) < 4 or (not writer.done() and len(clients) < CLIENTS_MAX):
        query = "?after=0" if len(clients) % 2 == 0 else ""
        client, snapshot_seq = await subscribe(scene, "alice", query)
        clients.append((client, 0 if query else snapshot_seq))
    last = await writer
    log = await database_sync_to_async(logged)(scene.arena)
    assert [e["seq"] for e in log] == list(range(1, last + 1))
    for client, start in clients:
        assert await events_until(client, last, after=start) == log[start:]
        assert await client.receive_nothing(timeout=0.3)
        await client.disconnect()


async def test_every_client_gets_every_event_when_the_layer_drops_every_other_message(
    scene, dropping_layer
):
    clients = [await subscribe(scene, agent) for agent in ("alice", "bob", "alice")]
    last = await aprogress(scene.arena, "bob", 30)
    for client, start in clients:
        assert await events_until(client, last) == await database_sync_to_async(logged)(
            scene.arena, start
        )
        await client.disconnect()
    assert get_channel_layer().dropped > 0


async def test_the_last_event_before_silence_arrives_though_its_doorbell_was_lost(
    scene, dropping_layer
):
    client, start = await subscribe(scene, "bob")
    last = await aprogress(scene.arena, "alice", 2)
    received = await events_until(client, last)
    assert [e["seq"] for e in received] == [start + 1, start + 2]
    assert get_channel_layer().dropped >= 1
    await client.disconnect()


async def test_a_feed_dropped_from_its_group_catches_up_and_rejoins(scene, memory_layer):
    client, start = await subscribe(scene, "bob")
    layer = get_channel_layer()
    layer.groups.clear()
    last = await aprogress(scene.arena, "alice", 3)
    assert [e["seq"] for e in await events_until(client, last)] == [start + 1, start + 2, start + 3]
    # The catch-up and the rejoin run side by side: the rejoin may land after the events.
    deadline = asyncio.get_running_loop().time() + 10
    while not layer.groups and asyncio.get_running_loop().time() < deadline:
        await asyncio.sleep(0.01)
    assert layer.groups
    await client.disconnect()


async def test_doorbells_alone_deliver_live_events_without_the_poll(scene, settings):
    settings.ALEPH_LIVE_POLL_SECONDS = 3600
    client, start = await subscribe(scene, "bob")
    last = await aprogress(scene.arena, "alice", 5)
    received = await events_until(client, last)
    assert [e["seq"] for e in received] == list(range(start + 1, last + 1))
    await client.disconnect()


async def test_dashboard_summary_arrives_though_its_doorbell_was_lost(scene, dropping_layer):
    client = await connect("/ws/dashboard/", browser(scene.cookies["root"]))
    last = await aprogress(scene.arena, "alice", 2)
    summary = None
    while summary is None or summary["last_seq"] < last:
        message = await frame(client)
        assert message["type"] == "arena"
        summary = message["arena"]
    expected, _ = await database_sync_to_async(ArenaManager().summary_and_viewers)(scene.arena)
    assert summary == expected
    await client.disconnect()
