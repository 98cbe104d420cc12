"""`manage.py clear_idempotency`: delete the stored Idempotency-Key responses older than
24 hours (they no longer replay anyway). Safe to run at any time, e.g. hourly from cron."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from arenas.api.idempotency import TTL, delete_expired


class Command(BaseCommand):
    help = "Delete Idempotency-Key records older than 24 hours."

    def handle(self, *args: Any, **options: Any) -> None:
        deleted = delete_expired()
        hours = int(TTL.total_seconds() // 3600)
        self.stdout.write(f"Deleted {deleted} idempotency record(s) older than {hours} hours.")
