"""Claims over HTTP: the paths, status codes, bodies and error codes; every
response is also checked against the OpenAPI document (tests/api/conftest.py)."""

from __future__ import annotations

import pytest

from arenas.models import Event
from tests.api.helpers import assert_error, url

pytestmark = pytest.mark.django_db


@pytest.fixture
def arena(make_arena):
    return make_arena(
        status="active",
        total_steps=5,
        participants=[
            {"agent_id": "bob", "role": "worker"},
            {"agent_id": "carol", "role": "worker"},
        ],
    )


def claim(client, arena_id, step, **body):
    return client.post(url(arena_id, "steps", str(step), "claim"), body, format="json")


def test_claiming_a_step_answers_201_with_the_claim_and_its_event(arena, client_for):
    response = claim(client_for("bob"), arena, 2, lease_seconds=60)
    assert response.status_code == 201
    body = response.json()
    assert body["claim"]["claim_id"] == body["event"]["seq"]
    assert (body["claim"]["step"], body["claim"]["agent_id"]) == (2, "bob")
    assert body["claim"]["renewed_at"] is None
    assert body["event"]["type"] == "step_claimed"
    assert body["event"]["expires_at"] == body["claim"]["expires_at"]


def test_claiming_your_own_step_again_renews_it_with_200(arena, client_for):
    bob = client_for("bob")
    first = claim(bob, arena, 2).json()["claim"]
    again = claim(bob, arena, 2, lease_seconds=600)
    assert again.status_code == 200
    assert set(again.json()) == {"claim"}
    assert again.json()["claim"]["claim_id"] == first["claim_id"]
    assert again.json()["claim"]["renewed_at"] is not None


def test_a_step_held_by_another_agent_is_409_step_claimed_with_the_holder(arena, client_for):
    held = claim(client_for("bob"), arena, 2).json()["claim"]
    body = assert_error(claim(client_for("carol"), arena, 2), 409, "step_claimed")
    assert (body["holder"], body["claim_id"], body["expires_at"]) == (
        "bob",
        held["claim_id"],
        held["expires_at"],
    )
    response = client_for("carol").post(url(arena, "steps"), {"step": 2}, format="json")
    assert assert_error(response, 409, "step_claimed")["holder"] == "bob"


@pytest.mark.parametrize(
    ("step", "body", "status", "code"),
    [
        (9, {}, 400, "invalid"),
        (0, {}, 400, "invalid"),
        (2, {"lease_seconds": 3}, 400, "invalid"),
        (2, {"lease_seconds": "60"}, 400, "invalid"),
        (2, {"colour": "red"}, 400, "invalid"),
    ],
)
def test_a_bad_claim_is_refused(arena, client_for, step, body, status, code):
    assert_error(claim(client_for("bob"), arena, step, **body), status, code)
    assert not Event.objects.filter(type="step_claimed").exists()


def test_claims_next_answers_201_then_200_with_what_remains(make_arena, client_for):
    arena_id = make_arena(status="active", total_steps=2)
    alice = client_for("alice")
    first = alice.post(url(arena_id, "claims", "next"), {}, format="json")
    second = alice.post(url(arena_id, "claims", "next"), format="json")
    assert (first.status_code, second.status_code) == (201, 201)
    assert [first.json()["claim"]["step"], second.json()["claim"]["step"]] == [1, 2]
    none = alice.post(url(arena_id, "claims", "next"), {"lease_seconds": 30}, format="json")
    assert none.status_code == 200
    assert none.json() == {"claim": None, "remaining": 2, "claimed": 2, "blocked": 0}


def test_a_retried_claims_next_claims_once(arena, client_for):
    bob = client_for("bob")
    headers = {"HTTP_IDEMPOTENCY_KEY": "next-1"}
    first = bob.post(url(arena, "claims", "next"), {}, format="json", **headers)
    again = bob.post(url(arena, "claims", "next"), {}, format="json", **headers)
    assert again.json() == first.json()
    assert again["Idempotent-Replayed"] == "true"
    assert Event.objects.filter(type="step_claimed").count() == 1


def test_renewing_and_releasing_a_claim(arena, client_for):
    bob, alice = client_for("bob"), client_for("alice")
    held = claim(bob, arena, 3).json()["claim"]
    renewed = bob.post(url(arena, "claims", str(held["claim_id"]), "renew"), {}, format="json")
    assert renewed.status_code == 200
    assert renewed.json()["claim"]["renewed_at"] is not None
    listed = alice.get(url(arena, "claims")).json()
    assert listed == {"results": [renewed.json()["claim"]], "next": None}
    assert alice.delete(url(arena, "claims", str(held["claim_id"]))).status_code == 204
    assert Event.objects.filter(type="claim_released").get().actor == "alice"
    assert alice.get(url(arena, "claims")).json()["results"] == []
    lost = bob.post(url(arena, "claims", str(held["claim_id"]), "renew"), {}, format="json")
    assert assert_error(lost, 409, "claim_lost")["claim_id"] == held["claim_id"]
    assert_error(alice.delete(url(arena, "claims", str(held["claim_id"]))), 409, "claim_lost")


@pytest.mark.parametrize("claim_id", ["999", "abc", "0", "-1", "1.5", "%00"])
def test_a_claim_id_that_names_no_claim_is_404(arena, client_for, claim_id):
    bob = client_for("bob")
    assert_error(bob.delete(url(arena, "claims", claim_id)), 404, "not_found")
    renew = bob.post(url(arena, "claims", claim_id, "renew"), {}, format="json")
    assert_error(renew, 404, "not_found")


def test_only_the_holder_renews_and_a_worker_cannot_release_anothers(arena, client_for):
    held = claim(client_for("bob"), arena, 3).json()["claim"]
    carol = client_for("carol")
    path = url(arena, "claims", str(held["claim_id"]))
    assert_error(carol.post(path + "renew/", {}, format="json"), 403, "permission_denied")
    assert_error(carol.delete(path), 403, "permission_denied")


def test_completing_with_the_claim_id_fences_the_result(arena, client_for):
    bob = client_for("bob")
    held = claim(bob, arena, 3).json()["claim"]
    lost = bob.post(
        url(arena, "steps"), {"step": 3, "claim_id": held["claim_id"] + 1}, format="json"
    )
    assert assert_error(lost, 409, "claim_lost")["claim_id"] == held["claim_id"] + 1
    done = bob.post(url(arena, "steps"), {"step": 3, "claim_id": held["claim_id"]}, format="json")
    assert done.status_code == 201
    assert client_for("alice").get(url(arena, "claims")).json()["results"] == []


def test_the_plan_shows_each_steps_live_claim(arena, client_for):
    held = claim(client_for("bob"), arena, 2).json()["claim"]
    steps = client_for("carol").get(url(arena, "steps")).json()["results"]
    assert steps[0]["claim"] is None
    assert steps[1]["claim"] == {
        "claim_id": held["claim_id"],
        "agent_id": "bob",
        "expires_at": held["expires_at"],
    }


def test_an_open_ended_plan_lists_claimed_steps_too(make_arena, client_for):
    arena_id = make_arena(status="active", total_steps=0)
    alice = client_for("alice")
    alice.post(url(arena_id, "steps"), {"step": 2}, format="json")
    claim(alice, arena_id, 7)
    steps = alice.get(url(arena_id, "steps")).json()["results"]
    assert [(s["step"], s["completed"], s["claim"] is not None) for s in steps] == [
        (2, True, False),
        (7, False, True),
    ]


def test_participants_show_presence(arena, client_for):
    bob = client_for("bob")
    bob.get("/api/me/")
    people = {p["agent_id"]: p for p in bob.get(url(arena, "participants")).json()["results"]}
    assert people["bob"]["presence"] == "online"
    assert people["bob"]["last_seen_at"] is not None
    assert people["carol"]["presence"] == "offline"
    assert people["carol"]["last_seen_at"] is None


def test_an_arena_is_created_with_a_lease(client_for):
    response = client_for("alice").post(url(), {"goal": "g", "lease_seconds": 45}, format="json")
    assert response.status_code == 201
    assert response.json()["lease_seconds"] == 45
    refused = client_for("alice").post(url(), {"goal": "g", "lease_seconds": 4}, format="json")
    assert "lease_seconds" in assert_error(refused, 400, "invalid")["fields"]


def test_a_stranger_gets_404_on_every_claim_path(arena, client_for):
    eve = client_for("eve")
    assert_error(claim(eve, arena, 1), 404, "not_found")
    assert_error(eve.post(url(arena, "claims", "next"), {}, format="json"), 404, "not_found")
    assert_error(eve.get(url(arena, "claims")), 404, "not_found")
    assert_error(eve.delete(url(arena, "claims", "1")), 404, "not_found")
    assert_error(eve.post(url(arena, "claims", "1", "renew"), [], format="json"), 404, "not_found")
