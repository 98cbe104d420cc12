"""`manage.py verify_arenas`: replay every arena's event log and compare the result with the
stored aggregate.

Prints one line per arena that does not match, naming the arena and what differs, and exits
1 if any arena does not match or has a broken log; otherwise prints a summary and exits 0.
Each arena is compared under its row lock, so writes committed meanwhile cannot show up as
false mismatches; arenas are streamed, so the command runs in constant memory.
"""

from __future__ import annotations

from dataclasses import fields
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from arenas import aggregate
from arenas.aggregate import ArenaAggregate, ReplayError
from arenas.models import Arena


def differences(stored: ArenaAggregate, replayed: ArenaAggregate) -> list[str]:
    """`field: stored X, replayed Y` for every field where the two aggregates differ."""
    return [
        f"{f.name}: stored {getattr(stored, f.name)!r}, replayed {getattr(replayed, f.name)!r}"
        for f in fields(ArenaAggregate)
        if getattr(stored, f.name) != getattr(replayed, f.name)
    ]


def verify(arena_id: Any) -> list[str]:
    """What is wrong with one arena (an empty list when its log matches its aggregate)."""
    with transaction.atomic():
        arena = Arena.objects.select_for_update().filter(pk=arena_id).first()
        if arena is None:
            return []
        try:
            replayed = aggregate.rebuild(arena.id)
        except ReplayError as error:
            return [f"broken event log: {error}"]
        return differences(ArenaAggregate.of(arena), replayed)


class Command(BaseCommand):
    help = "Rebuild every arena's aggregate from its events and compare it with the stored one."

    def handle(self, *args: Any, **options: Any) -> None:
        checked = failed = 0
        for arena_id in Arena.objects.order_by("id").values_list("id", flat=True).iterator():
            problems = verify(arena_id)
            checked += 1
            if problems:
                failed += 1
                self.stdout.write(f"arena {arena_id}: {'; '.join(problems)}")
        if failed:
            raise CommandError(
                f"{failed} of {checked} arenas do not match their event log.", returncode=1
            )
        noun = "arena matches its event log" if checked == 1 else "arenas match their event logs"
        self.stdout.write(f"All {checked} {noun}.")
