"""The in-memory channel layer, with housekeeping that does not grow with the audience.

Channels' `InMemoryChannelLayer` sweeps every channel queue and every group membership for
expired entries on each `receive` and each `group_send`. With N feeds on one arena, one
event is one `group_send` and N `receive`s, each sweeping N channels: fanning one event out
costs O(N²), which bench/fanout.py measured as most of the server's CPU time at 1,000
subscribers. It also deep-copies the message and starts a task for every member.

This subclass keeps the upstream semantics (capacity, expiry, group expiry, ChannelFull
dropping) and changes their cost:
- the sweep runs at most once per `SWEEP_SECONDS`, so an expired message or membership may
  outlive its expiry by up to that long;
- `group_send` copies the message once and puts that copy on every member's queue.
  Receivers must treat messages as read-only, which every consumer here does.
"""

from __future__ import annotations

import asyncio
import time
from copy import deepcopy
from typing import Any

from channels import layers


class InMemoryChannelLayer(layers.InMemoryChannelLayer):
    SWEEP_SECONDS = 1.0

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._next_sweep = 0.0

    def _clean_expired(self) -> None:
        now = time.monotonic()
        if now < self._next_sweep:
            return
        self._next_sweep = now + self.SWEEP_SECONDS
        super()._clean_expired()

    async def group_send(self, group: str, message: dict[str, Any]) -> None:
        assert isinstance(message, dict), "Message is not a dict"
        self.require_valid_group_name(group)
        self._clean_expired()
        members = list(self.groups.get(group, ()))
        if not members:
            return
        item = (time.time() + self.expiry, deepcopy(message))
        for channel in members:
            queue = self.channels.setdefault(
                channel, asyncio.Queue(maxsize=self.get_capacity(channel))
            )
            try:
                queue.put_nowait(item)
            except asyncio.QueueFull:
                continue  # as upstream: a full channel misses this message
