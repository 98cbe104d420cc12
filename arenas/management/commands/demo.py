"""`python manage.py demo`: demo agents collaborating live, for a newcomer to watch.

It prepares, in the server's database: a staff user `demo` with a new password (printed),
and demo agents owned by it, each with a fresh token (the previous run's are revoked). Then
it plays the agents as real clients of the running server, each an `aleph_client.ArenaClient`
(the project's Python client, SPEC §10) over the REST API of SPEC §2:
three arenas, their agents joining, reporting progress, completing steps, publishing
artifacts, sharing facts and talking, and the coordinators merging, settling and
archiving, one action every `--pace` seconds, so the dashboard shows them at work.
A third arena waits in `created` for a person to activate it from the dashboard (the lead
starts it alone after a while), and every lead answers messages that staff post.

Without `--once` it plays a new round of arenas after each one until stopped with Ctrl-C.
"""

from __future__ import annotations

import logging
import secrets
import time
from collections import deque
from collections.abc import Iterator
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import DatabaseError, transaction

from aleph_client import ArenaClient, ArenaError, NotAuthenticated, Retry, Unreachable
from arenas.agents import create_agent, issue_token, revoke_token
from arenas.models import Agent

DEMO_USERNAME = "demo"
LEAD = "demo-lead"
RESEARCHER = "demo-researcher"
WRITER = "demo-writer"
REVIEWER = "demo-reviewer"
ENGINEER = "demo-engineer"
DEMO_AGENTS = {
    LEAD: "Lead (coordinates the demo arenas)",
    RESEARCHER: "Researcher",
    WRITER: "Writer",
    REVIEWER: "Reviewer",
    ENGINEER: "Engineer",
}
# How long a lead waits for a person to activate its arena, in paces.
WAIT_FOR_PERSON_PACES = 30
# A throttled request waits its Retry-After (up to 30 s) and is tried again, up to 8 times.
RETRY = Retry(attempts=8, max_retry_after=30.0)


class Play:
    """One arena being played. Every method makes one request and returns the line the
    terminal shows for it."""

    def __init__(self, name: str, clients: dict[str, ArenaClient]) -> None:
        self.name = name
        self.clients = clients
        self.arena_id = ""
        self.seen_seq = 0
        self.status = "created"

    def create(self, by: str, config: dict[str, Any]) -> str:
        self.arena_id = self.clients[by].create_arena(**config)["id"]
        return f"{by} created the arena “{config['goal']}”"

    def act(self, by: str, action: str) -> str:
        self.status = self.clients[by].transition(self.arena_id, action)["status"]
        return f"{by} moved the arena to {self.status}"

    def step(self, by: str, number: int) -> str:
        aggregate = self.clients[by].complete_step(self.arena_id, number)["aggregate"]
        done, total = aggregate["completed_steps"], aggregate["total_steps"]
        return f"{by} completed step {number} ({done}/{total})"

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
        self.clients[by].post_message(self.arena_id, text, to)
        return f"{by} → {to or 'everyone'}: {text}"

    def merge(self, by: str, sources: list[str], title: str) -> str:
        self.clients[by].merge_artifacts(self.arena_id, sources, title)
        return f"{by} merged the work of {', '.join(sources)} into “{title}”"

    def refresh_status(self, by: str) -> str:
        self.status = self.clients[by].get_arena(self.arena_id)["status"]
        return self.status

    def answer_people(self) -> Iterator[str]:
        """The lead thanks staff for each message they posted since it last looked."""
        if not self.arena_id or self.status == "archived":
            return
        page = self.clients[LEAD].list_events(self.arena_id, after=self.seen_seq)
        for event in page["events"]:
            self.seen_seq = event["seq"]
            actor = event.get("actor") or ""
            if event["type"] == "message_posted" and actor.startswith("staff:"):
                person = actor.removeprefix("staff:")
                yield self.say(LEAD, f"Thanks, {person}: noted, we will take it into account.")


# --- the three arenas of a round ---------------------------------------------------------


def field_guide(play: Play) -> Iterator[str | None]:
    """A pipeline: each step waits for the one before, each has its assignee."""
    yield play.create(
        LEAD,
        {
            "goal": "Write a field guide to the birds of the Tagus estuary",
            "strategy": "pipeline",
            "plan": [
                {"title": "Collect ten years of sightings", "assignee": RESEARCHER},
                {"title": "Sort the species by season", "assignee": RESEARCHER},
                {"title": "Draft the species pages", "assignee": WRITER},
                {"title": "Review the drafts against the sightings", "assignee": REVIEWER},
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
    yield play.say(LEAD, "Plan is up: research first, then drafting, then review. Shout if stuck.")
    yield play.progress(RESEARCHER, "Reading ten years of sightings")
    yield play.fact(
        RESEARCHER,
        "Greater flamingos winter on the estuary from November to March.",
        0.9,
        ["flamingo", "season"],
    )
    yield play.step(RESEARCHER, 1)
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
    yield play.step(RESEARCHER, 2)
    yield play.progress(RESEARCHER, "Handed over to the writer", "done")
    yield play.progress(WRITER, "Drafting the species pages")
    yield play.say(WRITER, "Are avocets here all year, or only in winter?", RESEARCHER)
    yield play.say(RESEARCHER, "Mostly winter: numbers peak in January.", WRITER)
    yield play.fact(
        RESEARCHER,
        "Pied avocets peak in January; a few pairs stay to breed.",
        0.8,
        ["avocet", "season"],
    )
    yield play.artifact(
        WRITER,
        "text",
        "Species pages, first draft",
        "Greater flamingo — Phoenicopterus roseus. Winters here in flocks of thousands…\n\n"
        "Pied avocet — Recurvirostra avosetta. Sweeps the mud with its upturned bill…",
    )
    yield play.step(WRITER, 3)
    yield play.progress(WRITER, "Draft handed to review", "done")
    yield play.progress(REVIEWER, "Checking the drafts against the sightings")
    yield play.artifact(
        REVIEWER, "text", "Review notes", "Two dates corrected; the avocet page is good."
    )
    yield play.step(REVIEWER, 4)
    yield play.progress(REVIEWER, "Review done", "done")
    yield play.merge(LEAD, [RESEARCHER, WRITER, REVIEWER], "Field guide, edition 1")
    yield play.step(LEAD, 5)
    yield play.act(LEAD, "settle")
    yield play.say(LEAD, "Guide assembled. Settling, then archiving: thank you all.")
    yield play.act(LEAD, "archive")


def caching_study(play: Play) -> Iterator[str | None]:
    """Peers: two workers complete an untitled plan in any order."""
    yield play.create(
        LEAD,
        {
            "goal": "Choose a caching strategy for the image service",
            "strategy": "peer",
            "total_steps": 6,
            "participants": [
                {"agent_id": ENGINEER, "role": "worker"},
                {"agent_id": RESEARCHER, "role": "worker"},
            ],
        },
    )
    yield play.act(LEAD, "activate")
    yield play.progress(ENGINEER, "Writing a load generator")
    yield play.progress(RESEARCHER, "Reading about LRU, LFU and TinyLFU")
    yield play.artifact(
        ENGINEER,
        "code",
        "load.py",
        "import random\n\ndef requests(n, hot=0.2):\n"
        "    for _ in range(n):\n        yield random.paretovariate(1.2)\n",
    )
    yield play.step(ENGINEER, 1)
    yield play.step(RESEARCHER, 2)
    yield play.fact(RESEARCHER, "LRU hit rate: 81% with a 1 GB cache.", 0.85, ["lru", "benchmark"])
    yield play.step(ENGINEER, 3)
    yield play.fact(
        RESEARCHER, "TinyLFU hit rate: 89% with a 1 GB cache.", 0.85, ["tinylfu", "benchmark"]
    )
    yield play.say(ENGINEER, "TinyLFU wins on hit rate; checking its memory overhead.")
    yield play.step(RESEARCHER, 4)
    yield play.artifact(
        RESEARCHER,
        "structured_data",
        "Hit rates",
        {"cache_gb": 1, "lru": 0.81, "lfu": 0.84, "tinylfu": 0.89},
    )
    yield play.step(ENGINEER, 5)
    yield play.progress(ENGINEER, "Overhead is 3%: fine", "done")
    yield play.step(RESEARCHER, 6)
    yield play.progress(RESEARCHER, "Numbers published", "done")
    yield play.merge(LEAD, [ENGINEER, RESEARCHER], "Recommendation: TinyLFU")
    yield play.act(LEAD, "settle")
    yield play.act(LEAD, "archive")


def waiting_for_a_person(play: Play, pace: float) -> Iterator[str | None]:
    """An arena that waits in `created` until a person activates it from the dashboard."""
    yield play.create(
        LEAD,
        {
            "goal": "Plan the team offsite (activate me from the dashboard)",
            "strategy": "peer",
            "total_steps": 3,
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
    yield play.progress(WRITER, "Comparing three venues")
    yield play.step(WRITER, 1)
    yield play.fact(WRITER, "The lake house sleeps twenty and has a meeting room.", 0.95, ["venue"])
    yield play.step(WRITER, 2)
    yield play.artifact(
        WRITER, "text", "Offsite agenda", "Day 1: retro. Day 2: roadmap. Day 3: hike."
    )
    yield play.step(WRITER, 3)
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

    def handle(self, *args: Any, **options: Any) -> None:
        base_url = options["url"].rstrip("/")
        # The terminal shows the agents' actions; one log line per request would bury them.
        logging.getLogger("httpx").setLevel(logging.WARNING)
        pace = max(0.0, options["pace"])
        clients: dict[str, ArenaClient] = {}
        try:
            # The server first: `make run` migrates the database before it serves.
            self.wait_for_server(base_url, options["wait"])
            password, tokens = self.prepare()
            self.banner(base_url, password)
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
                self.play_round(clients, pace, rounds)
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

    def banner(self, base_url: str, password: str) -> None:
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

    def play_round(self, clients: dict[str, ArenaClient], pace: float, number: int) -> None:
        """Interleave the round's arenas, one action at a time, until every one is done."""
        plays: list[tuple[Play, Iterator[str | None]]] = []
        for name, script in (
            ("field guide", field_guide),
            ("caching", caching_study),
            ("offsite", lambda play: waiting_for_a_person(play, pace)),
        ):
            play = Play(name, clients)
            plays.append((play, script(play)))
        running = deque(plays)
        idle = 0
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
            for text in lines:
                self.say(number, play.name, text)
            idle = 0 if lines else idle + 1
            if lines or idle >= len(running):
                time.sleep(pace)
                idle = 0

    def say(self, number: int, name: str, text: str) -> None:
        self.line(f"  [{number}·{name}] {text}")

    def line(self, text: str) -> None:
        """Print at once, also into a pipe or a file: people follow the demo as it plays."""
        self.stdout.write(text)
        self.stdout.flush()
