"""Requests for people over HTTP: paths, status codes, bodies and error codes;
every response is also checked against the OpenAPI document (tests/api/conftest.py)."""

from __future__ import annotations

import pytest

from arenas.models import Event
from tests.api.helpers import assert_error, url

pytestmark = pytest.mark.django_db


@pytest.fixture
def arena(make_arena):
    return make_arena(
        status="active",
        plan=[{"title": "Draft"}, {"title": "Check", "review": True}],
        participants=[{"agent_id": "bob", "role": "worker"}],
    )


def ask(client, arena_id, **body):
    return client.post(url(arena_id, "requests"), body, format="json")


def answer(client, arena_id, request_id, **body):
    return client.post(url(arena_id, "requests", request_id, "answer"), body, format="json")


def test_asking_answers_201_with_the_request(arena, client_for):
    response = ask(client_for("bob"), arena, text="Which title?", choices=["A", "B"], step=1)
    assert response.status_code == 201
    body = response.json()
    assert {k: body[k] for k in ("kind", "agent_id", "text", "choices", "step", "status")} == {
        "kind": "question",
        "agent_id": "bob",
        "text": "Which title?",
        "choices": ["A", "B"],
        "step": 1,
        "status": "open",
    }
    assert body["answer"] is None
    assert Event.objects.filter(type="input_requested").count() == 1


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "text"),
        ({"text": ""}, "text"),
        ({"text": "q", "choices": []}, "choices"),
        ({"text": "q", "choices": ["a", "a"]}, "choices"),
        ({"text": "q", "step": 9}, "step"),
        ({"text": "q", "colour": "red"}, "colour"),
    ],
)
def test_a_malformed_request_is_400(arena, client_for, body, field):
    response = ask(client_for("bob"), arena, **body)
    assert field in assert_error(response, 400, "invalid")["fields"]


def test_a_staff_user_answers_with_the_session(arena, client_for, staff_client):
    asked = ask(client_for("bob"), arena, text="Which title?", choices=["A", "B"]).json()
    response = answer(staff_client, arena, asked["id"], choice="B", text="Shorter.")
    assert response.status_code == 200
    assert response.json()["status"] == "answered"
    assert {k: response.json()["answer"][k] for k in ("choice", "text", "by")} == {
        "choice": "B",
        "text": "Shorter.",
        "by": "staff:root",
    }
    again = answer(staff_client, arena, asked["id"], choice="A")
    assert_error(again, 409, "request_closed")


def test_a_worker_cannot_answer_and_the_asker_cancels(arena, client_for):
    bob = client_for("bob")
    asked = ask(bob, arena, text="What next?").json()
    assert_error(answer(bob, arena, asked["id"], text="me"), 403, "permission_denied")
    alice = client_for("alice")
    assert_error(alice.delete(url(arena, "requests", asked["id"])), 403, "permission_denied")
    assert bob.delete(url(arena, "requests", asked["id"])).status_code == 204
    assert_error(bob.delete(url(arena, "requests", asked["id"])), 409, "request_closed")


@pytest.mark.parametrize("request_id", ["nope", "00000000-0000-4000-8000-000000000000"])
def test_an_unknown_request_is_404(arena, client_for, request_id):
    assert_error(answer(client_for("alice"), arena, request_id, text="x"), 404, "not_found")
    assert_error(client_for("bob").delete(url(arena, "requests", request_id)), 404, "not_found")


def test_completing_a_review_step_answers_202_and_approval_completes_it(arena, client_for):
    bob, alice = client_for("bob"), client_for("alice")
    assert bob.post(url(arena, "steps"), {"step": 1}, format="json").status_code == 201
    submitted = bob.post(url(arena, "steps"), {"step": 2}, format="json")
    assert submitted.status_code == 202
    review = submitted.json()["request"]
    assert submitted.json()["event"]["type"] == "input_requested"
    assert (review["kind"], review["choices"], review["step"]) == (
        "review",
        ["approve", "reject"],
        2,
    )
    again = bob.post(url(arena, "steps"), {"step": 2}, format="json")
    assert_error(again, 409, "review_pending")
    claim = bob.post(url(arena, "steps", "2", "claim"), {}, format="json")
    assert_error(claim, 409, "review_pending")
    assert bob.get(url(arena, "steps")).json()["results"][1]["review"] == "pending"
    assert answer(alice, arena, review["id"], choice="approve").status_code == 200
    step = bob.get(url(arena, "steps")).json()["results"][1]
    assert (step["completed"], step["completed_by"], step["review"]) == (True, "bob", "approved")


def test_listing_requests(arena, make_arena, client_for, staff_client):
    bob = client_for("bob")
    first = ask(bob, arena, text="One?").json()
    second = ask(bob, arena, text="Two?").json()
    other = make_arena(creator="carol", status="active")
    ask(client_for("carol"), other, text="Elsewhere?")
    answer(staff_client, arena, first["id"], text="Yes.")
    listed = bob.get(url(arena, "requests")).json()
    assert [r["id"] for r in listed["results"]] == [second["id"], first["id"]]
    assert [
        r["id"] for r in bob.get(url(arena, "requests"), {"status": "open"}).json()["results"]
    ] == [second["id"]]
    mine = bob.get("/api/requests/", {"status": "open"}).json()["results"]
    assert [r["id"] for r in mine] == [second["id"]]
    everything = staff_client.get("/api/requests/").json()["results"]
    assert len(everything) == 3
    assert_error(bob.get("/api/requests/", {"status": "shut"}), 400, "invalid")


def test_a_stranger_gets_404_on_every_request_path(arena, client_for):
    eve = client_for("eve")
    asked = ask(client_for("bob"), arena, text="Hi?").json()
    assert_error(ask(eve, arena, text="x"), 404, "not_found")
    assert_error(eve.get(url(arena, "requests")), 404, "not_found")
    assert_error(answer(eve, arena, asked["id"], text="x"), 404, "not_found")
    assert_error(eve.delete(url(arena, "requests", asked["id"])), 404, "not_found")
    assert eve.get("/api/requests/").json()["results"] == []
