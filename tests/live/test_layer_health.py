"""Announcing events when the channel layer is down, or when the process is only busy: a
busy event loop is not taken for a dead layer, and a layer that is down is logged once per
outage, briefly, with the count of doorbells it did not ring."""

from __future__ import annotations

import asyncio
import logging
import time

from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer

from arenas import events

LAYER = {"capacity": 1000, "expiry": 60, "group_expiry": 86400}
WAIT = 30.0


def doorbell(seq: int) -> dict:
    return {"arena_id": "8f9c2a52-1b1e-4a8e-9d64-2f0f3f1c9a10", "seq": seq, "type": "x"}


async def announce(seq: int) -> None:
    """Announce as a write does: after its commit, in the thread that wrote."""
    await sync_to_async(events.announce, thread_sensitive=False)(doorbell(seq))


async def until(condition, what: str) -> None:
    deadline = time.monotonic() + WAIT
    while not condition():
        assert time.monotonic() < deadline, what
        await asyncio.sleep(0.02)


async def test_a_busy_event_loop_is_not_taken_for_a_dead_channel_layer(settings, caplog):
    """The loop is held for longer than the announcement timeout while the layer carries a
    doorbell (other work the process had to do): the doorbell is carried, and the next ones
    are announced as well instead of being skipped for a while."""
    settings.CHANNEL_LAYERS = {
        "default": {"BACKEND": "tests.live.layers.BusyLayer", "CONFIG": LAYER}
    }
    layer = get_channel_layer()
    assert layer.busy_sends * layer.busy_seconds > events.ANNOUNCE_TIMEOUT_SECONDS
    with caplog.at_level(logging.WARNING, logger="arenas.events"):
        await announce(1)
        await until(lambda: len(layer.sent) >= 2, "the busy announcement was carried")
        await announce(2)
        await until(lambda: len(layer.sent) >= 4, "the next announcement was carried")
    assert layer.sent == [events.arena_group(doorbell(1)["arena_id"]), events.DASHBOARD_GROUP] * 2
    assert caplog.records == []


async def test_a_layer_that_is_down_is_logged_once_per_outage_with_a_count(
    settings, caplog, monkeypatch
):
    settings.CHANNEL_LAYERS = {
        "default": {"BACKEND": "tests.live.layers.SwitchedLayer", "CONFIG": LAYER}
    }
    monkeypatch.setattr(events, "SILENT_LAYER_SKIP_SECONDS", 0.3)
    layer = get_channel_layer()
    layer.down = True
    with caplog.at_level(logging.WARNING, logger="arenas.events"):
        for seq in range(1, 11):
            await announce(seq)
            if seq == 5:
                await asyncio.sleep(0.4)  # past the silence: the layer is tried again
        await until(lambda: caplog.records, "the outage was logged")
        await asyncio.sleep(0.4)
        layer.down = False
        await announce(11)
        await until(lambda: len(caplog.records) >= 2, "the end of the outage was logged")
    lines = [record.getMessage() for record in caplog.records]
    assert len(lines) == 2, lines
    assert lines[0].startswith(
        "The channel layer failed announcing an event (ConnectionError: Error 111"
    )
    assert "10 doorbell(s) were not rung meanwhile" in lines[1]
    assert all(record.exc_info is None for record in caplog.records)
