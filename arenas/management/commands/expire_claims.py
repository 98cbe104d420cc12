"""`manage.py expire_claims`: record the expiry of every claim whose lease has passed, with
its `claim_expired` event. Each server process already does this every few
seconds once it has served a request; run this from a timer for deployments where no server
process may be running, or after a restore. Safe to run at any time, also while servers
sweep: each expiry is recorded once."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from arenas import claims


class Command(BaseCommand):
    help = "Record the expiry of every claim whose lease has passed."

    def handle(self, *args: Any, **options: Any) -> None:
        total = 0
        while expired := claims.sweep():
            total += expired
        self.stdout.write(f"Expired {total} claim(s).")
