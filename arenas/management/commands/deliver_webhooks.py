"""`manage.py deliver_webhooks`: deliver webhooks in a process of its own.

Every server process already delivers once it has served a request; run this where server
processes should not (`ALEPH_WEBHOOK_CONCURRENCY=0` on them, or a WSGI layout whose processes
have no event loop), or beside them: any number of deliverers share the work, each cursor
delivered by one process at a time. `--once` delivers what is due now and exits.
"""

from __future__ import annotations

import asyncio
import signal
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from arenas.webhooks import deliverer


class Command(BaseCommand):
    help = "Deliver webhook events until stopped (or, with --once, what is due now)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--once", action="store_true", help="deliver what is due now, then exit"
        )
        parser.add_argument(
            "--concurrency",
            type=int,
            default=None,
            help="deliveries in flight at once (default: ALEPH_WEBHOOK_CONCURRENCY, or 8)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        limit = options["concurrency"]
        if limit is not None and limit < 1:
            self.stderr.write("--concurrency must be at least 1.")
            raise SystemExit(1)
        limit = limit or max(1, deliverer.concurrency())
        # SIGTERM stops as Ctrl-C does: the deliveries in flight are cancelled and let their
        # cursors go, so the next deliverer takes them over at once.
        signal.signal(signal.SIGTERM, _interrupt)
        try:
            if options["once"]:
                asyncio.run(deliverer.deliver_due(limit))
            else:
                self.stdout.write(f"Delivering webhooks ({limit} at a time); Ctrl-C stops.")
                self.stdout.flush()
                asyncio.run(deliverer.run_forever(limit))
        except KeyboardInterrupt:
            pass


def _interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt
