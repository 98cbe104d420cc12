"""The "caching" arena: peers, on a budget that their first three steps use up, so the
next claim waits for a person to raise it. Three workers divide eight steps with
`claim_next_step`; one
renews its lease during a long benchmark; one claims the last step with a short lease and
stalls. The server expires that claim by itself (`claim_expired`, nobody writing), the
stalled agent's late completion is refused (`claim_lost`); the lead forks the arena at the
moment before the stall (a new arena to try again from, left in Created), and another
worker takes the step over. Then the engineer asks people a question with choices, waits on
its feed for the answer, and acts on it."""

from __future__ import annotations

from aleph_client import ClaimLost, StepAlreadyCompleted, StepClaimed

from .cast import ANALYST, CACHING_BUDGET, ENGINEER, LEAD, LEASE_SECONDS, RESEARCHER
from .play import Play, Script

CACHING_PLAN = [
    "Write a load generator",
    "Benchmark LRU",
    "Benchmark LFU",
    "Benchmark TinyLFU",
    "Measure TinyLFU's memory overhead",
    "Test warm-up after a deploy",
    "Profile the eviction path",
    "Estimate the cost per hit",
]
RETRY_GOAL = "Choose a caching strategy: the last step again, from before the stall"
SHIP = "Ship TinyLFU now"
KEEP = "Keep LRU for now"


def caching_study(play: Play) -> Script:
    """Peers: three workers divide the plan with claims, on a budget their first three steps
    use up: a person raises it from the budget's request. One stalls on the last step; its
    lease lapses, the server expires it, and another worker takes the step over. Then a
    question for people decides what ships."""
    yield play.create(
        LEAD,
        {
            "goal": "Choose a caching strategy for the image service",
            "strategy": "peer",
            "lease_seconds": LEASE_SECONDS,
            "budget": {"cost_usd": CACHING_BUDGET},
            "plan": [{"title": title} for title in CACHING_PLAN],
            "participants": [
                {"agent_id": ENGINEER, "role": "worker"},
                {"agent_id": RESEARCHER, "role": "worker"},
                {"agent_id": ANALYST, "role": "worker"},
            ],
        },
    )
    yield play.act(LEAD, "activate")
    yield play.say(LEAD, "Eight steps, three of you: claim the next free one, renew while working.")
    yield from play.claim_paid(ENGINEER)
    yield from play.claim_paid(RESEARCHER)
    yield from play.claim_paid(ANALYST)
    yield play.artifact(
        ENGINEER,
        "code",
        "load.py",
        "import random\n\ndef requests(n, hot=0.2):\n"
        "    for _ in range(n):\n        yield random.paretovariate(1.2)\n",
    )
    yield play.complete(ENGINEER)
    yield from play.claim_paid(ENGINEER)
    yield play.fact(RESEARCHER, "LRU hit rate: 81% with a 1 GB cache.", 0.85, ["lru", "benchmark"])
    yield play.complete(RESEARCHER)
    yield from play.claim_paid(RESEARCHER)
    yield play.fact(ANALYST, "LFU hit rate: 84% with a 1 GB cache.", 0.85, ["lfu", "benchmark"])
    yield play.complete(ANALYST)
    yield from play.claim_paid(ANALYST)
    yield play.progress(ENGINEER, "The TinyLFU benchmark runs long")
    yield play.renew(ENGINEER)
    yield play.fact(
        ENGINEER, "TinyLFU hit rate: 89% with a 1 GB cache.", 0.85, ["tinylfu", "benchmark"]
    )
    yield play.complete(ENGINEER)
    yield from play.claim_paid(ENGINEER)
    yield play.fact(RESEARCHER, "TinyLFU costs 3% more memory than LRU.", 0.8, ["tinylfu"])
    yield play.complete(RESEARCHER)
    yield play.complete(ANALYST)
    yield play.complete(ENGINEER)
    # The last step: the researcher claims it with the shortest lease, then goes quiet.
    before_stall = play.last_seq(LEAD)
    line = play.claim_next(RESEARCHER, play.stall_lease)
    stalled = play.claims.pop(RESEARCHER)
    yield line + ", then stalls: it stops renewing"
    line = play.claim_next(ENGINEER)
    if ENGINEER in play.claims:  # a slow pace: the lease lapsed before the engineer looked
        yield line + f" (the lease of {RESEARCHER} had lapsed)"
    else:
        yield line + ": it waits on its feed for the step to come free"
        ended = yield from play.wait_for_expiry(ENGINEER, stalled)
        seen = f"{ENGINEER} sees on its feed: {ended['type']} of step {stalled['step']}"
        if ended["type"] == "claim_expired":
            yield seen + f": the lease of claim {stalled['claim_id']} lapsed, the server ended it"
        else:
            yield seen + f" (claim {stalled['claim_id']}, by {ended['actor']})"
    try:
        play.clients[RESEARCHER].complete_step(play.arena_id, stalled["step"], stalled["claim_id"])
    except (ClaimLost, StepClaimed, StepAlreadyCompleted) as refused:
        yield (
            f"{RESEARCHER} comes back and completes step {stalled['step']} with claim "
            f"{stalled['claim_id']}: refused ({refused.code}), its late work does not count"
        )
    yield play.fork(
        LEAD,
        before_stall,
        play.titled(RETRY_GOAL),
        f"just before {RESEARCHER} claimed the last step and stalled",
    )
    if ENGINEER not in play.claims:
        yield from play.claim_paid(ENGINEER)
    yield play.artifact(
        ENGINEER,
        "structured_data",
        "Hit rates",
        {"cache_gb": 1, "lru": 0.81, "lfu": 0.84, "tinylfu": 0.89, "cost_per_hit_usd": 2e-7},
    )
    yield play.complete(ENGINEER)
    request = yield from play.ask(
        ENGINEER, "TinyLFU hits 89% (LRU 81%) for 3% more memory. Ship it now?", [SHIP, KEEP]
    )
    answer = yield from play.wait_for_answer(request, SHIP)
    ship = answer["type"] != "input_provided" or answer["choice"] == SHIP
    if ship:
        yield play.say(ENGINEER, f"Decided by {answer.get('by') or 'default'}: TinyLFU ships.")
        yield play.artifact(ENGINEER, "code", "cache.toml", 'policy = "tinylfu"\nsize = "1GB"\n')
    else:
        yield play.say(ENGINEER, f"Decided by {answer['by']}: LRU stays; TinyLFU next release.")
        yield play.artifact(ENGINEER, "code", "cache.toml", 'policy = "lru"\nsize = "1GB"\n')
    for worker in (ENGINEER, RESEARCHER, ANALYST):
        yield play.progress(worker, "Done", "done")
    title = "Recommendation: TinyLFU" if ship else "Recommendation: LRU now, TinyLFU next"
    yield play.merge(LEAD, [ENGINEER, RESEARCHER, ANALYST], title)
    yield play.act(LEAD, "settle")
    yield play.act(LEAD, "archive")
