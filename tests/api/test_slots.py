"""A participant's work over HTTP: steps, progress, artifacts, merges, facts, messages,
and long-term memory after archiving."""

from __future__ import annotations

import json
import uuid

import pytest

from arenas.inputs import U32_MAX
from arenas.models import Event, Fact
from tests.api.helpers import assert_error, url

pytestmark = pytest.mark.django_db


def publish(client, arena_id, title="Notes", content="text", kind="text", **extra):
    return client.post(
        url(arena_id, "artifacts"),
        {"kind": kind, "title": title, "content": content, **extra},
        format="json",
    )


# --- steps -------------------------------------------------------------------------------


def test_completing_a_step_returns_201_with_the_event_and_the_aggregate(make_arena, client_for):
    arena_id = make_arena(
        status="active", total_steps=3, participants=[{"agent_id": "bob", "role": "worker"}]
    )
    response = client_for("bob").post(url(arena_id, "steps"), {"step": 2}, format="json")
    assert response.status_code == 201
    event, aggregate = response.json()["event"], response.json()["aggregate"]
    assert event["type"] == "step_completed"
    assert (event["step"], event["agent_id"], event["actor"]) == (2, "bob", "bob")
    assert (event["completed_steps"], event["total_steps"]) == (1, 3)
    assert aggregate["completed_steps"] == 1
    assert aggregate["last_seq"] == event["seq"]


def test_a_step_completes_once(make_arena, client_for):
    arena_id = make_arena(status="active", total_steps=3)
    alice = client_for("alice")
    assert alice.post(url(arena_id, "steps"), {"step": 1}, format="json").status_code == 201
    response = alice.post(url(arena_id, "steps"), {"step": 1}, format="json")
    assert_error(response, 409, "step_already_completed")
    assert Event.objects.filter(arena_id=arena_id, type="step_completed").count() == 1


@pytest.mark.parametrize("step", [0, 4, U32_MAX])
def test_a_step_outside_the_plan_is_400(make_arena, client_for, step):
    arena_id = make_arena(status="active", total_steps=3)
    response = client_for("alice").post(url(arena_id, "steps"), {"step": step}, format="json")
    assert "step" in assert_error(response, 400, "invalid")["fields"]


def test_an_open_ended_plan_takes_any_step_up_to_u32_max(make_arena, client_for):
    arena_id = make_arena(status="active", total_steps=0)
    response = client_for("alice").post(url(arena_id, "steps"), {"step": U32_MAX}, format="json")
    assert response.status_code == 201
    steps = client_for("alice").get(url(arena_id, "steps")).json()
    assert [s["step"] for s in steps["results"]] == [U32_MAX]


def test_a_step_assigned_to_another_agent_is_403_but_the_coordinator_may(make_arena, client_for):
    arena_id = make_arena(
        status="active",
        plan=[{"title": "a", "assignee": "bob"}, {"title": "b", "assignee": "bob"}],
        participants=[{"agent_id": "bob", "role": "worker"}, {"agent_id": "cy", "role": "worker"}],
    )
    response = client_for("cy").post(url(arena_id, "steps"), {"step": 1}, format="json")
    assert_error(response, 403, "permission_denied")
    assert (
        client_for("bob").post(url(arena_id, "steps"), {"step": 1}, format="json").status_code
        == 201
    )
    response = client_for("alice").post(url(arena_id, "steps"), {"step": 2}, format="json")
    assert response.status_code == 201


def test_a_step_waits_for_the_steps_it_depends_on(make_arena, client_for):
    arena_id = make_arena(status="active", strategy="pipeline", total_steps=3)
    alice = client_for("alice")
    body = assert_error(
        alice.post(url(arena_id, "steps"), {"step": 3}, format="json"), 409, "step_blocked"
    )
    assert body["waiting_for"] == [2]
    for step in (1, 2, 3):
        assert alice.post(url(arena_id, "steps"), {"step": step}, format="json").status_code == 201


@pytest.mark.parametrize(
    ("status", "code"),
    [
        ("created", "arena_not_active"),
        ("settling", "arena_not_active"),
        ("archived", "arena_archived"),
    ],
)
def test_steps_are_completed_only_while_active(make_arena, client_for, status, code):
    arena_id = make_arena(status=status, total_steps=3)
    response = client_for("alice").post(url(arena_id, "steps"), {"step": 1}, format="json")
    assert_error(response, 409, code)


def test_the_plan_lists_each_steps_completion(make_arena, client_for):
    arena_id = make_arena(status="active", total_steps=3)
    alice = client_for("alice")
    alice.post(url(arena_id, "steps"), {"step": 2}, format="json")
    steps = alice.get(url(arena_id, "steps")).json()
    assert steps["next"] is None
    assert [(s["step"], s["completed"], s["completed_by"]) for s in steps["results"]] == [
        (1, False, None),
        (2, True, "alice"),
        (3, False, None),
    ]
    assert steps["results"][1]["completed_at"].endswith("Z")


# --- progress ------------------------------------------------------------------------------


def test_progress_returns_the_participant(make_arena, client_for):
    arena_id = make_arena(status="active", participants=[{"agent_id": "bob", "role": "worker"}])
    bob = client_for("bob")
    response = bob.post(
        url(arena_id, "progress"),
        {"current": "Reading 3 papers", "slot_status": "working"},
        format="json",
    )
    assert response.status_code == 200
    body = response.json()
    assert (body["agent_id"], body["current"], body["slot_status"]) == (
        "bob",
        "Reading 3 papers",
        "working",
    )
    response = bob.post(url(arena_id, "progress"), {"slot_status": "done"}, format="json")
    assert (response.json()["current"], response.json()["slot_status"]) == (
        "Reading 3 papers",
        "done",
    )


@pytest.mark.parametrize(
    "body", [{}, {"slot_status": "sleeping"}, {"current": 3}, {"current": "x" * 501}]
)
def test_invalid_progress_is_400(make_arena, client_for, body):
    arena_id = make_arena(status="active")
    response = client_for("alice").post(url(arena_id, "progress"), body, format="json")
    assert_error(response, 400, "invalid")


# --- artifacts -----------------------------------------------------------------------------


def test_publishing_an_artifact_returns_it_and_sets_the_slot_working(make_arena, client_for):
    arena_id = make_arena(status="active")
    alice = client_for("alice")
    response = publish(alice, arena_id, metadata={"lang": "en"})
    assert response.status_code == 201
    artifact = response.json()
    assert (artifact["agent_id"], artifact["kind"], artifact["title"]) == ("alice", "text", "Notes")
    assert (artifact["content"], artifact["metadata"]) == ("text", {"lang": "en"})
    me = alice.get(url(arena_id, "participants")).json()["results"][0]
    assert me["slot_status"] == "working"
    again = alice.get(url(arena_id, "artifacts", artifact["id"])).json()
    assert again == artifact


def test_structured_data_takes_any_json_and_other_kinds_take_text(make_arena, client_for):
    arena_id = make_arena(status="active")
    alice = client_for("alice")
    data = {"rows": [1, 2.5, None, True, "é"], "nested": {"deep": []}}
    response = publish(alice, arena_id, kind="structured_data", content=data)
    assert response.status_code == 201 and response.json()["content"] == data
    response = publish(alice, arena_id, kind="code", content={"not": "text"})
    assert "content" in assert_error(response, 400, "invalid")["fields"]


def test_the_artifact_list_omits_content(make_arena, client_for):
    arena_id = make_arena(status="active")
    alice = client_for("alice")
    ids = [publish(alice, arena_id, title=f"t{n}").json()["id"] for n in range(3)]
    listing = alice.get(url(arena_id, "artifacts")).json()
    assert [a["id"] for a in listing["results"]] == ids
    assert all("content" not in a for a in listing["results"])


def test_other_slots_need_can_read_other_slots(team):
    arena_id, clients = team
    mine = publish(clients["iso"], arena_id, title="iso's").json()
    theirs = publish(clients["bob"], arena_id, title="bob's").json()
    iso = clients["iso"]
    listing = iso.get(url(arena_id, "artifacts")).json()["results"]
    assert [a["id"] for a in listing] == [mine["id"]]
    assert_error(iso.get(url(arena_id, "artifacts", theirs["id"])), 403, "permission_denied")
    assert_error(iso.get(url(arena_id, "artifacts"), {"agent": "bob"}), 403, "permission_denied")
    assert iso.get(url(arena_id, "artifacts"), {"agent": "iso"}).status_code == 200
    olive = clients["olive"]
    assert olive.get(url(arena_id, "artifacts", theirs["id"])).json()["content"] == "text"
    bob_only = olive.get(url(arena_id, "artifacts"), {"agent": "bob"}).json()["results"]
    assert [a["id"] for a in bob_only] == [theirs["id"]]


# The random UUID has a fixed test id: pytest-xdist needs every worker to collect the same ids.
@pytest.mark.parametrize("artifact_id", [pytest.param(str(uuid.uuid4()), id="random-uuid"), "nope"])
def test_an_unknown_artifact_is_404(make_arena, client_for, artifact_id):
    arena_id = make_arena(status="active")
    response = client_for("alice").get(url(arena_id, "artifacts", artifact_id))
    assert_error(response, 404, "not_found")


def test_an_artifact_of_another_arena_is_404(make_arena, client_for):
    first, second = make_arena(status="active"), make_arena(status="active")
    alice = client_for("alice")
    artifact = publish(alice, first).json()
    assert_error(alice.get(url(second, "artifacts", artifact["id"])), 404, "not_found")


def test_a_coordinator_merges_slots_into_one_artifact(team):
    arena_id, clients = team
    one = publish(clients["bob"], arena_id, title="b1").json()
    two = publish(clients["iso"], arena_id, title="i1").json()
    response = clients["alice"].post(
        url(arena_id, "merge"), {"sources": ["iso", "bob"], "title": "Both"}, format="json"
    )
    assert response.status_code == 201
    merged = response.json()
    assert (merged["agent_id"], merged["kind"], merged["title"]) == (
        "alice",
        "structured_data",
        "Both",
    )
    assert merged["metadata"]["sources"] == [one["id"], two["id"]]
    response = clients["bob"].post(
        url(arena_id, "merge"), {"sources": ["iso"], "title": "Mine"}, format="json"
    )
    assert_error(response, 403, "permission_denied")


def test_a_merger_that_cannot_read_other_slots_merges_only_its_own(make_arena, client_for):
    """Partition isolation: merging reads the named slots, so a merger without
    `can_read_other_slots` cannot reach another slot's content through a merge."""
    arena_id = make_arena(
        status="active",
        total_steps=0,
        participants=[
            {"agent_id": "bob", "role": "worker"},
            {"agent_id": "mia", "role": "worker", "can_merge": True, "can_read_other_slots": False},
        ],
    )
    bob, mia = client_for("bob"), client_for("mia")
    secret = publish(bob, arena_id, title="secret", content="bob's secret").json()
    own = publish(mia, arena_id, title="mine", content="mia's work").json()
    assert_error(mia.get(url(arena_id, "artifacts", secret["id"])), 403, "permission_denied")

    for sources in (["bob"], ["mia", "bob"]):
        response = mia.post(
            url(arena_id, "merge"), {"sources": sources, "title": "All"}, format="json"
        )
        assert_error(response, 403, "permission_denied")
    assert not Event.objects.filter(arena_id=arena_id, type="artifacts_merged").exists()

    response = mia.post(
        url(arena_id, "merge"), {"sources": ["mia"], "title": "Mine"}, format="json"
    )
    assert response.status_code == 201
    assert response.json()["metadata"]["sources"] == [own["id"]]


def test_a_merge_whose_result_exceeds_the_content_limit_is_refused(make_arena, client_for):
    arena_id = make_arena(status="active", total_steps=0)
    alice = client_for("alice")
    assert publish(alice, arena_id, content="x" * 400_000).status_code == 201
    sizes = []
    for _ in range(4):
        response = alice.post(
            url(arena_id, "merge"), {"sources": ["alice"], "title": "Again"}, format="json"
        )
        if response.status_code != 201:
            assert "sources" in assert_error(response, 400, "invalid")["fields"]
            break
        sizes.append(len(json.dumps(response.json()["content"]).encode()))
    else:
        pytest.fail(f"every merge was accepted: {sizes}")
    assert all(size <= 1024 * 1024 for size in sizes)


@pytest.mark.parametrize(
    "content",
    [
        "x" * (1024 * 1024),
        '"\n' * (1024 * 1024 // 3),
        "é" * (1024 * 1024 // 2),
        "\x01" * (1024 * 1024),
    ],
    ids=["ascii", "quotes-and-newlines", "two-byte-letters", "control-characters"],
)
def test_a_text_artifact_of_one_mebibyte_of_utf8_is_accepted(make_arena, client_for, content):
    assert len(content.encode("utf-8")) <= 1024 * 1024
    arena_id = make_arena(status="active", total_steps=0)
    alice = client_for("alice")
    response = publish(alice, arena_id, content=content)
    assert response.status_code == 201, response.content[:300]
    stored = alice.get(url(arena_id, "artifacts", response.json()["id"])).json()
    assert stored["content"] == content


def test_a_text_artifact_over_one_mebibyte_of_utf8_is_400(make_arena, client_for):
    arena_id = make_arena(status="active", total_steps=0)
    response = publish(client_for("alice"), arena_id, content="é" * (512 * 1024 + 1))
    assert "content" in assert_error(response, 400, "invalid")["fields"]


@pytest.mark.parametrize(
    "body",
    [
        {"sources": [], "title": "x"},
        {"sources": ["eve"], "title": "x"},
        {"sources": ["bob"], "title": ""},
        {"sources": "bob", "title": "x"},
    ],
)
def test_an_invalid_merge_is_400(team, body):
    arena_id, clients = team
    publish(clients["bob"], arena_id)
    response = clients["alice"].post(url(arena_id, "merge"), body, format="json")
    assert_error(response, 400, "invalid")


# --- facts and memory ------------------------------------------------------------------------


def share(client, arena_id, content, **extra):
    return client.post(url(arena_id, "facts"), {"content": content, **extra}, format="json")


def test_sharing_a_fact_returns_it(make_arena, client_for):
    arena_id = make_arena(status="active")
    response = share(
        client_for("alice"), arena_id, "Water boils at 100 °C", confidence=0.9, tags=["physics"]
    )
    assert response.status_code == 201
    fact = response.json()
    assert (fact["content"], fact["confidence"], fact["tags"]) == (
        "Water boils at 100 °C",
        0.9,
        ["physics"],
    )
    assert (fact["source_agent"], fact["settled_at"]) == ("alice", None)


def test_facts_filter_by_tag_and_text(make_arena, client_for):
    arena_id = make_arena(status="active")
    alice = client_for("alice")
    share(alice, arena_id, "Cats sleep a lot", tags=["cats"])
    share(alice, arena_id, "Dogs bark", tags=["dogs"])
    share(alice, arena_id, "Cats and dogs", tags=["cats", "dogs"])

    def contents(**params):
        return [f["content"] for f in alice.get(url(arena_id, "facts"), params).json()["results"]]

    assert contents() == ["Cats sleep a lot", "Dogs bark", "Cats and dogs"]
    assert contents(tag="dogs") == ["Dogs bark", "Cats and dogs"]
    assert contents(q="CATS") == ["Cats sleep a lot", "Cats and dogs"]
    assert contents(tag="dogs", q="cat") == ["Cats and dogs"]
    assert contents(tag="birds") == []


def test_fact_search_ignores_case_for_every_letter(make_arena, client_for, staff_client):
    """`q` is a case-insensitive substring for any letter, on every database: full Unicode
    case folding (ß matches SS, Σ matches ς), not ASCII-only LIKE."""
    arena_id = make_arena(status="active")
    alice = client_for("alice")
    for content in ("Émilie wrote it", "ÇA VA", "Die Straße", "ΟΔΥΣΣΕΥΣ", "plain"):
        share(alice, arena_id, content)

    def contents(path, client=alice, **params):
        return [f["content"] for f in client.get(path, params).json()["results"]]

    facts = url(arena_id, "facts")
    assert contents(facts, q="émilie") == ["Émilie wrote it"]
    assert contents(facts, q="ÉMILIE") == ["Émilie wrote it"]
    assert contents(facts, q="ça va") == ["ÇA VA"]
    assert contents(facts, q="STRASSE") == ["Die Straße"]
    assert contents(facts, q="οδυσσευς") == ["ΟΔΥΣΣΕΥΣ"]
    alice.post(url(arena_id, "settle"))
    alice.post(url(arena_id, "archive"))
    assert contents("/api/facts/", q="ÉMILIE") == ["Émilie wrote it"]
    assert contents("/api/facts/", client=staff_client, q="straße") == ["Die Straße"]


@pytest.mark.parametrize(
    "extra",
    [
        {"confidence": 1.5},
        {"confidence": -0.1},
        {"confidence": "high"},
        {"tags": ["t"] * 17},
        {"tags": [""]},
        {"tags": "t"},
    ],
)
def test_an_invalid_fact_is_400(make_arena, client_for, extra):
    arena_id = make_arena(status="active")
    response = share(client_for("alice"), arena_id, "A fact", **extra)
    assert_error(response, 400, "invalid")
    assert not Fact.objects.exists()


def test_archived_facts_become_memory_for_those_who_took_part(make_arena, client_for, staff_client):
    arena_id = make_arena(status="active", participants=[{"agent_id": "bob", "role": "worker"}])
    alice, bob = client_for("alice"), client_for("bob")
    share(bob, arena_id, "Settled knowledge", tags=["kb"])
    assert bob.get("/api/facts/").json()["results"] == []
    assert bob.delete(url(arena_id, "participants", "bob")).status_code == 204
    alice.post(url(arena_id, "settle"))
    report = alice.post(url(arena_id, "archive")).json()["settle_report"]
    assert report["facts_persisted"] == 1
    for client in (alice, bob, staff_client):
        results = client.get("/api/facts/", {"tag": "kb", "q": "settled"}).json()["results"]
        assert [f["content"] for f in results] == ["Settled knowledge"]
        assert results[0]["settled_at"] is not None
    assert client_for("eve").get("/api/facts/").json()["results"] == []
    assert alice.get("/api/facts/", {"tag": "other"}).json()["results"] == []


# --- messages ------------------------------------------------------------------------------


def test_a_message_returns_its_event(make_arena, client_for):
    arena_id = make_arena(participants=[{"agent_id": "bob", "role": "worker"}])
    response = client_for("alice").post(
        url(arena_id, "messages"), {"text": "Bob, start with step 1", "to": "bob"}, format="json"
    )
    assert response.status_code == 201
    event = response.json()
    assert event["type"] == "message_posted"
    assert (event["agent_id"], event["to"], event["text"]) == (
        "alice",
        "bob",
        "Bob, start with step 1",
    )
    broadcast = client_for("bob").post(url(arena_id, "messages"), {"text": "ok"}, format="json")
    assert broadcast.json()["to"] is None


@pytest.mark.parametrize(
    "body", [{"text": ""}, {"text": "x" * 4001}, {"text": "hi", "to": "eve"}, {"to": "bob"}]
)
def test_an_invalid_message_is_400(make_arena, client_for, make_agent, body):
    make_agent("eve")
    arena_id = make_arena(participants=[{"agent_id": "bob", "role": "worker"}])
    response = client_for("alice").post(url(arena_id, "messages"), body, format="json")
    assert_error(response, 400, "invalid")


def test_messages_are_posted_until_the_arena_is_archived(make_arena, client_for):
    arena_id = make_arena(status="settling")
    alice = client_for("alice")
    assert (
        alice.post(url(arena_id, "messages"), {"text": "wrapping up"}, format="json").status_code
        == 201
    )
    alice.post(url(arena_id, "archive"))
    response = alice.post(url(arena_id, "messages"), {"text": "too late"}, format="json")
    assert_error(response, 409, "arena_archived")


WRITES = [
    ("steps", {"step": 1}),
    ("progress", {"current": "x"}),
    ("artifacts", {"kind": "text", "title": "t", "content": "c"}),
    ("facts", {"content": "f"}),
    ("merge", {"sources": ["alice"], "title": "m"}),
]


STATES = [
    ("created", "arena_not_active"),
    ("settling", "arena_not_active"),
    ("archived", "arena_archived"),
]
REFUSED = [
    (part, body, status, code)
    for part, body in WRITES
    for status, code in STATES
    if not (part == "merge" and status == "settling")
]


@pytest.mark.parametrize(("part", "body", "status", "code"), REFUSED)
def test_slot_writes_follow_the_state_table(make_arena, client_for, part, body, status, code):
    arena_id = make_arena(status=status, total_steps=3)
    response = client_for("alice").post(url(arena_id, part), body, format="json")
    assert_error(response, 409, code)


def test_merging_while_settling_is_allowed(make_arena, client_for):
    arena_id = make_arena(status="active")
    alice = client_for("alice")
    publish(alice, arena_id)
    alice.post(url(arena_id, "settle"))
    response = alice.post(
        url(arena_id, "merge"), {"sources": ["alice"], "title": "m"}, format="json"
    )
    assert response.status_code == 201


@pytest.mark.parametrize(
    ("path", "params", "field"),
    [
        ("artifacts", {"agent": "Not An Id"}, "agent"),
        ("facts", {"tag": ""}, "tag"),
        ("facts", {"q": "x" * 4001}, "q"),
    ],
)
def test_bad_list_filters_are_400(make_arena, client_for, path, params, field):
    arena_id = make_arena(status="active")
    response = client_for("alice").get(url(arena_id, path), params)
    assert field in assert_error(response, 400, "invalid")["fields"]


@pytest.mark.parametrize(("params", "field"), [({"tag": ""}, "tag"), ({"q": "\x00"}, "q")])
def test_bad_memory_filters_are_400(client_for, params, field):
    response = client_for("alice").get("/api/facts/", params)
    assert field in assert_error(response, 400, "invalid")["fields"]
