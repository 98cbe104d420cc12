"""Participants over HTTP: the sorted list, adding with permission overrides, leaving,
removing, re-joining, and the last coordinator."""

from __future__ import annotations

import pytest

from arenas.models import Participant
from tests.api.helpers import assert_error, url

pytestmark = pytest.mark.django_db


def test_participants_are_listed_by_agent_id(make_arena, client_for):
    arena_id = make_arena(
        creator="mallory",
        participants=[
            {"agent_id": "zed", "role": "worker"},
            {"agent_id": "amy", "role": "observer"},
        ],
    )
    listing = client_for("zed").get(url(arena_id, "participants")).json()
    assert [p["agent_id"] for p in listing["results"]] == ["amy", "mallory", "zed"]
    assert listing["next"] is None
    amy = listing["results"][0]
    assert amy["role"] == "observer"
    assert amy["permissions"] == {
        "can_write_own_slot": False,
        "can_read_other_slots": True,
        "can_write_shared_memory": False,
        "can_merge": False,
    }
    assert (amy["slot_status"], amy["current"], amy["left_at"]) == ("idle", "", None)


def test_a_coordinator_adds_a_participant_with_overrides(make_arena, make_agent, client_for):
    arena_id = make_arena()
    make_agent("bob")
    response = client_for("alice").post(
        url(arena_id, "participants"),
        {"agent_id": "bob", "role": "worker", "can_read_other_slots": False},
        format="json",
    )
    assert response.status_code == 201
    body = response.json()
    assert (body["agent_id"], body["role"]) == ("bob", "worker")
    assert body["permissions"]["can_read_other_slots"] is False
    assert body["permissions"]["can_write_own_slot"] is True
    assert client_for("bob").get(url(arena_id)).status_code == 200


def test_adding_a_current_participant_again_is_409(make_arena, client_for):
    arena_id = make_arena(participants=[{"agent_id": "bob", "role": "worker"}])
    response = client_for("alice").post(
        url(arena_id, "participants"), {"agent_id": "bob", "role": "observer"}, format="json"
    )
    assert_error(response, 409, "already_participant")
    assert Participant.objects.get(arena_id=arena_id, agent_id="bob").role == "worker"


def test_adding_an_unknown_agent_is_400(make_arena, client_for):
    arena_id = make_arena()
    response = client_for("alice").post(
        url(arena_id, "participants"), {"agent_id": "ghost", "role": "worker"}, format="json"
    )
    assert "agent_id" in assert_error(response, 400, "invalid")["fields"]


@pytest.mark.parametrize(
    ("status", "code"), [("settling", "arena_not_active"), ("archived", "arena_archived")]
)
def test_no_one_joins_a_settling_or_archived_arena(
    make_arena, make_agent, client_for, status, code
):
    arena_id = make_arena(status=status)
    make_agent("bob")
    response = client_for("alice").post(
        url(arena_id, "participants"), {"agent_id": "bob", "role": "worker"}, format="json"
    )
    assert_error(response, 409, code)


def test_an_agent_leaves_and_joins_again(make_arena, client_for):
    arena_id = make_arena(participants=[{"agent_id": "bob", "role": "worker"}])
    alice, bob = client_for("alice"), client_for("bob")
    assert bob.delete(url(arena_id, "participants", "bob")).status_code == 204
    names = [p["agent_id"] for p in alice.get(url(arena_id, "participants")).json()["results"]]
    assert names == ["alice"]
    assert_error(bob.get(url(arena_id)), 404, "not_found")
    again = alice.post(
        url(arena_id, "participants"), {"agent_id": "bob", "role": "observer"}, format="json"
    )
    assert again.status_code == 201
    assert again.json()["role"] == "observer"
    assert bob.get(url(arena_id)).status_code == 200


def test_a_coordinator_removes_a_worker_but_a_worker_cannot(make_arena, client_for):
    arena_id = make_arena(
        participants=[{"agent_id": "bob", "role": "worker"}, {"agent_id": "cy", "role": "worker"}]
    )
    assert_error(
        client_for("bob").delete(url(arena_id, "participants", "cy")), 403, "permission_denied"
    )
    assert client_for("alice").delete(url(arena_id, "participants", "cy")).status_code == 204
    assert not Participant.objects.get(arena_id=arena_id, agent_id="cy").is_current


def test_the_last_coordinator_cannot_leave(make_arena, client_for):
    arena_id = make_arena(participants=[{"agent_id": "bob", "role": "coordinator"}])
    alice = client_for("alice")
    assert alice.delete(url(arena_id, "participants", "alice")).status_code == 204
    response = client_for("bob").delete(url(arena_id, "participants", "bob"))
    assert_error(response, 409, "last_coordinator")


def test_removing_someone_who_is_not_a_participant_is_404(make_arena, make_agent, client_for):
    arena_id = make_arena()
    make_agent("bob")
    response = client_for("alice").delete(url(arena_id, "participants", "bob"))
    assert_error(response, 404, "not_found")


def test_removing_a_malformed_agent_id_is_400(make_arena, client_for):
    arena_id = make_arena()
    response = client_for("alice").delete(url(arena_id, "participants", "NOT%20AN%20ID"))
    assert_error(response, 400, "invalid")


def test_no_one_leaves_an_archived_arena(make_arena, client_for):
    arena_id = make_arena(status="archived", participants=[{"agent_id": "bob", "role": "worker"}])
    response = client_for("bob").delete(url(arena_id, "participants", "bob"))
    assert_error(response, 409, "arena_archived")
