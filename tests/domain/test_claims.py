"""Claims, leases and their expiry: every rule through the domain."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from arenas import claims
from arenas.errors import (
    ArenaArchived,
    ArenaNotActive,
    ClaimLost,
    Invalid,
    NotFound,
    PermissionDenied,
    StepAlreadyCompleted,
    StepBlocked,
    StepClaimed,
)
from arenas.events import timestamp
from arenas.models import Arena, Claim, Event

from .helpers import assert_replay_matches, assert_seq_gapless, event_types, wire_events

pytestmark = pytest.mark.django_db

LATER = timedelta(seconds=301)


@pytest.fixture
def team(make_arena, manager):
    """An active peer arena of 10 untitled steps: alice (coordinator), bob and carol
    (workers), olive (observer). Returns a function giving each one's handle."""
    arena_id = make_arena(
        status="active",
        total_steps=10,
        participants=[
            {"agent_id": "bob", "role": "worker"},
            {"agent_id": "carol", "role": "worker"},
            {"agent_id": "olive", "role": "observer"},
        ],
    )

    def handle(agent_id: str):
        return manager.handle(arena_id, agent_id)

    handle.arena_id = arena_id
    return handle


def lapse(seconds: float = 301) -> int:
    """Time passes: the sweep records every lease that has passed by then."""
    return claims.sweep(timezone.now() + timedelta(seconds=seconds))


def last_event(arena_id) -> dict:
    return wire_events(arena_id)[-1]


# --- claiming ------------------------------------------------------------------------------


def test_a_claim_is_a_lease_named_by_the_seq_of_its_event(team):
    before = timezone.now()
    claim, event = team("bob").claim_step(3)
    assert claim.claim_id == event.seq
    assert (claim.step, claim.agent_id, claim.renewed_at) == (3, "bob", None)
    assert (
        before + timedelta(seconds=300)
        <= claim.expires_at
        <= timezone.now() + timedelta(seconds=300)
    )
    assert last_event(team.arena_id) == {
        "arena_id": str(team.arena_id),
        "seq": claim.claim_id,
        "type": "step_claimed",
        "timestamp": last_event(team.arena_id)["timestamp"],
        "actor": "bob",
        "step": 3,
        "agent_id": "bob",
        "claim_id": claim.claim_id,
        "expires_at": timestamp(claim.expires_at),
    }


def test_the_lease_is_the_arenas_unless_the_claim_asks(make_arena, manager, make_agent):
    arena_id = make_arena(status="active", total_steps=5, lease_seconds=60)
    handle = manager.handle(arena_id, "alice")
    assert Arena.objects.get(pk=arena_id).lease_seconds == 60
    short, _ = handle.claim_step(1)
    assert abs((short.expires_at - short.claimed_at).total_seconds() - 60) < 1
    long, _ = handle.claim_step(2, lease_seconds=86400)
    assert abs((long.expires_at - long.claimed_at).total_seconds() - 86400) < 1


@pytest.mark.parametrize("lease", [4, 86401, 0, -5, 1.5, "60", True])
def test_a_lease_outside_5_to_86400_seconds_is_invalid(team, lease):
    with pytest.raises(Invalid) as refused:
        team("bob").claim_step(1, lease_seconds=lease)
    assert "lease_seconds" in refused.value.fields
    assert not Claim.objects.exists()


@pytest.mark.parametrize("lease", [4, 86401, None, "x"])
def test_an_arena_lease_outside_5_to_86400_seconds_is_invalid(manager, make_agent, lease):
    make_agent("alice")
    with pytest.raises(Invalid) as refused:
        manager.create({"goal": "g", "lease_seconds": lease}, created_by="alice")
    assert "lease_seconds" in refused.value.fields


def test_claiming_checks_what_completing_checks(make_arena, manager):
    arena_id = make_arena(
        status="active",
        plan=[
            {"title": "a"},
            {"title": "b", "depends_on": [1]},
            {"title": "c", "assignee": "carol"},
        ],
        participants=[
            {"agent_id": "bob", "role": "worker"},
            {"agent_id": "carol", "role": "worker"},
            {"agent_id": "olive", "role": "observer"},
        ],
    )
    bob = manager.handle(arena_id, "bob")
    for step in (0, 4, "1", None):
        with pytest.raises(Invalid):
            bob.claim_step(step)
    with pytest.raises(StepBlocked):
        bob.claim_step(2)
    with pytest.raises(PermissionDenied):
        bob.claim_step(3)
    with pytest.raises(PermissionDenied):
        manager.handle(arena_id, "olive").claim_step(1)
    manager.handle(arena_id, "alice").claim_step(3)  # a coordinator may claim any step
    manager.handle(arena_id, "alice").complete_step(1)
    with pytest.raises(StepAlreadyCompleted):
        bob.claim_step(1)
    assert bob.claim_step(2)[0].step == 2


@pytest.mark.parametrize("status", ["created", "settling", "archived"])
def test_claims_need_an_active_arena(make_arena, manager, status):
    arena_id = make_arena(status=status)
    with pytest.raises((ArenaNotActive, ArenaArchived)) as refused:
        manager.handle(arena_id, "alice").claim_step(1)
    assert refused.value.status == 409


def test_a_step_held_by_another_agent_is_refused_with_the_holder(team):
    held, _ = team("bob").claim_step(3)
    seq = Arena.objects.get(pk=team.arena_id).last_seq
    for who in ("carol", "alice"):
        with pytest.raises(StepClaimed) as refused:
            team(who).claim_step(3)
        assert refused.value.extra == {
            "holder": "bob",
            "claim_id": held.claim_id,
            "expires_at": timestamp(held.expires_at),
        }
    assert Arena.objects.get(pk=team.arena_id).last_seq == seq


def test_the_holder_claiming_again_renews_without_an_event(team):
    held, _ = team("bob").claim_step(3, lease_seconds=60)
    seq = Arena.objects.get(pk=team.arena_id).last_seq
    renewed, event = team("bob").claim_step(3, lease_seconds=600)
    assert event is None
    assert renewed.claim_id == held.claim_id
    assert renewed.expires_at > held.expires_at and renewed.renewed_at is not None
    assert Arena.objects.get(pk=team.arena_id).last_seq == seq


# --- renewing and releasing ---------------------------------------------------------------


def test_only_the_holder_renews_a_live_claim(team):
    claim, _ = team("bob").claim_step(3, lease_seconds=60)
    renewed = team("bob").renew_claim(claim.claim_id)
    assert renewed.expires_at - renewed.renewed_at == timedelta(seconds=300)
    for who, error in (("carol", PermissionDenied), ("alice", PermissionDenied)):
        with pytest.raises(error):
            team(who).renew_claim(claim.claim_id)
    with pytest.raises(NotFound):
        team("bob").renew_claim(claim.claim_id + 1000)
    with pytest.raises(NotFound):
        team("bob").renew_claim("abc")
    team("bob").release_claim(claim.claim_id)
    with pytest.raises(ClaimLost):
        team("bob").renew_claim(claim.claim_id)


@pytest.mark.parametrize("releaser", ["bob", "alice", "staff"])
def test_the_holder_a_coordinator_or_staff_releases(team, manager, releaser):
    claim, _ = team("bob").claim_step(3)
    handle = manager.staff_handle(team.arena_id, "root") if releaser == "staff" else team(releaser)
    event = handle.release_claim(claim.claim_id)
    assert (event.type, event.actor) == ("claim_released", handle.actor)
    assert event.data == {"step": 3, "agent_id": "bob", "claim_id": claim.claim_id}
    assert team("carol").claim_step(3)[0].agent_id == "carol"
    with pytest.raises(ClaimLost):
        handle.release_claim(claim.claim_id)


def test_another_worker_cannot_release(team):
    claim, _ = team("bob").claim_step(3)
    with pytest.raises(PermissionDenied):
        team("carol").release_claim(claim.claim_id)
    assert Claim.objects.get().is_live


# --- completing -----------------------------------------------------------------------------


def test_completing_with_the_live_claim_ends_it_without_an_event_of_its_own(team):
    claim, _ = team("bob").claim_step(3)
    done = team("bob").complete_step(3, claim_id=claim.claim_id)
    assert event_types(team.arena_id)[-2:] == ["step_claimed", "step_completed"]
    assert (done.event.type, done.aggregate.completed_steps, done.request) == (
        "step_completed",
        1,
        None,
    )
    claim.refresh_from_db()
    assert (claim.is_live, claim.end) == (False, "completed")
    assert team("bob").live_claims().count() == 0


def test_completing_without_the_claim_id_still_ends_the_holders_claim(team):
    team("bob").claim_step(3)
    team("bob").complete_step(3)
    assert Claim.objects.get().end == "completed"


def test_a_live_claim_of_another_agent_refuses_the_completion(team):
    claim, _ = team("bob").claim_step(3)
    for who in ("carol", "alice"):
        with pytest.raises(StepClaimed):
            team(who).complete_step(3)
    assert Claim.objects.get().is_live
    team("bob").complete_step(3, claim_id=claim.claim_id)


@pytest.mark.parametrize("claim_id", [999, 1])
def test_a_claim_id_that_is_not_the_callers_live_claim_is_claim_lost(team, claim_id):
    with pytest.raises(ClaimLost) as refused:
        team("bob").complete_step(3, claim_id=claim_id)
    assert refused.value.extra == {"claim_id": claim_id}
    assert not Event.objects.filter(arena_id=team.arena_id, type="step_completed").exists()


@pytest.mark.parametrize("claim_id", [0, -1, "7", 1.5, True])
def test_a_malformed_claim_id_is_invalid(team, claim_id):
    with pytest.raises(Invalid) as refused:
        team("bob").complete_step(3, claim_id=claim_id)
    assert "claim_id" in refused.value.fields


# --- expiry ---------------------------------------------------------------------------------


def test_a_lapsed_claim_is_recorded_before_the_next_writes_event(team):
    claim, _ = team("bob").claim_step(3, lease_seconds=5)
    Claim.objects.filter(pk=claim.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    Arena.objects.filter(pk=team.arena_id).update(next_expiry_at=timezone.now())
    team("carol").post_message("anyone on step 3?")
    assert event_types(team.arena_id)[-2:] == ["claim_expired", "message_posted"]
    expired = last_event(team.arena_id)
    expiry = wire_events(team.arena_id)[-2]
    assert (expiry["actor"], expiry["step"], expiry["agent_id"], expiry["claim_id"]) == (
        None,
        3,
        "bob",
        claim.claim_id,
    )
    assert expired["type"] == "message_posted"
    assert Claim.objects.get().end == "expired"


def test_expiries_are_recorded_in_expiry_order_then_by_step(team):
    now = timezone.now()
    made = [team("bob").claim_step(step, lease_seconds=60)[0] for step in (5, 2, 8)]
    made.append(team("carol").claim_step(1, lease_seconds=60)[0])
    due = {
        5: now - timedelta(seconds=3),
        2: now - timedelta(seconds=1),
        8: now - timedelta(seconds=3),
        1: now - timedelta(seconds=1),
    }
    for claim in made:
        Claim.objects.filter(pk=claim.pk).update(expires_at=due[claim.step])
    Arena.objects.filter(pk=team.arena_id).update(next_expiry_at=now - timedelta(seconds=3))
    assert claims.sweep() == 4
    expired = [e["step"] for e in wire_events(team.arena_id) if e["type"] == "claim_expired"]
    assert expired == [5, 8, 1, 2]
    assert_replay_matches(team.arena_id)


def test_a_claim_that_lapses_while_its_holder_works_does_not_count(team):
    claim, _ = team("bob").claim_step(3, lease_seconds=5)
    assert lapse(6) == 1
    with pytest.raises(ClaimLost):
        team("bob").complete_step(3, claim_id=claim.claim_id)
    taken, _ = team("carol").claim_step(3)
    with pytest.raises(StepClaimed):
        team("bob").complete_step(3, claim_id=claim.claim_id)
    team("carol").complete_step(3, claim_id=taken.claim_id)
    assert event_types(team.arena_id)[-4:] == [
        "step_claimed",
        "claim_expired",
        "step_claimed",
        "step_completed",
    ]


def test_the_sweep_records_nothing_before_the_lease_passes(team):
    team("bob").claim_step(3, lease_seconds=60)
    assert claims.sweep() == 0
    assert lapse(30) == 0
    assert lapse(61) == 1
    assert lapse(61) == 0


def test_a_lapsed_claim_is_no_longer_listed_even_before_its_expiry_is_recorded(team):
    claim, _ = team("bob").claim_step(3, lease_seconds=5)
    Claim.objects.filter(pk=claim.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert list(team("alice").live_claims()) == []
    assert team("alice").steps()[0][2]["claim"] is None


# --- leaving and settling --------------------------------------------------------------------


def test_leaving_releases_the_leavers_claims_first(team):
    first, _ = team("bob").claim_step(4)
    second, _ = team("bob").claim_step(2)
    team("carol").claim_step(3)
    team("bob").leave()
    tail = wire_events(team.arena_id)[-3:]
    assert [(e["type"], e.get("step"), e["actor"]) for e in tail] == [
        ("claim_released", 2, "bob"),
        ("claim_released", 4, "bob"),
        ("agent_left", None, "bob"),
    ]
    assert [c.agent_id for c in team("alice").live_claims()] == ["carol"]


def test_removal_releases_the_removed_agents_claims_first(team):
    team("bob").claim_step(4)
    team("alice").remove_participant("bob")
    assert event_types(team.arena_id)[-2:] == ["claim_released", "agent_left"]
    assert last_event(team.arena_id)["actor"] == "alice"


def test_settling_releases_every_live_claim_first(team):
    team("bob").claim_step(4)
    team("carol").claim_step(2)
    team("alice").act("settle")
    tail = wire_events(team.arena_id)[-3:]
    assert [(e["type"], e.get("step")) for e in tail] == [
        ("claim_released", 2),
        ("claim_released", 4),
        ("status_changed", None),
    ]
    assert not Claim.objects.filter(ended_at__isnull=True).exists()
    assert Arena.objects.get(pk=team.arena_id).next_expiry_at is None
    assert_seq_gapless(team.arena_id)
    assert_replay_matches(team.arena_id)


# --- claims/next ----------------------------------------------------------------------------


def test_next_claims_the_lowest_step_nobody_holds_or_did(team):
    team("alice").complete_step(1)
    team("alice").complete_step(3)
    first, _ = team("bob").claim_next()
    second, _ = team("carol").claim_next()
    third, _ = team("bob").claim_next()
    assert [first.step, second.step, third.step] == [2, 4, 5]
    team("bob").release_claim(first.claim_id)
    assert team("carol").claim_next()[0].step == 2


def test_next_in_a_pipeline_is_only_the_step_after_the_done_ones(make_arena, manager):
    arena_id = make_arena(
        status="active",
        strategy="pipeline",
        total_steps=4,
        participants=[{"agent_id": "bob", "role": "worker"}],
    )
    bob, alice = manager.handle(arena_id, "bob"), manager.handle(arena_id, "alice")
    claim, _ = bob.claim_next()
    assert claim.step == 1
    assert alice.claim_next() == claims.Vacancy(remaining=4, claimed=1, blocked=3)
    bob.complete_step(1, claim_id=claim.claim_id)
    assert alice.claim_next()[0].step == 2


def test_next_in_a_titled_plan_follows_dependencies_and_assignees(make_arena, manager):
    arena_id = make_arena(
        status="active",
        plan=[
            {"title": "a", "assignee": "carol"},
            {"title": "b", "depends_on": [1]},
            {"title": "c"},
            {"title": "d", "depends_on": [3]},
        ],
        participants=[
            {"agent_id": "bob", "role": "worker"},
            {"agent_id": "carol", "role": "worker"},
        ],
    )
    bob, carol = manager.handle(arena_id, "bob"), manager.handle(arena_id, "carol")
    assert bob.claim_next()[0].step == 3
    assert bob.claim_next() == claims.Vacancy(remaining=4, claimed=1, blocked=2)
    assert carol.claim_next()[0].step == 1
    alice_next = manager.handle(arena_id, "alice").claim_next()
    assert alice_next == claims.Vacancy(remaining=4, claimed=2, blocked=2)


def test_a_coordinator_may_be_given_a_step_assigned_to_another(make_arena, manager):
    arena_id = make_arena(
        status="active",
        plan=[{"title": "a", "assignee": "bob"}, {"title": "b", "assignee": "bob"}],
        participants=[{"agent_id": "bob", "role": "worker"}],
    )
    assert manager.handle(arena_id, "alice").claim_next()[0].step == 1


def test_next_in_an_open_ended_plan_finds_the_first_gap(make_arena, manager):
    arena_id = make_arena(status="active", total_steps=0)
    alice = manager.handle(arena_id, "alice")
    for step in (1, 2, 4):
        alice.complete_step(step)
    assert [alice.claim_next()[0].step for _ in range(3)] == [3, 5, 6]


def test_when_every_step_is_done_next_reports_nothing_remaining(make_arena, manager):
    arena_id = make_arena(status="active", total_steps=2)
    alice = manager.handle(arena_id, "alice")
    alice.complete_step(2)
    alice.complete_step(1)
    seq = Arena.objects.get(pk=arena_id).last_seq
    assert alice.claim_next() == claims.Vacancy(remaining=0, claimed=0, blocked=0)
    assert Arena.objects.get(pk=arena_id).last_seq == seq


def test_the_completed_prefix_follows_completions_out_of_order(make_arena, manager):
    arena_id = make_arena(status="active", total_steps=10)
    alice = manager.handle(arena_id, "alice")
    for step in (2, 3, 5, 1):
        alice.complete_step(step)
    assert Arena.objects.get(pk=arena_id).completed_prefix == 1
    assert alice.claim_next()[0].step == 4
    assert Arena.objects.get(pk=arena_id).completed_prefix == 3


def test_next_needs_what_claiming_needs(team):
    with pytest.raises(PermissionDenied):
        team("olive").claim_next()
    with pytest.raises(Invalid):
        team("bob").claim_next(lease_seconds=3)


def test_next_expiry_may_lag_but_never_lets_a_lapsed_claim_go_unrecorded(team):
    """Ending or renewing a claim leaves Arena.next_expiry_at as it was (no statement to
    keep it); once it has passed, the sweep looks, records nothing that has not lapsed, and
    sets it anew."""
    short, _ = team("bob").claim_step(1, lease_seconds=10)
    long, _ = team("carol").claim_step(2, lease_seconds=600)
    team("bob").complete_step(1, claim_id=short.claim_id)
    lagging = Arena.objects.get(pk=team.arena_id).next_expiry_at
    assert lagging == short.expires_at
    assert lapse(11) == 0
    assert Arena.objects.get(pk=team.arena_id).next_expiry_at == long.expires_at
    team("carol").renew_claim(long.claim_id, lease_seconds=900)
    assert lapse(601) == 0
    assert lapse(901) == 1
    assert Arena.objects.get(pk=team.arena_id).next_expiry_at is None


def test_an_open_ended_pipeline_with_its_next_step_held_reports_that_claim(make_arena, manager):
    arena_id = make_arena(status="active", strategy="pipeline", total_steps=0)
    alice = manager.handle(arena_id, "alice")
    alice.complete_step(1)
    assert alice.claim_next()[0].step == 2
    assert alice.claim_next() == claims.Vacancy(remaining=1, claimed=1, blocked=0)
