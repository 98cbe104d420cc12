"""The rules that recur as queries, each stated once on a model's QuerySet: current
participants, the arenas a person may see, the arenas an agent takes part in, live claims."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone

from arenas.models import Arena, Claim, Participant

WORKERS = [{"agent_id": "bob", "role": "worker"}, {"agent_id": "carl", "role": "worker"}]


@pytest.fixture
def people(db):
    users = get_user_model().objects
    return {
        "owner": users.create_user("olga"),
        "stranger": users.create_user("sam"),
        "staff": users.create_user("stella", is_staff=True),
    }


def test_current_participants_are_those_that_have_not_left(make_arena, manager):
    arena_id = make_arena(participants=WORKERS)
    manager.handle(arena_id, "bob").leave()

    current = Participant.objects.current().filter(arena_id=arena_id)

    assert sorted(current.values_list("agent_id", flat=True)) == ["alice", "carl"]
    everyone = Participant.objects.filter(arena_id=arena_id)
    assert sorted(p.agent_id for p in everyone if p.is_current) == ["alice", "carl"]
    assert everyone.count() == 3


def test_owned_by_keeps_the_participations_of_the_users_agents(make_arena, make_agent, people):
    make_agent("bob", owner=people["owner"])
    arena_id = make_arena(participants=WORKERS)

    owned = Participant.objects.filter(arena_id=arena_id).owned_by(people["owner"])

    assert list(owned.values_list("agent_id", flat=True)) == ["bob"]
    assert not Participant.objects.owned_by(people["stranger"]).exists()


def test_a_person_sees_the_arenas_an_agent_they_own_currently_takes_part_in(
    make_arena, make_agent, manager, people
):
    make_agent("bob", owner=people["owner"])
    seen = make_arena(participants=WORKERS)
    left = make_arena(participants=WORKERS)
    manager.handle(left, "bob").leave()
    other = make_arena(creator="dora")

    assert list(Arena.objects.visible_to(people["owner"])) == [Arena.objects.get(pk=seen)]
    assert not Arena.objects.visible_to(people["stranger"]).exists()
    assert set(Arena.objects.visible_to(people["staff"]).values_list("pk", flat=True)) == {
        seen,
        left,
        other,
    }


def test_counts_over_the_visible_arenas_see_every_current_participant(
    make_arena, make_agent, manager, people
):
    make_agent("bob", owner=people["owner"])
    arena_id = make_arena(participants=WORKERS)
    manager.handle(arena_id, "carl").leave()

    counted = Arena.objects.visible_to(people["owner"]).with_participant_count().get()

    assert counted.pk == arena_id
    assert counted.participant_count == 2  # alice and bob, though the owner's agent is bob


def test_the_arenas_an_agent_currently_takes_part_in(make_arena, manager):
    kept = make_arena(participants=WORKERS, status="active")
    archived = make_arena(participants=WORKERS, status="archived")
    left = make_arena(participants=WORKERS)
    manager.handle(left, "bob").leave()
    make_arena(creator="dora")

    taking_part = Arena.objects.with_current_participant("bob")

    assert set(taking_part.values_list("pk", flat=True)) == {kept, archived}
    assert list(taking_part.unarchived().values_list("pk", flat=True)) == [kept]
    assert not Arena.objects.with_current_participant("nobody").exists()


def test_live_claims_within_and_past_their_lease(make_arena, manager):
    arena_id = make_arena(participants=WORKERS, status="active")
    bob, carl = manager.handle(arena_id, "bob"), manager.handle(arena_id, "carl")
    held, _ = bob.claim_step(1)
    lapsed, _ = carl.claim_step(2)
    released, _ = bob.claim_step(3)
    bob.release_claim(released.claim_id)
    past = timezone.now() - timedelta(seconds=1)
    Claim.objects.filter(pk=lapsed.pk).update(expires_at=past)

    def steps(claims):
        return sorted(claims.filter(arena_id=arena_id).values_list("step", flat=True))

    assert steps(Claim.objects.live()) == [1, 2]
    assert steps(Claim.objects.within_lease()) == [1]
    assert steps(Claim.objects.past_lease()) == [2]
    assert steps(Claim.objects.ended()) == [3]
    # At a moment of one's choosing: before the lapsed lease passed, both were held.
    earlier = past - timedelta(seconds=1)
    assert steps(Claim.objects.within_lease(earlier)) == [1, 2]
    assert steps(Claim.objects.past_lease(earlier)) == []


def test_a_recorded_expiry_ends_the_claim(make_arena, manager):
    arena_id = make_arena(participants=WORKERS, status="active")
    bob = manager.handle(arena_id, "bob")
    claim, _ = bob.claim_step(1)
    Claim.objects.filter(pk=claim.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    Arena.objects.filter(pk=arena_id).update(next_expiry_at=timezone.now() - timedelta(seconds=1))

    bob.claim_step(2)  # a write records the due expiry first

    assert list(Claim.objects.filter(arena_id=arena_id).past_lease()) == []
    assert list(Claim.objects.filter(arena_id=arena_id).live().values_list("step", flat=True)) == [
        2
    ]
    assert Claim.objects.ended().get(arena_id=arena_id).end == "expired"
