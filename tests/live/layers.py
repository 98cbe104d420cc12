"""A channel layer that loses messages, to show the live feed does not depend on it."""

from __future__ import annotations

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
