"""GET /api/arenas/{id}/state/?at= and POST /api/arenas/{id}/fork/ (every response is checked
against the OpenAPI document by the suite's autouse fixture)."""

from __future__ import annotations

import pytest

from arenas.models import Arena, Event

pytestmark = pytest.mark.django_db


def test_the_state_at_a_seq_and_now(team):
    arena_id, c = team
    assert (
        c["bob"].post(f"/api/arenas/{arena_id}/steps/", {"step": 1}, format="json").status_code
        == 201
    )
    middle = Arena.objects.get(pk=arena_id).last_seq
    c["iso"].post(
        f"/api/arenas/{arena_id}/artifacts/",
        {"kind": "text", "title": "iso's", "content": "x"},
        format="json",
    )
    c["bob"].post(
        f"/api/arenas/{arena_id}/artifacts/",
        {"kind": "text", "title": "bob's", "content": "y"},
        format="json",
    )
    then = c["alice"].get(f"/api/arenas/{arena_id}/state/?at={middle}").json()
    assert then["at"] == middle and then["arena"]["completed_steps"] == 1
    assert then["artifacts"] == []
    now = c["alice"].get(f"/api/arenas/{arena_id}/state/").json()
    assert now["at"] == Arena.objects.get(pk=arena_id).last_seq
    assert [a["title"] for a in now["artifacts"]] == ["iso's", "bob's"]
    assert [
        a["title"] for a in c["iso"].get(f"/api/arenas/{arena_id}/state/").json()["artifacts"]
    ] == ["iso's"]
    assert "content" not in now["artifacts"][0]


@pytest.mark.parametrize("at", ["0", "99999", "x", "-1", "1.5"])
def test_at_outside_the_log_is_a_400(team, at):
    arena_id, c = team
    response = c["alice"].get(f"/api/arenas/{arena_id}/state/?at={at}")
    assert response.status_code == 400
    assert response.json()["error"] == "invalid"


def test_the_state_is_for_participants_only(team):
    arena_id, c = team
    assert c["eve"].get(f"/api/arenas/{arena_id}/state/?at=1").status_code == 404


def test_a_coordinator_forks_and_the_arena_lists_its_fork(team):
    arena_id, c = team
    c["bob"].post(f"/api/arenas/{arena_id}/steps/", {"step": 7}, format="json")
    at = Arena.objects.get(pk=arena_id).last_seq
    response = c["alice"].post(
        f"/api/arenas/{arena_id}/fork/", {"at": at, "goal": "Again"}, format="json"
    )
    assert response.status_code == 201, response.content
    fork = response.json()
    assert (fork["status"], fork["goal"], fork["completed_steps"]) == ("created", "Again", 1)
    assert fork["forked_from"] == {"arena_id": str(arena_id), "seq": at}
    assert sorted(p["agent_id"] for p in fork["participants"]) == ["alice", "bob", "iso", "olive"]
    source = c["alice"].get(f"/api/arenas/{arena_id}/").json()
    assert source["forks"] == [{"arena_id": fork["id"], "at": at}]
    forked = Event.objects.get(arena_id=arena_id, type="arena_forked")
    assert forked.data == {"fork_id": fork["id"], "at": at}
    events = c["alice"].get(f"/api/arenas/{fork['id']}/events/").json()["events"]
    assert events[0]["forked_from"] == {"arena_id": str(arena_id), "seq": at}


def test_fork_refusals_change_nothing(team, staff_client):
    arena_id, c = team
    last = Arena.objects.get(pk=arena_id).last_seq
    url = f"/api/arenas/{arena_id}/fork/"
    assert c["bob"].post(url, {"at": 1}, format="json").status_code == 403
    assert c["eve"].post(url, {"at": 1}, format="json").status_code == 404
    for body in (
        {},
        {"at": 0},
        {"at": last + 1},
        {"at": "1"},
        {"at": 1, "goal": ""},
        {"at": 1, "x": 1},
    ):
        assert c["alice"].post(url, body, format="json").status_code == 400, body
    assert Arena.objects.count() == 1
    assert Arena.objects.get(pk=arena_id).last_seq == last
    assert staff_client.post(url, {"at": last}, format="json").status_code == 201
