"""A round of the demo: its arenas' scripts played side by side, one action at a time, and
winding up what the demo started when it is stopped part-way."""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable

from aleph_client import ArenaClient, ArenaError

from .caching import caching_study
from .cast import IDLE_SECONDS, SHORTEST_LEASE
from .field_guide import field_guide
from .offsite import offsite
from .play import Play, Script

# The arenas of a round: a name for the terminal and the script that plays it. Another
# arena is one more module with its script, and one more line here.
SCRIPTS: list[tuple[str, Callable[[Play], Script]]] = [
    ("field guide", field_guide),
    ("caching", caching_study),
    ("offsite", offsite),
]


class Round:
    """One round of arenas. `play` runs them until every script ends; `plays` are the
    arenas it started, for `wind_up` when the demo is stopped before that."""

    def __init__(
        self,
        number: int,
        clients: dict[str, ArenaClient],
        base_url: str,
        pace: float,
        answer_after: float | None,
        say: Callable[[str, str], None],
    ) -> None:
        self.number = number
        self.pace = pace
        self.say = say
        # A turn of the other arenas passes before the worker that waits looks at the
        # stalled step: the lease outlasts it, so that the server, not that look, records
        # the expiry.
        stall_lease = max(SHORTEST_LEASE, math.ceil(3 * pace) + 3)
        self.plays = [
            (
                Play(
                    name,
                    clients,
                    base_url=base_url,
                    answer_after=answer_after,
                    stall_lease=stall_lease,
                    round_number=number,
                ),
                script,
            )
            for name, script in SCRIPTS
        ]

    def play(self) -> None:
        """Interleave the round's arenas, one action at a time, until every one is done."""
        running: deque[tuple[Play, Script]] = deque(
            (play, script(play)) for play, script in self.plays
        )
        idle = 0
        try:
            while running:
                play, script = running.popleft()
                lines = []
                try:
                    lines.extend(play.answer_people())
                    line = next(script, StopIteration)
                except ArenaError as error:
                    if error.status != 409:
                        raise
                    # A person moved the arena on (say, archived it) from the dashboard.
                    line = StopIteration
                    lines.append(f"stops here: the arena's state no longer allows it ({error})")
                if line is not StopIteration:
                    running.append((play, script))
                    if line is not None:
                        lines.append(line)
                else:
                    play.close()
                for text in lines:
                    self.say(play.name, text)
                if lines:
                    idle = 0
                    time.sleep(self.pace)
                else:
                    idle += 1
                    if idle >= len(running):  # every arena waits: look again in a while
                        idle = 0
                        time.sleep(max(self.pace, IDLE_SECONDS))
        finally:
            self.close()

    def close(self) -> None:
        for play, _script in self.plays:
            play.close()

    def wind_up(self) -> list[str]:
        """Settle and archive every arena of the round that is not archived yet; their
        goals. An arena the server refuses to move on (a person moved it meanwhile) is left
        as it is."""
        wound_up = []
        for play, _script in self.plays:
            try:
                if play.wind_up():
                    wound_up.append(play.goal)
            except ArenaError:
                continue
        return wound_up
