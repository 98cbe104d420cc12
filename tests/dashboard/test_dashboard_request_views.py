"""Requests for people on the dashboard, through Django's test client: the
header's count, the inbox, the arena page's requests, staff answering through the domain,
who may answer, and escaping."""

from __future__ import annotations

import json

import pytest

from arenas.models import Event, InputRequest

from .conftest import flashes

HOSTILE = '<script>window.__xss = 1</script><img src=x onerror="window.__xss = 2">'
MISSING = "00000000-0000-0000-0000-000000000000"


@pytest.fixture
def asked(make_arena, manager):
    """An active arena where bob (worker) asks a question with choices and a free one, and
    submits review step 2: (arena id, choice request, free request, review request)."""
    arena_id = make_arena(
        status="active",
        goal="Sort the harbour logs",
        plan=[{"title": "Draft"}, {"title": "Check", "review": True}],
        participants=[{"agent_id": "bob", "role": "worker"}],
    )
    bob = manager.handle(arena_id, "bob")
    pick = bob.ask("Which format?", ["csv", "json"])
    free = bob.ask("What should the title say?")
    bob.publish_artifact("text", "Bob's draft", "text", {})
    review = bob.complete_step(2).request
    return arena_id, pick, free, review


def answer_url(arena_id, request_id) -> str:
    return f"/arenas/{arena_id}/requests/{request_id}/answer/"


def test_the_header_counts_the_open_requests_the_user_may_see(
    staff_client, asked, make_arena, manager
):
    other = make_arena(creator="carol", participants=[{"agent_id": "dan", "role": "worker"}])
    manager.handle(other, "dan").ask("Anyone there?")

    for path in ("/", "/requests/", f"/arenas/{asked[0]}/"):
        page = staff_client.get(path)
        assert page.status_code == 200
        assert 'id="requests-count" data-count="4">4</span>' in page.content.decode(), path

    counts = staff_client.get("/requests/counts/").json()
    assert counts == {
        "open": 4,
        "arenas": {str(asked[0]): {"open": 3, "total": 3}, str(other): {"open": 1, "total": 1}},
    }


def test_the_inbox_lists_open_requests_newest_first(staff_client, asked, manager):
    arena_id, pick, free, review = asked
    manager.staff_handle(arena_id, "ada").answer_request(free.id, None, "Harbour logs")

    response = staff_client.get("/requests/")

    listed = [item["request"].id for item in response.context["requests"]]
    assert listed == [review.id, pick.id]
    html = response.content.decode()
    assert f'href="/arenas/{arena_id}/#request-{pick.id}"' in html
    assert "Sort the harbour logs" in html and "Which format?" in html
    assert 'name="choice" value="csv"' in html and 'name="back" value="inbox"' in html
    assert "What should the title say?" not in html


def test_an_owner_sees_only_the_requests_of_arenas_their_agents_take_part_in(
    owner_client, owner, make_agent, make_arena, manager, asked
):
    make_agent("mine", owner=owner)
    mine = make_arena(creator="mine", participants=[{"agent_id": "eve", "role": "worker"}])
    seen = manager.handle(mine, "eve").ask("Mine to see")

    page = owner_client.get("/requests/")

    assert [item["request"].id for item in page.context["requests"]] == [seen.id]
    assert 'data-count="1">1</span>' in page.content.decode()
    assert owner_client.get("/requests/counts/").json()["open"] == 1
    assert owner_client.get(f"/arenas/{asked[0]}/").status_code == 404
    arena_page = owner_client.get(f"/arenas/{mine}/").content.decode()
    assert "Mine to see" in arena_page
    assert "Waiting for staff or a coordinator to answer." in arena_page
    assert "/answer/" not in arena_page


def test_a_user_without_staff_cannot_answer_and_nothing_changes(
    owner_client, owner, make_agent, make_arena, manager, asked
):
    make_agent("mine", owner=owner)
    mine = make_arena(creator="mine", participants=[{"agent_id": "eve", "role": "worker"}])
    seen = manager.handle(mine, "eve").ask("Yes or no?", ["yes", "no"])
    before = Event.objects.count()

    refused = owner_client.post(answer_url(mine, seen.id), {"choice": "yes"})
    unseen = owner_client.post(answer_url(asked[0], asked[1].id), {"choice": "csv"})

    assert (refused.status_code, unseen.status_code) == (403, 404)
    assert InputRequest.objects.filter(status="answered").count() == 0
    assert Event.objects.count() == before


def test_staff_answer_with_a_choice_acting_as_staff(staff_client, asked):
    arena_id, pick, _free, _review = asked

    response = staff_client.post(answer_url(arena_id, pick.id), {"choice": "json", "text": ""})

    assert response.status_code == 302 and response["Location"] == f"/arenas/{arena_id}/"
    assert flashes(response) == ["Answered bob with “json”: the agent sees it on its feed."]
    pick.refresh_from_db()
    assert pick.status == "answered"
    assert (pick.answer["choice"], pick.answer["by"], pick.answer["text"]) == (
        "json",
        "staff:ada",
        "",
    )
    event = Event.objects.filter(arena_id=arena_id).latest("seq")
    assert (event.type, event.actor, event.data["choice"]) == (
        "input_provided",
        "staff:ada",
        "json",
    )
    page = staff_client.get(f"/arenas/{arena_id}/panels/").content.decode()
    assert 'data-status="answered"' in page
    picked = '<strong class="choice choice--picked">json</strong>'
    assert f'<span class="mono event__staff">staff:ada</span>: {picked}' in page


def test_a_free_answer_needs_text(staff_client, asked):
    arena_id, _pick, free, _review = asked

    empty = staff_client.post(answer_url(arena_id, free.id), {"text": "  "})
    assert flashes(empty) == [
        "Not answered: Invalid input: text: This field may not be blank. (invalid)"
    ]
    staff_client.get(f"/arenas/{arena_id}/")  # shows, and so clears, the page message
    chosen = staff_client.post(answer_url(arena_id, free.id), {"choice": "x", "text": "Hi"})
    assert flashes(chosen) == [
        "Not answered: Invalid input: choice: This request takes a free answer: give text "
        "only. (invalid)"
    ]
    free.refresh_from_db()
    assert free.status == "open"
    staff_client.get(f"/arenas/{arena_id}/")
    done = staff_client.post(answer_url(arena_id, free.id), {"text": "Harbour logs, 1890–1910"})
    assert flashes(done) == ["Answered bob with your answer: the agent sees it on its feed."]
    free.refresh_from_db()
    assert free.answer["text"] == "Harbour logs, 1890–1910"


def test_a_choice_request_needs_one_of_its_choices(staff_client, asked):
    arena_id, pick, _free, _review = asked

    response = staff_client.post(answer_url(arena_id, pick.id), {"text": "either"})

    assert flashes(response) == [
        "Not answered: Invalid input: choice: Must be one of: csv, json. (invalid)"
    ]
    pick.refresh_from_db()
    assert pick.status == "open"


def test_answering_a_closed_request_says_so_and_changes_nothing(staff_client, asked, manager):
    arena_id, pick, _free, _review = asked
    manager.staff_handle(arena_id, "root").answer_request(pick.id, "csv")
    before = Event.objects.count()

    response = staff_client.post(answer_url(arena_id, pick.id), {"choice": "json"})

    assert flashes(response) == ["Not answered: The request is already answered. (request_closed)"]
    pick.refresh_from_db()
    assert pick.answer["choice"] == "csv"
    assert Event.objects.count() == before


def test_approving_a_review_completes_the_step_for_its_submitter(staff_client, asked):
    arena_id, _pick, _free, review = asked

    staff_client.post(answer_url(arena_id, review.id), {"choice": "approve", "text": "Good"})

    types = list(
        Event.objects.filter(arena_id=arena_id).order_by("-seq").values_list("type", "actor")[:2]
    )
    assert types == [("step_completed", "staff:ada"), ("input_provided", "staff:ada")]


def test_approving_a_review_needs_an_active_arena(staff_client, asked, manager):
    arena_id, _pick, _free, review = asked
    manager.staff_handle(arena_id, "root").act("settle")

    response = staff_client.post(answer_url(arena_id, review.id), {"choice": "approve"})

    assert flashes(response) == [
        "Not answered: A review is approved only while the arena is active. (arena_not_active)"
    ]
    review.refresh_from_db()
    assert review.status == "open"


def test_a_review_links_to_its_submitters_artifacts_and_slot(staff_client, asked):
    arena_id, _pick, _free, review = asked
    artifact = review.arena.artifacts.get()

    page = staff_client.get(f"/arenas/{arena_id}/").content.decode()

    assert f'href="/arenas/{arena_id}/artifacts/{artifact.id}/">Bob&#x27;s draft</a>' in page
    assert 'href="#participant-bob">its slot</a>' in page
    assert 'id="participant-bob"' in page
    assert 'name="choice" value="approve"' in page and 'name="choice" value="reject"' in page


def test_unknown_requests_and_arenas_are_404_and_a_get_is_405(staff_client, asked, make_arena):
    arena_id, pick, _free, _review = asked
    elsewhere = make_arena()

    assert staff_client.post(answer_url(arena_id, MISSING), {"text": "x"}).status_code == 404
    assert staff_client.post(answer_url(MISSING, pick.id), {"choice": "csv"}).status_code == 404
    assert staff_client.post(answer_url(elsewhere, pick.id), {"choice": "csv"}).status_code == 404
    assert staff_client.post(f"/arenas/{arena_id}/requests/nope/answer/").status_code == 404
    assert staff_client.get(answer_url(arena_id, pick.id)).status_code == 405
    pick.refresh_from_db()
    assert pick.status == "open"


@pytest.mark.parametrize("path", ["/requests/", "/requests/counts/"])
def test_anonymous_visitors_are_sent_to_login(client, db, path):
    response = client.get(path)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/?next=")


def test_anonymous_answers_change_nothing(client, asked):
    arena_id, pick, _free, _review = asked
    response = client.post(answer_url(arena_id, pick.id), {"choice": "csv"})
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    pick.refresh_from_db()
    assert pick.status == "open"


def test_every_field_of_a_request_is_escaped(staff_client, make_arena, make_agent, manager):
    hostile_agent = "x-script.onerror"
    arena_id = make_arena(
        status="active",
        goal=HOSTILE,
        participants=[{"agent_id": hostile_agent, "role": "coordinator"}],
    )
    asker = manager.handle(arena_id, hostile_agent)
    asked = asker.ask(HOSTILE, [HOSTILE, "</textarea><b>x</b>"])
    answered = asker.ask("Free " + HOSTILE)
    manager.staff_handle(arena_id, "ada").answer_request(answered.id, None, HOSTILE)

    for path in ("/requests/", f"/arenas/{arena_id}/", f"/arenas/{arena_id}/panels/"):
        html = staff_client.get(path).content.decode()
        assert "<script>window.__xss" not in html, path
        assert "<img src=x" not in html, path
        assert "</textarea><b>" not in html, path
        assert "&lt;script&gt;window.__xss = 1&lt;/script&gt;" in html, path
    config = json.loads(
        staff_client.get(f"/arenas/{arena_id}/")
        .content.decode()
        .split('<script id="live-config" type="application/json">')[1]
        .split("</script>")[0]
    )
    texts = [e.get("text") for e in config["events"] if e["type"].startswith("input_")]
    assert HOSTILE in texts
    assert asked.id
