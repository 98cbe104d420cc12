"""A participant removed while its writes wait for the arena's lock cannot write any more on
PostgreSQL, where READ COMMITTED re-checks only the locked row after a
lock wait: every permission read must happen after the lock is held.

Each test holds the arena's lock in one thread through a real domain write that pauses just
before it commits, starts the competing write in another thread (which then waits for the
lock), lets the first commit, and looks at what the second one did.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection, connections

from arenas import events
from arenas.errors import NotFound
from arenas.models import Event, EventType
from tests.support.waiting import until

from ..domain.helpers import assert_replay_matches, assert_seq_gapless, event_types

pytestmark = [pytest.mark.django_db(transaction=True)]


def a_write_waits_for_a_lock() -> bool:
    """Whether another connection to the test database waits for a lock (PostgreSQL)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
            " AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()"
        )
        return cursor.fetchone()[0] > 0


def holding_the_lock(
    monkeypatch, first: Callable[[], Any], second: Callable[[], Any]
) -> tuple[Any, Any]:
    """Run `first` until it appends its event (its transaction holds the arena's lock),
    start `second` in another thread, wait until it blocks on the lock, then let `first`
    commit. Returns what each returned or raised."""
    appended = threading.Event()
    release = threading.Event()
    first_thread: list[threading.Thread] = []
    append = events.append

    def pausing_append(*args: Any, **kwargs: Any) -> Any:
        event = append(*args, **kwargs)
        if threading.current_thread() is first_thread[0]:
            appended.set()
            release.wait(10)
        return event

    monkeypatch.setattr(events, "append", pausing_append)
    outcomes: dict[str, Any] = {}

    def run(name: str, body: Callable[[], Any]) -> Callable[[], None]:
        def target() -> None:
            try:
                outcomes[name] = body()
            except Exception as error:  # noqa: BLE001 - the outcome under test
                outcomes[name] = error
            finally:
                connections.close_all()

        return target

    one = threading.Thread(target=run("first", first))
    two = threading.Thread(target=run("second", second))
    first_thread.append(one)
    one.start()
    assert appended.wait(10), "the first write never reached its event"
    two.start()
    until(a_write_waits_for_a_lock, timeout=10, interval=0.05)
    release.set()
    one.join(10)
    two.join(10)
    return outcomes.get("first"), outcomes.get("second")


def test_a_participant_removed_while_its_write_waits_for_the_lock_cannot_write(
    postgres, make_arena, manager, monkeypatch
):
    arena_id = make_arena(status="active", participants=[{"agent_id": "bob", "role": "worker"}])
    alice, bob = manager.handle(arena_id, "alice"), manager.handle(arena_id, "bob")

    removed, written = holding_the_lock(
        monkeypatch,
        lambda: alice.remove_participant("bob"),
        lambda: bob.post_message("still here?"),
    )

    assert removed is None
    assert isinstance(written, NotFound), written
    assert event_types(arena_id)[-1] == EventType.AGENT_LEFT
    assert not Event.objects.filter(arena_id=arena_id, type=EventType.MESSAGE_POSTED).exists()
    assert_seq_gapless(arena_id)
    assert_replay_matches(arena_id)


def test_two_coordinators_removing_each_other_at_once_the_loser_gets_not_found(
    postgres, make_arena, manager, monkeypatch
):
    arena_id = make_arena(
        status="active", participants=[{"agent_id": "carol", "role": "coordinator"}]
    )
    alice, carol = manager.handle(arena_id, "alice"), manager.handle(arena_id, "carol")

    first, second = holding_the_lock(
        monkeypatch,
        lambda: alice.remove_participant("carol"),
        lambda: carol.remove_participant("alice"),
    )

    assert first is None
    assert isinstance(second, NotFound), second
    assert manager.handle(arena_id, "alice").participants()[0].agent_id == "alice"
    assert_seq_gapless(arena_id)
    assert_replay_matches(arena_id)


def test_a_worker_whose_permission_is_gone_when_the_lock_comes_is_refused(
    postgres, make_arena, manager, monkeypatch
):
    """Removed and re-added as an observer while its write waited: the write is judged by
    the participation that holds when it gets the lock (observers have no slot)."""
    from arenas.errors import PermissionDenied

    arena_id = make_arena(status="active", participants=[{"agent_id": "bob", "role": "worker"}])
    alice, bob = manager.handle(arena_id, "alice"), manager.handle(arena_id, "bob")

    def demote() -> None:
        alice.remove_participant("bob")
        alice.add_participant("bob", "observer")

    _, written = holding_the_lock(
        monkeypatch, lambda: _atomic(demote), lambda: bob.report_progress("working on it")
    )

    assert isinstance(written, PermissionDenied), written
    assert_seq_gapless(arena_id)


def _atomic(body: Callable[[], Any]) -> Any:
    from django.db import transaction

    with transaction.atomic():
        return body()
