"""A channel layer that loses messages, to show the live feed does not depend on it."""

from __future__ import annotations

import asyncio
import time
from collections import Counter

from channels.layers import InMemoryChannelLayer


class DroppingLayer(InMemoryChannelLayer):
    """The in-memory layer, except that every other message to each channel (group sends
    included) silently vanishes, as over-capacity or expired messages do. `dropped` counts
    the messages lost."""

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self._sent: Counter[str] = Counter()
        self.dropped = 0

    async def send(self, channel: str, message: dict) -> None:
        self._sent[channel] += 1
        if self._sent[channel] % 2 == 0:
            self.dropped += 1
            return
        await super().send(channel, message)


class BusyLayer(InMemoryChannelLayer):
    """The in-memory layer in a process whose event loop is busy: each of the first
    `busy_sends` group sends finds the loop held for `busy_seconds` (by a burst of other
    work) and then takes a round trip of 10 ms, as Redis would. `sent` lists every group
    sent to."""

    busy_sends = 2
    busy_seconds = 1.1

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.sent: list[str] = []

    async def group_send(self, group: str, message: dict) -> None:
        if len(self.sent) < self.busy_sends:
            time.sleep(self.busy_seconds)
            await asyncio.sleep(0.01)
        self.sent.append(group)
        await super().group_send(group, message)


class SwitchedLayer(InMemoryChannelLayer):
    """The in-memory layer, refusing every operation (as a stopped Redis does) while `down`."""

    down = False

    async def group_send(self, group: str, message: dict) -> None:
        if self.down:
            raise ConnectionError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")
        await super().group_send(group, message)
