"""A channel layer that is down: every operation fails, as with Redis unreachable."""

from __future__ import annotations

from channels.layers import BaseChannelLayer


class DeadLayer(BaseChannelLayer):
    extensions = ["groups"]

    async def _down(self, *args, **kwargs):
        raise ConnectionError("the channel layer is down")

    send = receive = new_channel = group_add = group_discard = group_send = flush = _down
