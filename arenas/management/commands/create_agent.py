"""`manage.py create_agent <agent_id> [--name NAME] [--owner USERNAME]`.

Registers an agent and prints a new bearer token alone on the last line of its output, so a
script can take it with `tail -n 1`. For an agent that already exists it issues a further
token (the agent keeps its other tokens; `--name` and `--owner` only apply when creating).
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from arenas import agents, inputs
from arenas.errors import DomainError
from arenas.models import Agent


class Command(BaseCommand):
    help = (
        "Create an agent (or, for an existing one, issue a further token) and print the "
        "new bearer token alone on the last line."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("agent_id", help="1-64 characters: a-z, 0-9, '_', '.', '-'.")
        parser.add_argument("--name", default="", help="Display name (new agents only).")
        parser.add_argument(
            "--owner", default=None, help="Username of the person who owns it (new agents only)."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            agent_id = inputs.agent_id(options["agent_id"])
            with transaction.atomic():
                agent = Agent.objects.filter(agent_id=agent_id).first()
                created = agent is None
                if created:
                    agent = agents.create_agent(agent_id, options["name"], options["owner"])
                token, _record = agents.issue_token(agent)
        except DomainError as error:
            raise CommandError(error.detail) from error

        if created:
            self.stdout.write(f"Created agent {agent.agent_id!r}.")
        else:
            self.stdout.write(f"Agent {agent.agent_id!r} exists: issued a further token.")
            if options["name"] or options["owner"]:
                self.stderr.write("--name and --owner only apply when creating; left unchanged.")
        if not agent.is_active:
            self.stderr.write(f"Agent {agent.agent_id!r} is inactive: its tokens do not work.")
        self.stdout.write("Its bearer token is shown once, on the next line:")
        self.stdout.write(token)
