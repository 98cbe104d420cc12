"""`python manage.py demo`: demo agents collaborating live, for a newcomer to watch.

It prepares, in the server's database, a staff login `demo` (a superuser, with a new
password printed on every run) and demo agents owned by it, each with a fresh token; then
it plays the agents as real clients of the running server, one action every `--pace`
seconds, three arenas at once (the scripts are in `arenas/demo/`). What waits for a person
(an arena to activate, a draft to review, a question) waits for as long as the demo runs,
unless `--answer-after` lets demo-lead, the arenas' coordinator, do it after that long.
Ctrl-C stops the demo and settles and archives the arenas it started.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import DatabaseError

from aleph_client import ArenaClient, ArenaError, NotAuthenticated, Retry, Unreachable
from arenas.demo.cast import DEMO_AGENTS, DEMO_USERNAME, LEAD, RETRY, prepare
from arenas.demo.rounds import SCRIPTS, Round


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
            "--rounds",
            type=int,
            default=1,
            help=(
                "How many rounds of arenas to play, one after the other (default 1; 0: until "
                "Ctrl-C). Each later round is announced and its arenas' goals say its number."
            ),
        )
        parser.add_argument("--once", action="store_true", help="The same as --rounds 1.")
        parser.add_argument(
            "--wait",
            type=float,
            default=60.0,
            help="How long to wait for the server to come up, in seconds (default 60).",
        )
        parser.add_argument(
            "--answer-after",
            type=float,
            default=None,
            metavar="SECONDS",
            help=(
                "Let demo-lead do what waits for a person (activate the waiting arena, answer "
                "a question or a review) once it has waited this long. By default it waits "
                "for as long as the demo runs."
            ),
        )

    def handle(self, *args: Any, **options: Any) -> None:
        base_url = options["url"].rstrip("/")
        # The terminal shows the agents' actions; one log line per request would bury them.
        logging.getLogger("httpx").setLevel(logging.WARNING)
        pace = max(0.0, options["pace"])
        answer_after = options["answer_after"]
        if answer_after is not None:
            answer_after = max(0.0, answer_after)
        rounds = 1 if options["once"] else max(0, options["rounds"])
        clients: dict[str, ArenaClient] = {}
        current: Round | None = None
        try:
            # The server first: `make run` migrates the database before it serves.
            self.wait_for_server(base_url, options["wait"])
            password, tokens = prepare()
            self.banner(base_url, password, answer_after)
            clients = {
                agent_id: ArenaClient(base_url, token, retry=RETRY) for agent_id, token in tokens
            }
            self.check_tokens(clients[LEAD], base_url)
            self.line(f"Playing the demo agents: one action every {pace:g} s. Ctrl-C stops them.")
            number = 0
            while rounds == 0 or number < rounds:
                number += 1
                if number > 1:
                    self.line(
                        self.style.SUCCESS(
                            f"Round {number}: {len(SCRIPTS)} new arenas, their goals end in "
                            f"“(round {number})”."
                        )
                    )
                current = Round(
                    number,
                    clients,
                    base_url,
                    pace,
                    answer_after,
                    lambda name, text, n=number: self.say(n, name, text),
                )
                current.play()
                current = None
            played = f"{number} round" + ("s" if number != 1 else "")
            self.line(
                self.style.SUCCESS(
                    f"The demo is over ({played}): every arena it played archived, "
                    "its forks in Created."
                )
            )
        except KeyboardInterrupt:
            self.stopped(current)
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

    def stopped(self, current: Round | None) -> None:
        """Ctrl-C: settle and archive the arenas of the round being played, and say so."""
        if current is None:
            self.line("\nDemo stopped.")
            return
        self.line("\nDemo stopped: settling and archiving the arenas it started…")
        try:
            current.close()
            goals = current.wind_up()
        except KeyboardInterrupt:
            self.line("Stopped again: the demo's arenas stay as they are.")
            return
        except ArenaError as error:
            self.line(f"The server refused to wind them up ({error}): they stay as they are.")
            return
        if goals:
            self.line("Settled and archived: " + ", ".join(f"“{goal}”" for goal in goals) + ".")
        else:
            self.line("Its arenas were archived already.")

    def banner(self, base_url: str, password: str, answer_after: float | None) -> None:
        if answer_after is None:
            waits = [
                "  They wait for you for as long as the demo runs (--answer-after SECONDS lets",
                f"  {LEAD} do it itself after that long).",
            ]
        else:
            waits = [f"  Left alone for {answer_after:g} s, {LEAD} does it itself."]
        self.line(
            "\n".join(
                [
                    "",
                    self.style.SUCCESS("Aleph Arena demo"),
                    f"  Dashboard:  {base_url}/",
                    f"  Username:   {DEMO_USERNAME}",
                    f"  Password:   {password}   (a new one on every run)",
                    f"  Admin:      {base_url}/admin/ (the same login)",
                    f"  Agents:     {', '.join(DEMO_AGENTS)} (owned by {DEMO_USERNAME})",
                    "",
                    "  Watch the agents claim steps with leases, one of them stall and lose its",
                    "  lease to the server, and three things wait for you on the arenas' pages:",
                    "  an arena to activate, a draft to review and a question to answer.",
                    *waits,
                    "  Post a message on an arena's page: its lead answers.",
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

    def say(self, number: int, name: str, text: str) -> None:
        prefix = f"  [{number}·{name}] "
        first, *rest = text.split("\n")
        self.line(prefix + first + "".join("\n" + " " * len(prefix) + more for more in rest))

    def line(self, text: str) -> None:
        """Print at once, also into a pipe or a file: people follow the demo as it plays."""
        self.stdout.write(text)
        self.stdout.flush()
