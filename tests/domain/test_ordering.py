"""Determinism: every list the domain returns has a documented order."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from arenas.models import Arena, Artifact, Fact, Participant

from .helpers import assert_replay_matches


def test_unarchived_arena_ids_lists_current_unarchived_arenas_ascending(make_arena, manager):
    member = [{"agent_id": "bob", "role": "worker"}]
    kept = [make_arena(participants=member, status=s) for s in ("created", "active", "settling")]
    kept += [make_arena(participants=member) for _ in range(5)]
    archived = make_arena(participants=member, status="archived")
    left = make_arena(participants=member)
    manager.handle(left, "bob").leave()
    make_arena(creator="carol")

    result = manager.unarchived_arena_ids("bob")

    assert result == sorted(kept)
    assert archived not in result and left not in result
    assert [str(i) for i in result] == sorted(str(i) for i in kept)
    assert manager.unarchived_arena_ids("nobody") == []


def test_participants_are_sorted_by_agent_id_everywhere(make_arena, make_agent, manager):
    arena_id = make_arena(creator="mia")
    handle = manager.handle(arena_id, "mia")
    for agent_id in ("zed", "bob", "carl", "ann"):
        make_agent(agent_id)
        handle.add_participant(agent_id, "worker")
    expected = ["ann", "bob", "carl", "mia", "zed"]

    assert [p.agent_id for p in handle.participants()] == expected
    assert [p["agent_id"] for p in handle.detail()["participants"]] == expected
    assert list(handle.aggregate().participants) == expected
    assert handle.detail()["aggregate"]["participants"] == expected


def _same_moment(model, ids) -> None:
    """Give `ids` one creation time, an hour ago: their order then rests on their ids."""
    model.objects.filter(pk__in=ids).update(created_at=timezone.now() - timedelta(hours=1))


def test_artifacts_are_ordered_by_creation_then_id(make_arena, manager):
    arena_id = make_arena(status="active", participants=[{"agent_id": "bob", "role": "worker"}])
    bob = manager.handle(arena_id, "bob")
    alice = manager.handle(arena_id, "alice")
    made = [bob.publish_artifact("text", f"a{n}", "x") for n in range(3)]
    made += [alice.publish_artifact("text", f"b{n}", "x") for n in range(3)]
    tied = [a.pk for a in made[1:5]]
    _same_moment(Artifact, tied)
    Artifact.objects.filter(pk=made[0].pk).update(created_at=timezone.now() - timedelta(hours=2))

    listed = [a.pk for a in bob.artifacts()]

    assert listed[0] == made[0].pk
    assert listed[1:5] == sorted(tied)
    assert listed[5] == made[5].pk
    assert [a.pk for a in bob.artifacts(agent="alice")] == [
        p for p in listed if p in {m.pk for m in made[3:]}
    ]


def test_facts_are_ordered_by_creation_then_id_in_the_arena_and_in_memory(make_arena, manager):
    arena_id = make_arena(status="active")
    alice = manager.handle(arena_id, "alice")
    facts = [alice.share_fact(f"fact {n}", 1.0, ["t"]) for n in range(6)]
    tied = [f.pk for f in facts[:4]]
    _same_moment(Fact, tied)
    Fact.objects.filter(pk=facts[5].pk).update(created_at=timezone.now() - timedelta(days=1))
    expected = [facts[5].pk, *sorted(tied), facts[4].pk]

    assert [f.pk for f in alice.facts()] == expected
    assert [f.pk for f in alice.facts(tag="t")] == expected
    alice.act("settle")
    alice.act("archive")
    assert [f.pk for f in manager.memory_facts("alice")] == expected
    assert [f.pk for f in manager.memory_facts(None, tag="t")] == expected


def test_steps_are_listed_by_number_and_paged(make_arena, manager):
    arena_id = make_arena(status="active", total_steps=7)
    handle = manager.handle(arena_id, "alice")
    for step in (6, 2, 4):
        handle.complete_step(step)
    page, after = handle.steps(limit=5)
    assert [s["step"] for s in page] == [1, 2, 3, 4, 5]
    assert [s["step"] for s in page if s["completed"]] == [2, 4]
    rest, last = handle.steps(after=after, limit=5)
    assert [s["step"] for s in rest] == [6, 7]
    assert last is None


def test_open_ended_steps_list_completions_by_number(make_arena, manager):
    arena_id = make_arena(status="active", total_steps=0)
    handle = manager.handle(arena_id, "alice")
    for step in (900, 3, 4_000_000_000, 17):
        handle.complete_step(step)
    page, after = handle.steps(limit=3)
    assert [s["step"] for s in page] == [3, 17, 900]
    rest, last = handle.steps(after=after)
    assert [s["step"] for s in rest] == [4_000_000_000]
    assert last is None


def test_arenas_for_an_agent_are_newest_first(make_arena, manager):
    ids = [make_arena() for _ in range(4)]
    for n, arena_id in enumerate(ids):
        Arena.objects.filter(pk=arena_id).update(created_at=timezone.now() + timedelta(minutes=n))
    assert list(manager.current_arenas("alice").values_list("id", flat=True)) == ids[::-1]


def test_a_merge_orders_its_sources_by_slot_then_age(make_arena, manager):
    arena_id = make_arena(
        status="active",
        participants=[{"agent_id": "zed", "role": "worker"}, {"agent_id": "bob", "role": "worker"}],
    )
    zed = manager.handle(arena_id, "zed").publish_artifact("text", "z", "z")
    bob1 = manager.handle(arena_id, "bob").publish_artifact("text", "b1", "b1")
    bob2 = manager.handle(arena_id, "bob").publish_artifact("text", "b2", "b2")

    merged = manager.handle(arena_id, "alice").merge(["zed", "bob", "zed"], "All")

    expected = [str(bob1.id), str(bob2.id), str(zed.id)]
    assert merged.metadata["sources"] == expected
    assert [a["id"] for a in merged.content["artifacts"]] == expected
    assert merged.metadata["slots"] == ["bob", "zed"]


PUNCTUATED_IDS = ["ab", "a_c", "aa", "a0", "a.b", "a-b"]


def _collate_agent_ids(collation: str) -> None:
    """Give the participant and artifact tables' agent columns a collation that sorts
    punctuation unlike code points, as a database created with an `en_US`-like locale does
    (undone with the test's transaction)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_collation WHERE collname = %s", [collation])
        if cursor.fetchone() is None:
            pytest.skip(f"PostgreSQL has no collation {collation!r}")
        for model in (Participant, Artifact):
            table = connection.ops.quote_name(model._meta.db_table)
            cursor.execute(
                f"ALTER TABLE {table} ALTER COLUMN agent_id TYPE varchar(64) "
                f"COLLATE {connection.ops.quote_name(collation)}"
            )


def test_agent_ids_sort_by_code_point_whatever_the_database_collation(
    postgres, make_arena, make_agent, manager
):
    _collate_agent_ids("en-x-icu")
    arena_id = make_arena(status="active")
    handle = manager.handle(arena_id, "alice")
    for agent_id in PUNCTUATED_IDS:
        make_agent(agent_id)
        handle.add_participant(agent_id, "worker")
        manager.handle(arena_id, agent_id).publish_artifact("text", agent_id, "x")
    expected = sorted([*PUNCTUATED_IDS, "alice"])

    assert [p.agent_id for p in handle.participants()] == expected
    assert [p["agent_id"] for p in handle.detail()["participants"]] == expected
    assert list(handle.aggregate().participants) == expected
    assert_replay_matches(arena_id)
    merged = handle.merge(PUNCTUATED_IDS, "All")
    assert [a["agent_id"] for a in merged.content["artifacts"]] == sorted(PUNCTUATED_IDS)
