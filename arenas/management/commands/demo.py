"""`python manage.py demo`: demo agents collaborating live, for a newcomer to watch.

It prepares, in the server's database: a staff user `demo` with a new password (printed),
and demo agents owned by it, each with a fresh token (the previous run's are revoked). Then
it plays the agents as real clients of the running server, each an `aleph_client.ArenaClient`
(the project's Python client), one action every `--pace` seconds, three arenas at
once, so the dashboard shows them at work:

- "field guide", a pipeline: each agent claims its step before doing it (a lease)
  and completes it with the claim's id. Step 3 is a review step: the writer's
  completion opens a review, and the pipeline waits for a person to approve or reject the
  draft (a rejected draft is revised and submitted again).
- "caching", peers: three workers divide eight steps with `claim_next_step`; one renews its
  lease during a long benchmark; one claims the last step with a short lease and stalls. The
  server expires that claim by itself (`claim_expired`, nobody writing), the stalled agent's
  late completion is refused (`claim_lost`) and another worker takes the step over. Then an
  engineer asks people a question with choices, waits on its feed for the answer, and acts
  on it.
- "offsite" waits in `created` for a person to activate it from the dashboard (the lead
  starts it alone after a while). Every lead answers messages that staff post.

The terminal says where to answer each request for people (the arena's page). A request
nobody answers within `--answer-after` seconds is answered by `demo-lead`, the arena's
coordinator (never the asker), which says so: the demo also finishes unattended.

Agents follow their arena on the live feed (`client.feed`), each feed read on a thread of its
own so that the play goes on while an agent waits. Without `--once` it plays a new round of
arenas after each one until stopped with Ctrl-C.
"""

from __future__ import annotations

import logging
import math
import secrets
import threading
import time
from collections import deque
from collections.abc import Generator, Iterator
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import DatabaseError, transaction

from aleph_client import (
    ArenaClient,
    ArenaError,
    ClaimLost,
    NotAuthenticated,
    RequestClosed,
    Retry,
    StepAlreadyCompleted,
    StepClaimed,
    Unreachable,
)
from arenas.agents import create_agent, issue_token, revoke_token
from arenas.models import Agent

DEMO_USERNAME = "demo"
LEAD = "demo-lead"
RESEARCHER = "demo-researcher"
WRITER = "demo-writer"
REVIEWER = "demo-reviewer"
ENGINEER = "demo-engineer"
ANALYST = "demo-analyst"
DEMO_AGENTS = {
    LEAD: "Lead (coordinates the demo arenas)",
    RESEARCHER: "Researcher",
    WRITER: "Writer",
    REVIEWER: "Reviewer",
    ENGINEER: "Engineer",
    ANALYST: "Analyst",
}
# How long a lead waits for a person to activate its arena, in paces.
WAIT_FOR_PERSON_PACES = 30
# The demo arenas' lease: long enough to watch it count down on the arena's page.
LEASE_SECONDS = 30
# The shortest lease the server grants: the stalled agent's.
SHORTEST_LEASE = 5
# While every arena waits (for a person, an expiry), the play looks again this often.
IDLE_SECONDS = 0.2
# A throttled request waits its Retry-After (up to 30 s) and is tried again, up to 8 times.
RETRY = Retry(attempts=8, max_retry_after=30.0)

# What a script yields: a line for the terminal, or None while it waits.
Script = Generator[str | None, None, Any]


class Watch:
    """One agent's live feed of an arena (`client.feed`), read on a thread of its own: the
    events received so far, in `seq` order, for the play to look through while it goes on."""

    def __init__(self, client: ArenaClient, arena_id: str, after: int) -> None:
        self.feed = client.feed(arena_id, after=after)
        self.events: list[dict[str, Any]] = []
        self.error: ArenaError | None = None
        self.lock = threading.Lock()
        self.thread = threading.Thread(target=self.read, daemon=True, name="demo-feed")
        self.thread.start()

    def read(self) -> None:
        try:
            for event in self.feed:
                with self.lock:
                    self.events.append(dict(event))
        except ArenaError as error:  # refused (the agent left, say): the play hears of it
            self.error = error

    def since(self, index: int) -> list[dict[str, Any]]:
        with self.lock:
            return self.events[index:]

    def find(self, types: tuple[str, ...], **fields: Any) -> dict[str, Any] | None:
        """The first event received of one of `types` with these `fields`, or None (yet)."""
        found = next(
            (
                event
                for event in self.since(0)
                if event["type"] in types and all(event.get(k) == v for k, v in fields.items())
            ),
            None,
        )
        if found is None and self.error is not None:
            raise self.error
        return found

    def close(self) -> None:
        self.feed.close()
        self.thread.join(timeout=5.0)


class Play:
    """One arena being played. Every action method makes one request and returns the line
    the terminal shows for it; the waits are scripts of their own (`yield from`)."""

    def __init__(
        self,
        name: str,
        clients: dict[str, ArenaClient],
        *,
        base_url: str = "",
        answer_after: float = 60.0,
        stall_lease: int = SHORTEST_LEASE,
    ) -> None:
        self.name = name
        self.clients = clients
        self.base_url = base_url
        self.answer_after = answer_after
        self.stall_lease = stall_lease
        self.arena_id = ""
        self.status = "created"
        self.seq = 0  # a `seq` the arena has reached (from the answers seen)
        self.titles: dict[int, str] = {}
        self.claims: dict[str, dict[str, Any]] = {}  # each agent's live claim
        self.watches: dict[str, Watch] = {}
        self.heard = 0  # the lead's feed events that answer_people has looked at

    @property
    def page(self) -> str:
        return f"{self.base_url}/arenas/{self.arena_id}/"

    def saw(self, seq: int) -> None:
        self.seq = max(self.seq, seq)

    def watch(self, agent: str) -> Watch:
        """The agent's feed of the arena, opened (from the `seq` reached) on first use."""
        if agent not in self.watches:
            self.watches[agent] = Watch(self.clients[agent], self.arena_id, self.seq)
        return self.watches[agent]

    def close(self) -> None:
        for watch in self.watches.values():
            watch.close()
        self.watches.clear()

    def step_name(self, number: int) -> str:
        title = self.titles.get(number)
        return f"step {number} “{title}”" if title else f"step {number}"

    # --- actions ------------------------------------------------------------------------

    def create(self, by: str, config: dict[str, Any]) -> str:
        arena = self.clients[by].create_arena(**config)
        self.arena_id = arena["id"]
        self.saw(arena["last_seq"])
        self.titles = {n: item["title"] for n, item in enumerate(config.get("plan", []), 1)}
        self.watch(LEAD)  # the lead follows its arena: it answers what staff post
        return f"{by} created the arena “{config['goal']}”: {self.page}"

    def act(self, by: str, action: str) -> str:
        arena = self.clients[by].transition(self.arena_id, action)
        self.status = arena["status"]
        self.saw(arena["last_seq"])
        return f"{by} moved the arena to {self.status}"

    def claim_next(self, by: str, lease: int | None = None) -> str:
        """Claim the lowest-numbered step `by` could do now, with a lease."""
        answer = self.clients[by].claim_next_step(self.arena_id, lease)
        claim = answer["claim"]
        if claim is None:
            return (
                f"{by} finds nothing to claim ({answer['remaining']} left: "
                f"{answer['claimed']} held, {answer['blocked']} blocked)"
            )
        self.claims[by] = dict(claim)
        self.saw(claim["claim_id"])
        seconds = lease or LEASE_SECONDS
        return f"{by} claimed {self.step_name(claim['step'])} (a {seconds} s lease)"

    def renew(self, by: str) -> str:
        claim = self.claims[by]
        renewed = self.clients[by].renew_claim(self.arena_id, claim["claim_id"], LEASE_SECONDS)
        self.claims[by] = dict(renewed["claim"])
        return (
            f"{by} renewed its lease on step {claim['step']} for {LEASE_SECONDS} s more "
            "(long work; a renewal is no event)"
        )

    def complete(self, by: str) -> str:
        """Complete the step `by` holds, naming its claim (the fencing token)."""
        claim = self.claims.pop(by)
        result = self.clients[by].complete_step(self.arena_id, claim["step"], claim["claim_id"])
        self.saw(result["event"]["seq"])
        if "request" in result:
            return f"{by} submitted {self.step_name(claim['step'])} for review"
        aggregate = result["aggregate"]
        done, total = aggregate["completed_steps"], aggregate["total_steps"]
        return f"{by} completed step {claim['step']} ({done}/{total})"

    def progress(self, by: str, current: str, slot_status: str = "working") -> str:
        self.clients[by].report_progress(self.arena_id, current, slot_status)
        return f"{by} is {slot_status}: {current}"

    def artifact(self, by: str, kind: str, title: str, content: Any) -> str:
        self.clients[by].publish_artifact(self.arena_id, kind, title, content)
        return f"{by} published {kind} “{title}”"

    def fact(self, by: str, content: str, confidence: float, tags: list[str]) -> str:
        self.clients[by].share_fact(self.arena_id, content, confidence, tags)
        return f"{by} shared a fact: {content}"

    def say(self, by: str, text: str, to: str | None = None) -> str:
        self.saw(self.clients[by].post_message(self.arena_id, text, to)["seq"])
        return f"{by} → {to or 'everyone'}: {text}"

    def merge(self, by: str, sources: list[str], title: str) -> str:
        self.clients[by].merge_artifacts(self.arena_id, sources, title)
        return f"{by} merged the work of {', '.join(sources)} into “{title}”"

    def refresh_status(self, by: str) -> str:
        self.status = self.clients[by].get_arena(self.arena_id)["status"]
        return self.status

    def answer_people(self) -> Iterator[str]:
        """The lead thanks staff for each message they posted, as its feed brings them."""
        if LEAD not in self.watches:
            return
        events = self.watches[LEAD].since(self.heard)
        self.heard += len(events)
        for event in events:
            actor = event.get("actor") or ""
            if event["type"] == "message_posted" and actor.startswith("staff:"):
                person = actor.removeprefix("staff:")
                yield self.say(LEAD, f"Thanks, {person}: noted, we will take it into account.")

    # --- waits --------------------------------------------------------------------------

    def wait_for_expiry(self, by: str, claim: dict[str, Any]) -> Script:
        """`by` waits on its feed until the server records that `claim` lapsed; the event."""
        watch = self.watch(by)
        ends = ("claim_expired", "claim_released")
        while (event := watch.find(ends, claim_id=claim["claim_id"])) is None:
            yield None
        return event

    def ask(self, by: str, text: str, choices: list[str]) -> Script:
        """`by` asks people; the request, once the terminal has said where to answer it."""
        self.watch(by)  # opened before asking: the answer cannot come before it
        request = self.clients[by].ask_people(self.arena_id, text, choices)
        yield f"{by} asks people: “{text}”\n" + self.where(request)
        return request

    def where(self, request: dict[str, Any]) -> str:
        choices = " or ".join(f"“{choice}”" for choice in request["choices"] or ["an answer"])
        return (
            f"→ A person answers it on the arena's page: open {self.page} "
            f"(signed in as {DEMO_USERNAME}) and choose {choices}.\n"
            f"  Unanswered after {self.answer_after:g} s, {LEAD} (a coordinator) answers it."
        )

    def wait_for_answer(self, request: dict[str, Any], fallback: str) -> Script:
        """The asker waits on its feed for the answer to `request` (`input_provided`, or
        `input_cancelled`); after `answer_after` seconds the lead answers `fallback` itself.
        The answer's event."""
        asker = request["agent_id"]
        watch = self.watch(asker)
        deadline = time.monotonic() + self.answer_after
        answered = False
        closes = ("input_provided", "input_cancelled")
        while True:
            event = watch.find(closes, request_id=request["id"])
            if event is not None:
                break
            if answered or time.monotonic() < deadline:
                yield None
                continue
            answered = True
            try:
                self.clients[LEAD].answer_request(
                    self.arena_id,
                    request["id"],
                    choice=fallback,
                    text=f"Nobody answered within {self.answer_after:g} s, so I decided.",
                )
            except RequestClosed:
                continue  # a person answered just now: the feed brings it
            yield (
                f"{LEAD}: no person answered within {self.answer_after:g} s, so as the "
                f"arena's coordinator it answers “{fallback}” itself"
            )
        if event["type"] == "input_cancelled":
            yield f"{asker} hears on its feed that its request was cancelled"
        else:
            said = f" (“{event['text']}”)" if event.get("text") else ""
            yield f"{asker} hears on its feed: {event['by']} answered “{event['choice']}”{said}"
        return event


# --- the three arenas of a round ---------------------------------------------------------


def field_guide(play: Play) -> Script:
    """A pipeline: each step waits for the one before, each has its assignee, who claims it
    before doing it. Step 3 is reviewed by a person."""
    yield play.create(
        LEAD,
        {
            "goal": "Write a field guide to the birds of the Tagus estuary",
            "strategy": "pipeline",
            "lease_seconds": LEASE_SECONDS,
            "plan": [
                {"title": "Collect ten years of sightings", "assignee": RESEARCHER},
                {"title": "Sort the species by season", "assignee": RESEARCHER},
                {"title": "Draft the species pages", "assignee": WRITER, "review": True},
                {"title": "Check the drafts against the sightings", "assignee": REVIEWER},
                {"title": "Assemble the guide", "assignee": LEAD},
            ],
            "participants": [
                {"agent_id": RESEARCHER, "role": "worker"},
                {"agent_id": WRITER, "role": "worker"},
                {"agent_id": REVIEWER, "role": "worker"},
            ],
        },
    )
    yield play.act(LEAD, "activate")
    yield play.say(
        LEAD, "Plan is up: research, then drafting (a person reviews the draft), then checks."
    )
    yield play.claim_next(RESEARCHER)
    yield play.progress(RESEARCHER, "Reading ten years of sightings")
    yield play.fact(
        RESEARCHER,
        "Greater flamingos winter on the estuary from November to March.",
        0.9,
        ["flamingo", "season"],
    )
    yield play.complete(RESEARCHER)
    yield play.claim_next(RESEARCHER)
    yield play.artifact(
        RESEARCHER,
        "structured_data",
        "Sightings by season",
        {
            "winter": ["greater flamingo", "pied avocet", "dunlin"],
            "spring": ["black-winged stilt", "little tern"],
            "all year": ["little egret", "grey heron"],
        },
    )
    yield play.complete(RESEARCHER)
    yield play.progress(RESEARCHER, "Handed over to the writer", "done")
    yield play.claim_next(WRITER)
    yield play.progress(WRITER, "Drafting the species pages")
    yield play.say(WRITER, "Are avocets here all year, or only in winter?", RESEARCHER)
    yield play.say(RESEARCHER, "Mostly winter: numbers peak in January.", WRITER)
    yield play.fact(
        RESEARCHER,
        "Pied avocets peak in January; a few pairs stay to breed.",
        0.8,
        ["avocet", "season"],
    )
    draft = 1
    while True:
        yield play.artifact(
            WRITER,
            "text",
            f"Species pages, draft {draft}",
            "Greater flamingo — Phoenicopterus roseus. Winters here in flocks of thousands…\n\n"
            "Pied avocet — Recurvirostra avosetta. Sweeps the mud with its upturned bill…",
        )
        submitted = play.clients[WRITER].complete_step(
            play.arena_id, 3, play.claims.pop(WRITER)["claim_id"]
        )
        request = submitted["request"]
        play.saw(submitted["event"]["seq"])
        yield (
            f"{WRITER} submitted {play.step_name(3)} (draft {draft}) for review: "
            "the pipeline waits for a person\n" + play.where(request)
        )
        answer = yield from play.wait_for_answer(request, "approve")
        if answer["type"] != "input_provided":
            return  # cancelled: the arena was archived
        if answer["choice"] == "approve":
            yield f"step 3 is completed: {answer['by']} approved {WRITER}'s draft"
            break
        draft += 1
        yield play.claim_next(WRITER)
        yield play.progress(WRITER, f"Revising the draft: {answer['text'] or 'rejected'}")
    yield play.progress(WRITER, "Draft approved", "done")
    yield play.claim_next(REVIEWER)
    yield play.progress(REVIEWER, "Checking the drafts against the sightings")
    yield play.artifact(
        REVIEWER, "text", "Check notes", "Two dates corrected; the avocet page is good."
    )
    yield play.complete(REVIEWER)
    yield play.progress(REVIEWER, "Checks done", "done")
    yield play.claim_next(LEAD)
    yield play.merge(LEAD, [RESEARCHER, WRITER, REVIEWER], "Field guide, edition 1")
    yield play.complete(LEAD)
    yield play.act(LEAD, "settle")
    yield play.say(LEAD, "Guide assembled. Settling, then archiving: thank you all.")
    yield play.act(LEAD, "archive")


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
SHIP = "Ship TinyLFU now"
KEEP = "Keep LRU for now"


def caching_study(play: Play) -> Script:
    """Peers: three workers divide the plan with claims. One stalls on the last step; its
    lease lapses, the server expires it, and another worker takes the step over. Then a
    question for people decides what ships."""
    yield play.create(
        LEAD,
        {
            "goal": "Choose a caching strategy for the image service",
            "strategy": "peer",
            "lease_seconds": LEASE_SECONDS,
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
    yield play.claim_next(ENGINEER)
    yield play.claim_next(RESEARCHER)
    yield play.claim_next(ANALYST)
    yield play.artifact(
        ENGINEER,
        "code",
        "load.py",
        "import random\n\ndef requests(n, hot=0.2):\n"
        "    for _ in range(n):\n        yield random.paretovariate(1.2)\n",
    )
    yield play.complete(ENGINEER)
    yield play.claim_next(ENGINEER)
    yield play.fact(RESEARCHER, "LRU hit rate: 81% with a 1 GB cache.", 0.85, ["lru", "benchmark"])
    yield play.complete(RESEARCHER)
    yield play.claim_next(RESEARCHER)
    yield play.fact(ANALYST, "LFU hit rate: 84% with a 1 GB cache.", 0.85, ["lfu", "benchmark"])
    yield play.complete(ANALYST)
    yield play.claim_next(ANALYST)
    yield play.progress(ENGINEER, "The TinyLFU benchmark runs long")
    yield play.renew(ENGINEER)
    yield play.fact(
        ENGINEER, "TinyLFU hit rate: 89% with a 1 GB cache.", 0.85, ["tinylfu", "benchmark"]
    )
    yield play.complete(ENGINEER)
    yield play.claim_next(ENGINEER)
    yield play.fact(RESEARCHER, "TinyLFU costs 3% more memory than LRU.", 0.8, ["tinylfu"])
    yield play.complete(RESEARCHER)
    yield play.complete(ANALYST)
    yield play.complete(ENGINEER)
    # The last step: the researcher claims it with the shortest lease, then goes quiet.
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
    if ENGINEER not in play.claims:
        yield play.claim_next(ENGINEER)
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


def waiting_for_a_person(play: Play, pace: float) -> Script:
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
    deadline = time.monotonic() + WAIT_FOR_PERSON_PACES * pace
    while play.refresh_status(LEAD) == "created" and time.monotonic() < deadline:
        yield None
    if play.status == "created":
        yield play.act(LEAD, "activate")
        yield play.say(LEAD, "Nobody came by, so I started on my own.")
    else:
        yield play.say(LEAD, "Activated: thank you! Off we go.")
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


# --- the command -------------------------------------------------------------------------


class Command(BaseCommand):
    help = (
        "Create a staff login and demo agents, then run the agents against a running server "
        "over HTTP so the dashboard shows them collaborating live."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--url", default="http://127.0.0.1:8000", help="The running server's base URL."
        )
        parser.add_argument(
            "--pace", type=float, default=1.0, help="Seconds between two actions (default 1)."
        )
        parser.add_argument(
            "--once", action="store_true", help="Play one round of arenas, then stop."
        )
        parser.add_argument(
            "--wait",
            type=float,
            default=60.0,
            help="How long to wait for the server to come up, in seconds (default 60).",
        )
        parser.add_argument(
            "--answer-after",
            type=float,
            default=60.0,
            help=(
                "How long a request for people waits for a person before demo-lead answers "
                "it, in seconds (default 60)."
            ),
        )

    def handle(self, *args: Any, **options: Any) -> None:
        base_url = options["url"].rstrip("/")
        # The terminal shows the agents' actions; one log line per request would bury them.
        logging.getLogger("httpx").setLevel(logging.WARNING)
        pace = max(0.0, options["pace"])
        answer_after = max(0.0, options["answer_after"])
        clients: dict[str, ArenaClient] = {}
        try:
            # The server first: `make run` migrates the database before it serves.
            self.wait_for_server(base_url, options["wait"])
            password, tokens = self.prepare()
            self.banner(base_url, password, answer_after)
            clients = {
                agent_id: ArenaClient(base_url, token, retry=RETRY) for agent_id, token in tokens
            }
            self.check_tokens(clients[LEAD], base_url)
            self.line(
                f"Playing the demo agents: one action every {pace:g} s. "
                + ("One round." if options["once"] else "Ctrl-C stops them.")
            )
            rounds = 0
            while True:
                rounds += 1
                self.play_round(clients, base_url, pace, answer_after, rounds)
                if options["once"]:
                    break
                self.line(self.style.SUCCESS("Round over: starting a new one."))
        except KeyboardInterrupt:
            self.line("\nDemo stopped. The arenas stay as they are.")
        except Unreachable as error:
            raise CommandError(f"Lost the server at {base_url}: {error.detail}") from None
        except ArenaError as error:
            raise CommandError(
                f"The server refused a demo request ({error.status}). {error}"
            ) from None
        except DatabaseError as error:
            raise CommandError(
                f"The demo could not prepare its login and agents in the database ({error}). "
                "Run it with the server's DATABASE_URL, after `python manage.py migrate`."
            ) from None
        finally:
            for client in clients.values():
                client.close()

    @transaction.atomic
    def prepare(self) -> tuple[str, list[tuple[str, str]]]:
        """The staff user with a new password; every demo agent with one fresh token."""
        password = secrets.token_urlsafe(12)
        users = get_user_model()
        user = users.objects.filter(username=DEMO_USERNAME).first()
        if user is None:
            user = users.objects.create_user(DEMO_USERNAME)
        user.is_staff = True
        user.is_active = True
        user.set_password(password)
        user.save()
        tokens = []
        for agent_id, name in DEMO_AGENTS.items():
            agent = Agent.objects.filter(agent_id=agent_id).first()
            if agent is None:
                agent = create_agent(agent_id, name, owner_username=DEMO_USERNAME)
            elif not agent.is_active:
                raise CommandError(f"The demo agent {agent_id!r} is deactivated (see the admin).")
            for record in agent.tokens.filter(revoked_at__isnull=True):
                revoke_token(record)
            token, _record = issue_token(agent)
            tokens.append((agent_id, token))
        return password, tokens

    def banner(self, base_url: str, password: str, answer_after: float) -> None:
        self.line(
            "\n".join(
                [
                    "",
                    self.style.SUCCESS("Aleph Arena demo"),
                    f"  Dashboard:  {base_url}/",
                    f"  Username:   {DEMO_USERNAME}",
                    f"  Password:   {password}   (a new one on every run)",
                    f"  Agents:     {', '.join(DEMO_AGENTS)} (owned by {DEMO_USERNAME})",
                    "",
                    "  Watch the agents claim steps with leases, one of them stall and lose its",
                    "  lease to the server, and two of them wait for you: a draft to review and",
                    "  a question to answer, on the arena's page. Unanswered after "
                    f"{answer_after:g} s,",
                    f"  {LEAD} answers them itself. Activate the offsite arena, or post a message.",
                    "",
                ]
            )
        )

    def wait_for_server(self, base_url: str, wait: float) -> None:
        deadline = time.monotonic() + wait
        told = False
        with ArenaClient(base_url, token=None, timeout=3.0, retry=Retry(attempts=1)) as probe:
            while not self.answers(probe):
                if time.monotonic() >= deadline:
                    raise CommandError(
                        f"No Aleph Arena server answers at {base_url}. Start it with "
                        "`make run` in another terminal (or give --url), then run the demo "
                        "again."
                    )
                if not told:
                    self.line(f"Waiting for the server at {base_url} (start it with `make run`)…")
                    told = True
                time.sleep(1.0)

    @staticmethod
    def answers(probe: ArenaClient) -> bool:
        try:
            probe.health()
        except ArenaError:
            return False
        return True

    def check_tokens(self, client: ArenaClient, base_url: str) -> None:
        try:
            client.whoami()
        except NotAuthenticated:
            raise CommandError(
                f"The server at {base_url} does not know the demo agents' tokens: it uses "
                "another database. Run the demo with the server's DATABASE_URL."
            ) from None
        except ArenaError as error:
            raise CommandError(
                f"{base_url}/api/me/ answered {error.status}: is this Aleph Arena?"
            ) from None

    def play_round(
        self,
        clients: dict[str, ArenaClient],
        base_url: str,
        pace: float,
        answer_after: float,
        number: int,
    ) -> None:
        """Interleave the round's arenas, one action at a time, until every one is done."""
        # A turn of the other arenas passes before the worker that waits looks at the stalled
        # step: the lease outlasts it, so that the server, not that look, records the expiry.
        stall_lease = max(SHORTEST_LEASE, math.ceil(3 * pace) + 3)
        plays: list[tuple[Play, Script]] = []
        for name, script in (
            ("field guide", field_guide),
            ("caching", caching_study),
            ("offsite", lambda play: waiting_for_a_person(play, pace)),
        ):
            play = Play(
                name,
                clients,
                base_url=base_url,
                answer_after=answer_after,
                stall_lease=stall_lease,
            )
            plays.append((play, script(play)))
        running = deque(plays)
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
                    self.say(number, play.name, text)
                if lines:
                    idle = 0
                    time.sleep(pace)
                else:
                    idle += 1
                    if idle >= len(running):  # every arena waits: look again in a while
                        idle = 0
                        time.sleep(max(pace, IDLE_SECONDS))
        finally:
            for play, _script in plays:
                play.close()

    def say(self, number: int, name: str, text: str) -> None:
        prefix = f"  [{number}·{name}] "
        first, *rest = text.split("\n")
        self.line(prefix + first + "".join("\n" + " " * len(prefix) + more for more in rest))

    def line(self, text: str) -> None:
        """Print at once, also into a pipe or a file: people follow the demo as it plays."""
        self.stdout.write(text)
        self.stdout.flush()
