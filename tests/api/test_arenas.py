"""Arenas over HTTP: create, list, read with ETag, update the goal with If-Match, the
lifecycle, the aggregate, the event log, and an agent's own arenas."""

from __future__ import annotations

import pytest

from arenas.models import Arena, Event
from tests.api.helpers import assert_error, url

pytestmark = pytest.mark.django_db


@pytest.fixture
def alice(client_for):
    return client_for("alice")


def test_creating_an_arena_returns_201_with_the_arena_and_its_etag(alice, make_agent):
    make_agent("bob")
    response = alice.post(
        url(),
        {
            "goal": "Map the coastline",
            "strategy": "pipeline",
            "total_steps": 4,
            "participants": [{"agent_id": "bob", "role": "worker", "can_merge": True}],
        },
        format="json",
    )
    assert response.status_code == 201
    arena = response.json()
    assert arena["goal"] == "Map the coastline"
    assert arena["status"] == "created"
    assert arena["strategy"] == "pipeline"
    assert arena["total_steps"] == 4
    assert arena["created_by"] == "alice"
    assert arena["last_seq"] == 3
    assert [p["agent_id"] for p in arena["participants"]] == ["alice", "bob"]
    assert arena["participants"][1]["permissions"]["can_merge"] is True
    assert arena["aggregate"]["participants"] == ["alice", "bob"]
    assert arena["allowed_transitions"] == ["active"]
    assert arena["you"]["role"] == "coordinator"
    assert response["ETag"] == f'"{arena["id"]}-3"'
    types = list(
        Event.objects.filter(arena_id=arena["id"]).order_by("seq").values_list("type", flat=True)
    )
    assert types == ["arena_created", "agent_joined", "agent_joined"]


def test_creating_an_arena_from_a_plan(alice, make_agent):
    make_agent("bob")
    response = alice.post(
        url(),
        {
            "goal": "Plan",
            "plan": [
                {"title": "Gather"},
                {"title": "Write", "assignee": "bob", "depends_on": [1]},
            ],
            "participants": [{"agent_id": "bob", "role": "worker"}],
        },
        format="json",
    )
    assert response.status_code == 201
    assert response.json()["total_steps"] == 2
    steps = alice.get(url(response.json()["id"], "steps")).json()["results"]
    assert [(s["step"], s["title"], s["assignee"], s["depends_on"]) for s in steps] == [
        (1, "Gather", None, []),
        (2, "Write", "bob", [1]),
    ]


def test_a_plan_whose_steps_wait_for_each_other_is_400(alice):
    response = alice.post(
        url(), {"goal": "x", "plan": [{"depends_on": [2]}, {"depends_on": [1]}]}, format="json"
    )
    assert "plan" in assert_error(response, 400, "invalid")["fields"]


def test_the_list_shows_only_arenas_the_agent_takes_part_in(make_arena, client_for):
    mine = make_arena(creator="alice", participants=[{"agent_id": "bob", "role": "worker"}])
    make_arena(creator="carol")
    listing = client_for("bob").get(url()).json()
    assert [a["id"] for a in listing["results"]] == [str(mine)]
    assert listing["next"] is None
    assert set(listing["results"][0]) == {
        "id",
        "goal",
        "status",
        "strategy",
        "total_steps",
        "completed_steps",
        "created_by",
        "created_at",
        "activated_at",
        "settling_at",
        "archived_at",
        "last_seq",
        "settle_report",
        "lease_seconds",
        "budget",
        "usage",
        "forked_from",
    }


def test_the_list_filters_by_status(make_arena, alice):
    created = make_arena()
    active = make_arena(status="active")
    assert [a["id"] for a in alice.get(url(), {"status": "active"}).json()["results"]] == [
        str(active)
    ]
    assert [a["id"] for a in alice.get(url(), {"status": "created"}).json()["results"]] == [
        str(created)
    ]
    assert_error(alice.get(url(), {"status": "paused"}), 400, "invalid")


def test_an_agent_that_left_no_longer_sees_the_arena(make_arena, client_for):
    arena_id = make_arena(participants=[{"agent_id": "bob", "role": "worker"}])
    bob = client_for("bob")
    assert bob.delete(url(arena_id, "participants", "bob")).status_code == 204
    assert bob.get(url()).json()["results"] == []
    assert_error(bob.get(url(arena_id)), 404, "not_found")


def test_a_non_participant_gets_404_for_an_existing_arena(make_arena, client_for):
    arena_id = make_arena()
    eve = client_for("eve")
    for path in [url(arena_id), url(arena_id, "events"), url(arena_id, "aggregate")]:
        assert_error(eve.get(path), 404, "not_found")
    response = eve.patch(url(arena_id), {"goal": "mine now"}, format="json")
    assert_error(response, 404, "not_found")
    assert Arena.objects.get(pk=arena_id).goal == "Find the answer"


@pytest.mark.parametrize(
    ("method", "parts", "body"),
    [
        ("post", ("steps",), {"step": "one"}),
        ("post", ("steps",), {}),
        ("post", ("messages",), {"text": 5}),
        ("post", ("facts",), {"confidence": 2}),
        ("patch", (), {"goal": ""}),
        ("get", ("events",), {"after": "x"}),
        ("get", ("steps",), {"limit": "0"}),
    ],
)
def test_a_non_participant_gets_404_before_any_input_error(
    make_arena, client_for, method, parts, body
):
    """The view reaches the domain without checking visibility first; input it refuses
    before that must still answer 404 to a caller who cannot see the arena, and 400 to one
    who can."""
    arena_id = make_arena(participants=[{"agent_id": "bob", "role": "worker"}])
    events = Event.objects.filter(arena_id=arena_id).count()
    for agent, status in (("eve", 404), ("bob", 400)):
        client = client_for(agent)
        if method == "get":
            response = client.get(url(arena_id, *parts), body)
        else:
            response = getattr(client, method)(url(arena_id, *parts), body, format="json")
        assert response.status_code == status, (agent, response.json())
    assert Event.objects.filter(arena_id=arena_id).count() == events


def test_the_etag_changes_with_every_event(make_arena, alice):
    arena_id = make_arena()
    first = alice.get(url(arena_id))["ETag"]
    assert alice.get(url(arena_id))["ETag"] == first
    alice.post(url(arena_id, "messages"), {"text": "hi"}, format="json")
    second = alice.get(url(arena_id))["ETag"]
    assert second != first
    assert second == f'"{arena_id}-{Arena.objects.get(pk=arena_id).last_seq}"'


def test_patch_updates_the_goal_and_returns_the_arena(make_arena, alice):
    arena_id = make_arena()
    response = alice.patch(url(arena_id), {"goal": "A better goal"}, format="json")
    assert response.status_code == 200
    assert response.json()["goal"] == "A better goal"
    assert response["ETag"] == f'"{arena_id}-{response.json()["last_seq"]}"'
    event = Event.objects.filter(arena_id=arena_id).order_by("-seq").first()
    assert (event.type, event.data) == ("goal_updated", {"new_goal": "A better goal"})


@pytest.mark.parametrize("if_match", ["current", "*", "list", "current-weak-too"])
def test_patch_with_a_matching_if_match_applies(make_arena, alice, if_match):
    arena_id = make_arena()
    tag = alice.get(url(arena_id))["ETag"]
    header = {
        "current": tag,
        "*": "*",
        "list": f'"{arena_id}-999", {tag}',
        "current-weak-too": f"W/{tag}, {tag}",
    }[if_match]
    response = alice.patch(url(arena_id), {"goal": "new"}, format="json", HTTP_IF_MATCH=header)
    assert response.status_code == 200
    assert response.json()["goal"] == "new"


@pytest.mark.parametrize(
    "if_match", ["stale", "weak", "other-arena", "garbage", '""', "superscript", "huge"]
)
def test_patch_with_a_stale_if_match_is_412_and_changes_nothing(make_arena, alice, if_match):
    arena_id = make_arena()
    other_id = make_arena()
    tag = alice.get(url(arena_id))["ETag"]
    alice.post(url(arena_id, "messages"), {"text": "moves the version on"}, format="json")
    header = {
        "stale": tag,
        "weak": "W/" + alice.get(url(arena_id))["ETag"],
        "other-arena": alice.get(url(other_id))["ETag"],
        "garbage": "not an etag",
        '""': '""',
        "superscript": f'"{arena_id}-\u00b2"',
        "huge": f'"{arena_id}-{10**30}"',
    }[if_match]
    last_seq = Arena.objects.get(pk=arena_id).last_seq
    response = alice.patch(url(arena_id), {"goal": "new"}, format="json", HTTP_IF_MATCH=header)
    assert_error(response, 412, "precondition_failed")
    arena = Arena.objects.get(pk=arena_id)
    assert (arena.goal, arena.last_seq) == ("Find the answer", last_seq)


def test_patch_is_for_coordinators_while_the_goal_may_change(make_arena, client_for):
    arena_id = make_arena(participants=[{"agent_id": "bob", "role": "worker"}])
    alice, bob = client_for("alice"), client_for("bob")
    assert_error(bob.patch(url(arena_id), {"goal": "x"}, format="json"), 403, "permission_denied")
    alice.post(url(arena_id, "activate"))
    alice.post(url(arena_id, "settle"))
    response = alice.patch(url(arena_id), {"goal": "x"}, format="json")
    assert_error(response, 409, "arena_not_active")
    alice.post(url(arena_id, "archive"))
    response = alice.patch(url(arena_id), {"goal": "x"}, format="json")
    assert_error(response, 409, "arena_archived")


@pytest.mark.parametrize("body", [{}, {"goal": "x", "status": "active"}, {"goal": None}])
def test_patch_takes_exactly_a_goal(make_arena, alice, body):
    arena_id = make_arena()
    assert_error(alice.patch(url(arena_id), body, format="json"), 400, "invalid")


def test_the_lifecycle_runs_through_the_three_transitions(make_arena, alice):
    arena_id = make_arena()
    alice.post(url(arena_id, "messages"), {"text": "keep"}, format="json")
    for action, status in [("activate", "active"), ("settle", "settling")]:
        response = alice.post(url(arena_id, action))
        assert response.status_code == 200
        assert response.json()["status"] == status
        assert response["ETag"] == f'"{arena_id}-{response.json()["last_seq"]}"'
    response = alice.post(url(arena_id, "archive"))
    arena = response.json()
    assert arena["status"] == "archived"
    assert arena["allowed_transitions"] == []
    assert arena["settle_report"] == {
        "facts_persisted": 0,
        "artifacts_archived": 0,
        "events_cleared": 0,
    }
    assert arena["archived_at"] is not None


@pytest.mark.parametrize(
    ("status", "action", "allowed"),
    [
        ("created", "settle", ["active"]),
        ("created", "archive", ["active"]),
        ("active", "activate", ["settling"]),
        ("active", "archive", ["settling"]),
        ("settling", "activate", ["archived"]),
        ("settling", "settle", ["archived"]),
        ("archived", "activate", []),
        ("archived", "settle", []),
        ("archived", "archive", []),
    ],
)
def test_any_other_transition_is_409_invalid_transition(make_arena, alice, status, action, allowed):
    arena_id = make_arena(status=status)
    last_seq = Arena.objects.get(pk=arena_id).last_seq
    body = assert_error(alice.post(url(arena_id, action)), 409, "invalid_transition")
    requested = {"activate": "active", "settle": "settling", "archive": "archived"}[action]
    assert (body["current"], body["requested"], body["allowed"]) == (status, requested, allowed)
    assert Arena.objects.get(pk=arena_id).last_seq == last_seq


def test_lifecycle_actions_take_no_body(make_arena, alice):
    arena_id = make_arena()
    response = alice.post(url(arena_id, "activate"), {"to": "archived"}, format="json")
    assert "to" in assert_error(response, 400, "invalid")["fields"]
    assert alice.post(url(arena_id, "activate"), {}, format="json").status_code == 200


def test_the_aggregate(make_arena, client_for):
    arena_id = make_arena(
        status="active", total_steps=4, participants=[{"agent_id": "bob", "role": "worker"}]
    )
    client_for("bob").post(url(arena_id, "steps"), {"step": 2}, format="json")
    aggregate = client_for("alice").get(url(arena_id, "aggregate")).json()
    assert aggregate == {
        "completed_steps": 1,
        "total_steps": 4,
        "participants": ["alice", "bob"],
        "progress": 0.25,
        "status": "active",
        "last_seq": Arena.objects.get(pk=arena_id).last_seq,
        "usage": {
            "input_tokens": 0,
            "output_tokens": 0,
            "cached_input_tokens": 0,
            "calls": 0,
            "cost_usd": "0.000000",
            "unpriced_calls": 0,
        },
    }


def test_events_page_by_after_in_seq_order(make_arena, alice):
    arena_id = make_arena()
    for n in range(6):
        alice.post(url(arena_id, "messages"), {"text": f"m{n}"}, format="json")
    seen, after = [], 0
    while True:
        page = alice.get(url(arena_id, "events"), {"after": after, "limit": 3}).json()
        assert page["last_seq"] == 8
        seen += [e["seq"] for e in page["events"]]
        if page["next_after"] is None:
            break
        after = page["next_after"]
    assert seen == list(range(1, 9))
    tail = alice.get(url(arena_id, "events"), {"after": 8}).json()
    assert tail == {"events": [], "last_seq": 8, "next_after": None}
    first = alice.get(url(arena_id, "events"), {"limit": 1}).json()["events"][0]
    assert first["type"] == "arena_created" and first["actor"] == "alice"


@pytest.mark.parametrize(
    "params",
    [{"after": -1}, {"after": "x"}, {"limit": 0}, {"limit": 501}, {"limit": "ten"}, {"after": ""}],
)
def test_events_with_a_bad_after_or_limit_are_400(make_arena, alice, params):
    arena_id = make_arena()
    body = assert_error(alice.get(url(arena_id, "events"), params), 400, "invalid")
    assert set(body["fields"]) <= {"after", "limit"}


def test_me_lists_the_agents_active_arenas_ascending(make_arena, alice):
    ids = [make_arena(), make_arena(status="active"), make_arena(status="settling")]
    make_arena(status="archived")
    me = alice.get("/api/me/").json()
    assert me["active_arenas"] == sorted(str(i) for i in ids)


def test_an_agents_active_arenas_for_itself_and_staff_only(make_arena, client_for, staff_client):
    ids = [make_arena(), make_arena()]
    expected = {"arena_ids": sorted(str(i) for i in ids)}
    assert client_for("alice").get("/api/agents/alice/active-arenas/").json() == expected
    assert staff_client.get("/api/agents/alice/active-arenas/").json() == expected
    response = client_for("bob").get("/api/agents/alice/active-arenas/")
    assert_error(response, 403, "permission_denied")
    assert_error(staff_client.get("/api/agents/nobody/active-arenas/"), 404, "not_found")
