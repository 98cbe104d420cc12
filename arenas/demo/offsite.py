"""The "offsite" arena: it waits in `created` for a person to activate it from the
dashboard, for as long as the demo runs (given `--answer-after`, the lead starts it alone
after that long); then a writer does its three steps."""

from __future__ import annotations

from .cast import DEMO_USERNAME, LEAD, LEASE_SECONDS, WRITER
from .play import Play, Script


def offsite(play: Play) -> Script:
    """An arena that waits in `created` until a person activates it from the dashboard."""
    yield play.create(
        LEAD,
        {
            "goal": "Plan the team offsite (activate me from the dashboard)",
            "strategy": "peer",
            "total_steps": 3,
            "lease_seconds": LEASE_SECONDS,
            "participants": [{"agent_id": WRITER, "role": "worker"}],
        },
    )
    yield play.say(LEAD, "Ready when you are: a staff user can activate this arena from its page.")
    yield (
        f"→ It waits for a person to activate it: open {play.page} (signed in as "
        f"{DEMO_USERNAME}) and press Activate.\n  " + play.until()
    )
    if (yield from play.wait_for_activation()):
        yield play.say(LEAD, "Activated: thank you! Off we go.")
    else:
        yield play.say(LEAD, "Nobody came by, so I started on my own.")
    yield play.claim_next(WRITER)
    yield play.progress(WRITER, "Comparing three venues")
    yield play.complete(WRITER)
    yield play.claim_next(WRITER)
    yield play.fact(WRITER, "The lake house sleeps twenty and has a meeting room.", 0.95, ["venue"])
    yield play.complete(WRITER)
    yield play.claim_next(WRITER)
    yield play.artifact(
        WRITER, "text", "Offsite agenda", "Day 1: retro. Day 2: roadmap. Day 3: hike."
    )
    yield play.complete(WRITER)
    yield play.progress(WRITER, "Agenda ready", "done")
    yield play.act(LEAD, "settle")
    yield play.act(LEAD, "archive")
