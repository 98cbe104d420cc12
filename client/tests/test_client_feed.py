"""The live feed through the client: every event once and in `seq` order across
forced connection drops and a server restart, the snapshot, the refusals, and closing."""

from __future__ import annotations

import asyncio
import threading
import time
import uuid
from collections.abc import Callable

import pytest
from arena_helpers import Cutter

from aleph_client import ArenaClient, AsyncArenaClient, Invalid, NotAuthenticated, NotFound
from tests.support.waiting import until

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(180)]


def in_background(work: Callable[[], None]) -> threading.Thread:
    thread = threading.Thread(target=work, daemon=True)
    thread.start()
    return thread


def open_arena(client: ArenaClient) -> str:
    """An active open-ended arena: seq 1 arena_created, 2 agent_joined, 3 status_changed."""
    arena_id = client.create_arena(goal="Follow me", total_steps=0)["id"]
    client.transition(arena_id, "activate")
    return arena_id


def test_the_feed_replays_then_follows_with_the_snapshot(live_server, tokens):
    token = tokens("lead")["lead"]
    with ArenaClient(live_server.url, token) as client:
        arena_id = open_arena(client)
        with client.feed(arena_id) as feed:
            first = [next(feed) for _ in range(3)]
            assert [e["type"] for e in first] == ["arena_created", "agent_joined", "status_changed"]
            assert feed.snapshot["id"] == arena_id and feed.snapshot["status"] == "active"
            posted = client.post_message(arena_id, "live")
            assert next(feed) == posted
            assert feed.last_seq == posted["seq"] == 4

        with client.feed(arena_id, after=None) as newer:
            # It connects when first iterated, and starts at that connection's snapshot.
            poster = threading.Timer(1.0, client.post_message, (arena_id, "only this one"))
            poster.start()
            later = next(newer)
            poster.join()
            assert (later["seq"], later["text"]) == (5, "only this one")
            assert newer.snapshot["last_seq"] == 4


def test_each_event_arrives_once_in_order_across_dropped_connections(live_server, tokens):
    token = tokens("lead")["lead"]
    proxy = Cutter(live_server.port)
    writer = ArenaClient(live_server.url, token)
    arena_id = open_arena(writer)

    def post_and_cut() -> None:
        cuts = 0
        for n in range(60):
            writer.post_message(arena_id, f"message {n}")
            if n % 10 == 5:
                # Each cut breaks a live connection: the reader's, once it is back.
                proxy.wait_for_connections(cuts + 1)
                proxy.cut()
                cuts += 1

    seqs = []
    with ArenaClient(proxy.url, token) as reader, reader.feed(arena_id) as feed:
        poster = in_background(post_and_cut)
        for event in feed:
            seqs.append(event["seq"])
            if event["seq"] == 63:
                break
        poster.join()
    proxy.close()
    writer.close()

    assert seqs == list(range(1, 64))
    assert proxy.connections >= 7  # the first, and one after each of the six cuts


def test_the_feed_comes_back_after_a_server_restart(live_server, tokens):
    token = tokens("lead")["lead"]
    with ArenaClient(live_server.url, token) as client, ArenaClient(live_server.url, token) as r:
        arena_id = open_arena(client)
        for n in range(3):
            client.post_message(arena_id, f"before {n}")
        feed = r.feed(arena_id)
        seqs = [next(feed)["seq"] for _ in range(6)]
        snapshot = feed.snapshot

        live_server.stop()
        # Read meanwhile, the feed tries to reconnect to nothing: its connection closed, then
        # at least one attempt refused, before the server is back.
        after: list[int] = []
        reader = in_background(lambda: after.extend(next(feed)["seq"] for _ in range(3)))
        until(lambda: feed.cursor.failures >= 2)
        live_server.start()
        for n in range(3):
            client.post_message(arena_id, f"after {n}")
        reader.join(timeout=120)
        seqs += after
        feed.close()

    assert seqs == list(range(1, 10))
    assert feed.snapshot is not snapshot and feed.snapshot["last_seq"] >= 6


def test_refused_feeds_raise_the_error_of_their_close_code(live_server, tokens):
    keys = tokens("lead", "stranger")
    with ArenaClient(live_server.url, keys["lead"]) as client:
        arena_id = open_arena(client)
        with pytest.raises(Invalid) as bad_after:
            next(client.feed(arena_id, after=-1))
        with pytest.raises(NotFound) as unknown:
            next(client.feed(str(uuid.uuid4())))
    client = ArenaClient(live_server.url, "aa_not_a_token")
    with client, pytest.raises(NotAuthenticated) as anonymous:
        next(client.feed(arena_id))
    with ArenaClient(live_server.url, keys["stranger"]) as client, pytest.raises(NotFound):
        next(client.feed(arena_id))

    assert (bad_after.value.status, unknown.value.status, anonymous.value.status) == (
        400,
        404,
        401,
    )


def test_closing_a_feed_from_another_thread_ends_its_iteration(live_server, tokens):
    token = tokens("lead")["lead"]
    with ArenaClient(live_server.url, token) as client:
        arena_id = open_arena(client)
        feed = client.feed(arena_id)
        timer = threading.Timer(1.0, feed.close)
        timer.start()
        started = time.monotonic()
        assert [e["seq"] for e in feed] == [1, 2, 3]
        assert time.monotonic() - started < 10


async def test_the_async_feed_survives_drops_and_a_restart_once_and_in_order(live_server, tokens):
    token = tokens("lead")["lead"]
    proxy = Cutter(live_server.port)
    writer = ArenaClient(live_server.url, token)
    arena_id = open_arena(writer)
    seqs = []
    async with (
        AsyncArenaClient(proxy.url, token) as reader,
        reader.feed(arena_id) as feed,
    ):
        async for event in feed:
            seqs.append(event["seq"])
            seq = event["seq"]
            if seq == 3:
                await asyncio.to_thread(writer.post_message, arena_id, "one")
            elif seq == 4:
                proxy.cut()
                await asyncio.to_thread(writer.post_message, arena_id, "two")
            elif seq == 5:
                await asyncio.to_thread(live_server.stop)
                await asyncio.to_thread(live_server.start)
                await asyncio.to_thread(writer.post_message, arena_id, "three")
            elif seq == 6:
                break
        assert feed.snapshot["last_seq"] >= 5
    writer.close()
    proxy.close()

    assert seqs == [1, 2, 3, 4, 5, 6]
    assert proxy.connections >= 3
