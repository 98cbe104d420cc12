"""The hub's fan-out lets the event loop run other work every `RING_SLICE` feeds written to
(the answer of the write that rang, the sockets' writes), and wakes waits all at once
(`arenas/stream/hub.py`)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from arenas.stream import hub as hubs
from arenas.stream.doorbells import Bell

ARENA = "00000000-0000-0000-0000-000000000001"


@dataclass(eq=False)
class Follower:
    """Records when it was rung, in the order of everything rung or run on the loop."""

    writes: bool
    log: list[str]
    name: str
    key: str = ARENA
    rung: list[int] = field(default_factory=list)

    def ring(self, bell: Bell) -> None:
        self.rung.append(bell.seq)
        self.log.append(self.name)


def bell(seq: int) -> Bell:
    return Bell({"arena_id": ARENA, "seq": seq, "type": "step_completed", "timestamp": "x"})


async def ring_beside_other_work(hub: hubs.Hub, followers: list[Follower], log: list[str]):
    """Ring one bell with a callback already due on the loop; the log of what ran when."""
    hub.feeds[ARENA] = set(followers)
    asyncio.get_running_loop().call_soon(log.append, "other work")
    await hub._ring(bell(1))
    await asyncio.sleep(0)  # the callback has run by now, whatever the ring did


async def test_other_work_runs_after_each_slice_of_feeds_written_to():
    log: list[str] = []
    feeds = [Follower(True, log, f"feed {i}") for i in range(2 * hubs.RING_SLICE + 5)]
    await ring_beside_other_work(hubs.Hub(), feeds, log)
    assert log.index("other work") == hubs.RING_SLICE
    assert all(feed.rung == [1] for feed in feeds)


async def test_waits_are_woken_together_without_a_slice():
    log: list[str] = []
    waits = [Follower(False, log, f"wait {i}") for i in range(4 * hubs.RING_SLICE)]
    await ring_beside_other_work(hubs.Hub(), waits, log)
    assert log[-1] == "other work"
    assert all(wait.rung == [1] for wait in waits)
