"""Requests for people: asking, who answers, choices, closing, reviews gating
steps, archiving cancelling what is open; every rule through the domain."""

from __future__ import annotations

import pytest

from arenas.errors import (
    ArenaArchived,
    ArenaNotActive,
    Invalid,
    NotFound,
    PermissionDenied,
    RequestClosed,
    ReviewPending,
    StepAlreadyCompleted,
)
from arenas.models import Arena, Claim, InputRequest, StepCompletion

from .helpers import assert_replay_matches, assert_seq_gapless, event_types, wire_events

pytestmark = pytest.mark.django_db


@pytest.fixture
def team(make_arena, manager):
    """An active arena with a titled plan whose step 2 is a review step: alice and carol
    (coordinators), bob (worker), olive (observer)."""
    arena_id = make_arena(
        status="active",
        plan=[{"title": "Draft"}, {"title": "Check the draft", "review": True}, {"title": "Ship"}],
        participants=[
            {"agent_id": "bob", "role": "worker"},
            {"agent_id": "carol", "role": "coordinator"},
            {"agent_id": "olive", "role": "observer"},
        ],
    )

    def handle(agent_id: str):
        if agent_id == "staff":
            return manager.staff_handle(arena_id, "root")
        return manager.handle(arena_id, agent_id)

    handle.arena_id = arena_id
    return handle


def last(arena_id) -> dict:
    return wire_events(arena_id)[-1]


# --- asking -------------------------------------------------------------------------------


def test_asking_opens_a_request_with_its_event(team):
    asked = team("bob").ask("Which title?", ["Tides", "Waves"], step=1)
    assert (asked.kind, asked.agent_id, asked.status, asked.answer) == (
        "question",
        "bob",
        "open",
        None,
    )
    assert (asked.choices, asked.step) == (["Tides", "Waves"], 1)
    event = last(team.arena_id)
    assert event["type"] == "input_requested"
    assert {k: event[k] for k in ("request_id", "agent_id", "kind", "text", "choices", "step")} == {
        "request_id": str(asked.id),
        "agent_id": "bob",
        "kind": "question",
        "text": "Which title?",
        "choices": ["Tides", "Waves"],
        "step": 1,
    }


@pytest.mark.parametrize(
    ("text", "choices", "step", "field"),
    [
        ("", None, None, "text"),
        ("   ", None, None, "text"),
        ("x" * 4001, None, None, "text"),
        ("q", [], None, "choices"),
        ("q", ["a"] * 2, None, "choices"),
        ("q", [f"c{n}" for n in range(11)], None, "choices"),
        ("q", ["x" * 201], None, "choices"),
        ("q", [""], None, "choices"),
        ("q", "yes", None, "choices"),
        ("q", [1], None, "choices"),
        ("q", None, 4, "step"),
        ("q", None, 0, "step"),
        ("q", None, "1", "step"),
    ],
)
def test_a_malformed_request_is_invalid(team, text, choices, step, field):
    with pytest.raises(Invalid) as refused:
        team("bob").ask(text, choices, step)
    assert field in refused.value.fields
    assert not InputRequest.objects.exists()


def test_observers_and_staff_do_not_ask(team):
    for who in ("olive", "staff"):
        with pytest.raises(PermissionDenied):
            team(who).ask("May I?")


@pytest.mark.parametrize("status", ["created", "settling"])
def test_asking_is_possible_until_the_arena_is_archived(make_arena, manager, status):
    arena_id = make_arena(status=status)
    assert manager.handle(arena_id, "alice").ask("Still there?").status == "open"


def test_nobody_asks_in_an_archived_arena(make_arena, manager):
    arena_id = make_arena(status="archived")
    with pytest.raises(ArenaArchived):
        manager.handle(arena_id, "alice").ask("Hello?")


# --- answering ------------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["staff", "alice", "carol"])
def test_staff_and_other_coordinators_answer(team, who):
    asked = team("bob").ask("Which title?", ["Tides", "Waves"])
    answered = team(who).answer_request(asked.id, "Waves", "Shorter.")
    by = "staff:root" if who == "staff" else who
    assert answered.status == "answered"
    assert {k: answered.answer[k] for k in ("choice", "text", "by")} == {
        "choice": "Waves",
        "text": "Shorter.",
        "by": by,
    }
    event = last(team.arena_id)
    assert (event["type"], event["actor"]) == ("input_provided", by)
    assert {k: event[k] for k in ("request_id", "agent_id", "by", "choice", "text")} == {
        "request_id": str(asked.id),
        "agent_id": "bob",
        "by": by,
        "choice": "Waves",
        "text": "Shorter.",
    }


def test_the_asker_and_workers_do_not_answer(team):
    asked = team("alice").ask("Ship today?", ["yes", "no"])
    for who in ("alice", "bob", "olive"):
        with pytest.raises(PermissionDenied):
            team(who).answer_request(asked.id, "yes")
    team("carol").answer_request(asked.id, "yes")


@pytest.mark.parametrize(
    ("choice", "text", "field"),
    [(None, None, "choice"), ("Maybe", None, "choice"), ("", None, "choice"), (1, None, "choice")],
)
def test_an_answer_to_choices_must_be_one_of_them(team, choice, text, field):
    asked = team("bob").ask("Which title?", ["Tides", "Waves"])
    with pytest.raises(Invalid) as refused:
        team("staff").answer_request(asked.id, choice, text)
    assert field in refused.value.fields
    assert InputRequest.objects.get().status == "open"


@pytest.mark.parametrize(
    ("choice", "text", "field"), [(None, None, "text"), (None, "  ", "text"), ("a", "x", "choice")]
)
def test_a_free_answer_needs_text_and_no_choice(team, choice, text, field):
    asked = team("bob").ask("What next?")
    with pytest.raises(Invalid) as refused:
        team("staff").answer_request(asked.id, choice, text)
    assert field in refused.value.fields
    answered = team("staff").answer_request(asked.id, None, "Write the intro.")
    assert answered.answer["choice"] is None


def test_a_request_is_answered_once(team):
    asked = team("bob").ask("What next?")
    team("staff").answer_request(asked.id, text="The intro.")
    seq = Arena.objects.get(pk=team.arena_id).last_seq
    with pytest.raises(RequestClosed):
        team("alice").answer_request(asked.id, text="Something else.")
    with pytest.raises(RequestClosed):
        team("bob").cancel_request(asked.id)
    assert Arena.objects.get(pk=team.arena_id).last_seq == seq


@pytest.mark.parametrize("request_id", ["nope", "00000000-0000-4000-8000-000000000000", None])
def test_an_unknown_request_is_not_found(team, request_id):
    with pytest.raises(NotFound):
        team("staff").answer_request(request_id, text="x")
    with pytest.raises(NotFound):
        team("bob").cancel_request(request_id)


def test_a_request_of_another_arena_is_not_found(team, make_arena, manager):
    other = make_arena(creator="alice", status="active")
    asked = manager.handle(other, "alice").ask("Elsewhere?")
    with pytest.raises(NotFound):
        team("staff").answer_request(asked.id, text="x")


# --- cancelling and archiving ---------------------------------------------------------------


def test_only_the_asker_cancels(team):
    asked = team("bob").ask("What next?")
    for who in ("alice", "staff"):
        with pytest.raises(PermissionDenied):
            team(who).cancel_request(asked.id)
    team("bob").cancel_request(asked.id)
    event = last(team.arena_id)
    assert (event["type"], event["actor"], event["agent_id"]) == ("input_cancelled", "bob", "bob")
    assert InputRequest.objects.get().status == "cancelled"


def test_archiving_cancels_every_open_request_first(team):
    answered = team("bob").ask("One?")
    team("staff").answer_request(answered.id, text="Yes.")
    first, second = team("bob").ask("Two?"), team("alice").ask("Three?")
    team("alice").act("settle")
    team("alice").act("archive")
    assert event_types(team.arena_id)[-4:] == [
        "input_cancelled",
        "input_cancelled",
        "status_changed",
        "arena_settled",
    ]
    cancelled = [
        e["request_id"] for e in wire_events(team.arena_id) if e["type"] == "input_cancelled"
    ]
    assert cancelled == [str(first.id), str(second.id)]
    assert set(InputRequest.objects.values_list("status", flat=True)) == {"answered", "cancelled"}
    assert_replay_matches(team.arena_id)


# --- reviews --------------------------------------------------------------------------------


def test_completing_a_review_step_opens_its_review_instead(team):
    team("bob").complete_step(1)
    done = team("bob").complete_step(2)
    assert (done.aggregate, done.event.type) == (None, "input_requested")
    review = done.request
    assert (review.kind, review.agent_id, review.step, review.choices) == (
        "review",
        "bob",
        2,
        ["approve", "reject"],
    )
    assert not StepCompletion.objects.filter(arena_id=team.arena_id, step=2).exists()
    step = team("bob").steps()[0][1]
    assert (step["completed"], step["review"]) == (False, "pending")
    assert team("bob").steps()[0][0]["review"] is None


def test_a_pending_review_step_is_neither_completed_nor_claimed_again(team):
    team("bob").complete_step(1)
    team("bob").complete_step(2)
    for attempt in (
        lambda: team("bob").complete_step(2),
        lambda: team("alice").complete_step(2),
        lambda: team("bob").claim_step(2),
    ):
        with pytest.raises(ReviewPending):
            attempt()
    assert team("alice").claim_next()[0].step == 3


def test_approving_a_review_completes_the_step_for_its_submitter(team):
    team("bob").complete_step(1)
    review = team("bob").complete_step(2).request
    team("carol").answer_request(review.id, "approve", "Good.")
    provided, completed = wire_events(team.arena_id)[-2:]
    assert (provided["type"], provided["choice"]) == ("input_provided", "approve")
    assert (completed["type"], completed["step"], completed["agent_id"], completed["actor"]) == (
        "step_completed",
        2,
        "bob",
        "carol",
    )
    assert StepCompletion.objects.get(arena_id=team.arena_id, step=2).agent_id == "bob"
    assert team("bob").steps()[0][1]["review"] == "approved"
    with pytest.raises(StepAlreadyCompleted):
        team("bob").complete_step(2)
    assert_seq_gapless(team.arena_id)
    assert_replay_matches(team.arena_id)


def test_rejecting_a_review_leaves_the_step_open_to_be_done_again(team):
    team("bob").complete_step(1)
    first = team("bob").complete_step(2).request
    team("staff").answer_request(first.id, "reject", "Cite the sources.")
    assert event_types(team.arena_id)[-1] == "input_provided"
    assert team("bob").steps()[0][1]["review"] == "required"
    again = team("bob").complete_step(2).request
    assert again.id != first.id
    team("staff").answer_request(again.id, "approve")
    assert Arena.objects.get(pk=team.arena_id).completed_steps == 2


def test_a_cancelled_review_leaves_the_step_open(team):
    team("bob").complete_step(1)
    review = team("bob").complete_step(2).request
    team("bob").cancel_request(review.id)
    assert team("bob").complete_step(2).request is not None


def test_submitting_a_review_ends_the_submitters_claim(team):
    team("bob").complete_step(1)
    claim, _ = team("bob").claim_step(2)
    team("bob").complete_step(2, claim_id=claim.claim_id)
    claim.refresh_from_db()
    assert (claim.is_live, claim.end) == (False, "submitted")
    assert event_types(team.arena_id)[-2:] == ["step_claimed", "input_requested"]
    assert not Claim.objects.filter(arena_id=team.arena_id, ended_at__isnull=True).exists()


def test_an_approval_needs_an_active_arena_and_changes_nothing_otherwise(team):
    team("bob").complete_step(1)
    review = team("bob").complete_step(2).request
    team("alice").act("settle")
    seq = Arena.objects.get(pk=team.arena_id).last_seq
    with pytest.raises(ArenaNotActive):
        team("staff").answer_request(review.id, "approve")
    assert Arena.objects.get(pk=team.arena_id).last_seq == seq
    assert InputRequest.objects.get(pk=review.id).status == "open"
    team("staff").answer_request(review.id, "reject", "Too late.")
    assert InputRequest.objects.get(pk=review.id).status == "answered"


def test_the_review_flag_is_validated_at_creation(make_agent, manager):
    make_agent("alice")
    with pytest.raises(Invalid) as refused:
        manager.create({"goal": "g", "plan": [{"title": "a", "review": "yes"}]}, created_by="alice")
    assert "plan[0].review" in refused.value.fields


def test_listing_requests_newest_first_and_by_status(team):
    first = team("bob").ask("One?")
    second = team("bob").ask("Two?")
    team("staff").answer_request(first.id, text="Yes.")
    assert [r.id for r in team("olive").requests()] == [second.id, first.id]
    assert [r.id for r in team("olive").requests("open")] == [second.id]
    with pytest.raises(Invalid):
        team("olive").requests("closed")
